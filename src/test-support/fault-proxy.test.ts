/**
 * The fault proxy does what each rule says, seen from both ends: a tiny upstream counts the requests
 * it served (its work "committed"), and the client is the project's own `call`, so each fault shows
 * up as the outcome the gateway will have to handle.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { call, isUnclear, type UnclearOutcome } from '../core/http/client.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

/** An upstream that counts what it served and echoes the request back with the count. */
async function startCounter(): Promise<{ url: string; served: () => number; close: () => Promise<void> }> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      served += 1;
      const body = JSON.stringify({
        n: served,
        method: req.method,
        url: req.url,
        body: Buffer.concat(chunks).toString('utf8'),
        header: req.headers['x-test'] ?? null,
      });
      res.writeHead(req.url === '/refuse-me' ? 400 : 200, { 'content-type': 'application/json' });
      res.end(
        req.url === '/refuse-me'
          ? JSON.stringify({ code: 72002, detail: 'no', error: 'NotFound', info: { what: 'x', id: 'y' } })
          : body,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served: () => served,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The outcome `call` reports: the body on success, else the unclear reason or the refusal's name. */
async function outcome(proxy: FaultProxy, path: string, timeoutMs = 10_000): Promise<unknown> {
  try {
    return await call({ base: proxy.url, method: 'POST', path, body: { hello: 'world' }, timeoutMs });
  } catch (e) {
    if (isUnclear(e)) return `unclear:${(e as UnclearOutcome).reason}`;
    if (isLancashError(e)) return `refused:${e.kind}`;
    throw e;
  }
}

describe('fault proxy', () => {
  let upstream: Awaited<ReturnType<typeof startCounter>>;
  let proxy: FaultProxy;

  beforeEach(async () => {
    upstream = await startCounter();
    proxy = await startFaultProxy(upstream.url);
  });
  afterEach(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('passes requests through untouched when no rule matches: method, path, query, body, headers, status', async () => {
    const answer = await call<{ n: number; method: string; url: string; body: string; header: string }>({
      base: proxy.url,
      method: 'POST',
      path: '/v1/x?y=1',
      body: { a: 1 },
      headers: { 'x-test': 'kept' },
    });
    expect(answer).toEqual({ n: 1, method: 'POST', url: '/v1/x?y=1', body: '{"a":1}', header: 'kept' });
    // A proven refusal stays a proven refusal through the proxy.
    expect(await outcome(proxy, '/refuse-me')).toBe('refused:NotFound');
    expect(proxy.stats()).toMatchObject({ received: 2, forwarded: 2, answered: 2 });
  });

  it('refuse: the client sees a network error and the upstream never sees the request', async () => {
    proxy.plan([{ path: '/v1/issue', fault: 'refuse' }]);
    expect(await outcome(proxy, '/v1/issue')).toBe('unclear:network');
    expect(upstream.served()).toBe(0);
    expect(proxy.stats()).toMatchObject({ received: 1, forwarded: 0, answered: 0 });
    expect(proxy.stats().faults.refuse).toBe(1);
  });

  it('drop: the upstream served the request (committed) but the client sees a network error', async () => {
    proxy.plan([{ path: '/v1/issue', fault: 'drop' }]);
    expect(await outcome(proxy, '/v1/issue')).toBe('unclear:network');
    expect(upstream.served()).toBe(1);
    expect(proxy.stats()).toMatchObject({ forwarded: 1, answered: 1 });
    expect(proxy.stats().faults.drop).toBe(1);
  });

  it('502: the upstream served the request but the client sees a foreign 502, an unclear outcome', async () => {
    proxy.plan([{ path: '/v1/issue', fault: '502' }]);
    let err: unknown;
    try {
      await call({ base: proxy.url, method: 'POST', path: '/v1/issue', body: {} });
    } catch (e) {
      err = e;
    }
    expect(isUnclear(err)).toBe(true);
    expect((err as UnclearOutcome).reason).toBe('status');
    expect((err as UnclearOutcome).status).toBe(502);
    expect(upstream.served()).toBe(1);
  });

  it('delay beyond the client timeout: the upstream served the request, the client timed out', async () => {
    proxy.plan([{ path: '/v1/issue', fault: 'delay', ms: 60_000 }]);
    expect(await outcome(proxy, '/v1/issue', 300)).toBe('unclear:timeout');
    expect(upstream.served()).toBe(1);
    expect(proxy.stats().answered).toBe(1);
    // The held answer is dropped by close (afterEach) without waiting a minute.
  });

  it('delay within the client timeout: the answer arrives, late but whole', async () => {
    proxy.plan([{ path: '/v1/issue', fault: 'delay', ms: 50 }]);
    expect(await outcome(proxy, '/v1/issue')).toMatchObject({ n: 1, url: '/v1/issue' });
    expect(proxy.stats().faults.delay).toBe(1);
  });

  it('hurts exactly the next N matching requests, then passes; other paths and methods are untouched', async () => {
    proxy.plan([{ path: '/v1/issue', method: 'post', fault: 'drop', times: 3 }]);
    expect(await outcome(proxy, '/v1/other')).toMatchObject({ n: 1 });
    const seen: unknown[] = [];
    for (let i = 0; i < 4; i++) seen.push(await outcome(proxy, '/v1/issue'));
    expect(seen.slice(0, 3)).toEqual(['unclear:network', 'unclear:network', 'unclear:network']);
    expect(seen[3]).toMatchObject({ n: 5 });
    // Every one of the 5 reached the upstream: 3 committed with no answer seen.
    expect(upstream.served()).toBe(5);
    const get = await call<{ n: number }>({ base: proxy.url, method: 'GET', path: '/v1/issue' });
    expect(get.n).toBe(6);
  });

  it('rules apply in order; pass lets requests through before a fault; glob and RegExp patterns match', async () => {
    proxy.plan([
      { path: '/v1/receive/*', fault: 'pass', times: 1 },
      { path: /^\/v1\/receive\/\d+$/g, fault: 'refuse', times: Number.POSITIVE_INFINITY },
    ]);
    expect(await outcome(proxy, '/v1/receive/1')).toMatchObject({ n: 1 });
    expect(await outcome(proxy, '/v1/receive/2')).toBe('unclear:network');
    expect(await outcome(proxy, '/v1/receive/3')).toBe('unclear:network');
    expect(await outcome(proxy, '/v1/receive/x')).toMatchObject({ n: 2 });
    expect(proxy.stats().faults).toEqual({ refuse: 2, drop: 0, delay: 0, '502': 0, pass: 1 });
  });

  it('plan replaces the previous rules', async () => {
    proxy.plan([{ path: '*', fault: 'refuse', times: Number.POSITIVE_INFINITY }]);
    expect(await outcome(proxy, '/a')).toBe('unclear:network');
    proxy.plan([]);
    expect(await outcome(proxy, '/a')).toMatchObject({ n: 1 });
  });

  it('an upstream that is down reads as a foreign 502 (unclear), as from a real load balancer', async () => {
    await upstream.close();
    expect(await outcome(proxy, '/v1/issue')).toBe('unclear:status');
    upstream = await startCounter(); // for afterEach
  });

  it('refuses a delay rule without a delay', () => {
    expect(() => proxy.plan([{ path: '/x', fault: 'delay' }])).toThrow(/delay in ms/);
  });
});
