/**
 * `call` against real local servers, one test per outcome: decoded success, proven refusal
 * (`LancashError` from the wire), and every way of `UnclearOutcome` (5xx, timeout, network error,
 * undecodable, foreign or oversized answers). Every one runs over both transports, the portable
 * `fetch` and Node's undici, so they cannot drift apart; keep-alive and redirects are checked too.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { Type } from '@sinclair/typebox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fail, isLancashError, LancashError } from '../errors.js';
import { freePort } from '../free-port.js';
import {
  call,
  fetchTransport,
  type HttpTransport,
  isUnclear,
  MAX_RESPONSE_BYTES,
  setHttpTransport,
  UnclearOutcome,
} from './client.js';
import { undiciTransport } from './node-transport.js';
import { createServer, type LancashServer, listen } from './server.js';

const Thing = Type.Object({ n: Type.Integer() });

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail, it succeeded');
}

let app: LancashServer;
let base: string;
let foreign: Server;
let foreignBase: string;
/** Connections the lancash server accepted so far. */
let connections = 0;
let releaseSlow: () => void = () => {};
const slow = new Promise<void>((resolve) => {
  releaseSlow = resolve;
});

beforeAll(async () => {
  app = await createServer({ name: 'peer', logger: false, rateLimit: false });
  app.server.on('connection', () => connections++);
  app.get('/thing', async () => ({ n: 7 }));
  app.get('/wrong-shape', async () => ({ n: 'seven' }));
  app.post('/echo', async (req) => ({ body: req.body, key: req.headers['idempotency-key'] ?? null }));
  app.post('/refuse', async () => fail('ProofsAlreadySpent', { Ys: ['02ab'] }, '1 input(s) already spent'));
  app.get('/busy', async () => fail('StorageUnavailable', { reason: 'db down' }, 'storage unavailable'));
  app.get('/boom', async () => {
    throw new Error('bug');
  });
  app.get('/slow', async () => {
    await slow;
    return { n: 1 };
  });
  base = await listen(app, '127.0.0.1:0');

  // A server that is not lancash: a proxy's pages, a 2xx that is not JSON, redirects, huge answers.
  foreign = createHttpServer((req, res) => {
    if (req.url === '/html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>ok</html>');
    } else if (req.url?.startsWith('/path/')) {
      // The path as it reached the server, to compare transports with `new URL`'s reading of it.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
    } else if (req.url === '/empty') {
      res.writeHead(204).end();
    } else if (req.url === '/moved') {
      res.writeHead(302, { location: '/html' }).end();
    } else if (req.url === '/huge') {
      // One byte over the cap, in 1 MiB writes, as JSON so only the size can be wrong.
      res.writeHead(200, { 'content-type': 'application/json' });
      const mib = 'x'.repeat(1024 * 1024);
      res.write(`"${mib.slice(1)}`);
      for (let i = 1; i < MAX_RESPONSE_BYTES / mib.length; i++) res.write(mib);
      res.end('x"');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  foreignBase = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
});
afterAll(async () => {
  releaseSlow();
  await app.close();
  await new Promise((resolve) => foreign.close(resolve));
});

describe.each([
  ['fetch', fetchTransport],
  ['undici', undiciTransport],
])('call over %s', (_name, transport) => {
  const get = (b: string, path: string) => call({ base: b, method: 'GET', path, transport });

  it('decodes a 2xx body with the schema', async () => {
    const thing = await call({ base, method: 'GET', path: '/thing', schema: Thing, transport });
    expect(thing.n).toBe(7);
  });

  it('sends the body as JSON and the idempotency key as a header', async () => {
    const r = await call<{ body: unknown; key: string | null }>({
      base: `${base}/`,
      method: 'POST',
      path: '/echo',
      body: { a: [1, 'x'] },
      idempotencyKey: 'transfer-42',
      transport,
    });
    expect(r).toEqual({ body: { a: [1, 'x'] }, key: 'transfer-42' });
  });

  it.each([
    ['/path/plain?q=1', '/path/plain?q=1'],
    ['/path/a/../dots/./x', '/path/dots/x'],
    ['/path/sp ace"q"', '/path/sp%20ace%22q%22'],
    ['/path/é', '/path/%C3%A9'],
  ])('sends the path %s as new URL reads it', async (path, sent) => {
    const r = await call<{ path: string }>({ base: `${foreignBase}//`, method: 'GET', path, transport });
    expect(r.path).toBe(sent);
  });

  it('reads an authority ended by a backslash as new URL does, every time (not only the first)', async () => {
    // WHATWG URL: in an http URL a backslash ends the host like a slash, so `\\path` is the path.
    for (let i = 0; i < 2; i++) {
      const r = await call<{ path: string }>({
        base: `${foreignBase}\\path`,
        method: 'GET',
        path: '/p',
        transport,
      });
      expect(r.path).toBe('/path/p');
    }
  });

  it('keeps the connection alive between calls', async () => {
    await get(base, '/thing');
    const before = connections;
    for (let i = 0; i < 3; i++) await get(base, '/thing');
    expect(connections).toBe(before);
  });

  it('throws the peer’s LancashError for a 4xx wire error: a proven refusal', async () => {
    const e = await rejection(call({ base, method: 'POST', path: '/refuse', body: {}, transport }));
    expect(isUnclear(e)).toBe(false);
    expect(isLancashError(e, 'ProofsAlreadySpent')).toBe(true);
    expect(e).toMatchObject({
      code: 11001,
      status: 400,
      info: { Ys: ['02ab'] },
      message: '1 input(s) already spent',
    });
  });

  it('treats a 2xx body that does not match the schema as unclear', async () => {
    const e = await rejection(call({ base, method: 'GET', path: '/wrong-shape', schema: Thing, transport }));
    expect(e).toBeInstanceOf(UnclearOutcome);
    expect(e).toMatchObject({ reason: 'body', status: 200 });
    expect((e as UnclearOutcome).cause).toBeInstanceOf(LancashError);
  });

  it('treats a 2xx that is not JSON as unclear', async () => {
    const e = await rejection(get(foreignBase, '/html'));
    expect(e).toMatchObject({ name: 'UnclearOutcome', reason: 'body', status: 200 });
  });

  it('returns undefined for an empty 2xx without a schema, and is unclear with one', async () => {
    await expect(get(foreignBase, '/empty')).resolves.toBeUndefined();
    const e = await rejection(
      call({ base: foreignBase, method: 'GET', path: '/empty', schema: Thing, transport }),
    );
    expect(isUnclear(e)).toBe(true);
  });

  it('treats a 4xx that is not a wire error (a proxy’s page) as unclear', async () => {
    const e = await rejection(
      call({ base: foreignBase, method: 'POST', path: '/v1/swap', body: {}, transport }),
    );
    expect(e).toMatchObject({ reason: 'status', status: 404 });
  });

  it('does not follow a redirect: the request may have been done where it was sent', async () => {
    const e = await rejection(get(foreignBase, '/moved'));
    expect(e).toMatchObject({ reason: 'status', status: 302 });
  });

  it('stops reading an answer over the cap (unclear), and the next call still works', async () => {
    const e = await rejection(get(foreignBase, '/huge'));
    expect(e).toMatchObject({ reason: 'body' });
    expect((e as Error).message).toContain(`larger than ${MAX_RESPONSE_BYTES} bytes`);
    await expect(get(foreignBase, '/empty')).resolves.toBeUndefined();
  });

  it.each([
    ['/boom', 500, 'Internal'],
    ['/busy', 503, 'StorageUnavailable'],
  ])('treats %s (%i) as unclear, keeping the peer’s error as cause', async (path, status, kind) => {
    const e = await rejection(get(base, path));
    expect(isUnclear(e)).toBe(true);
    expect(e).toMatchObject({ reason: 'status', status });
    expect(isLancashError((e as UnclearOutcome).cause, kind as 'Internal')).toBe(true);
  });

  it('treats a timeout as unclear', async () => {
    const e = await rejection(call({ base, method: 'GET', path: '/slow', timeoutMs: 200, transport }));
    expect(e).toMatchObject({ name: 'UnclearOutcome', reason: 'timeout' });
    expect((e as Error).message).toContain('retry with the same idempotency key');
  });

  it('treats a refused connection as unclear, and knows the request was not sent', async () => {
    // Below the kernel's ephemeral range: nothing else is handed this port before we connect.
    const port = await freePort();
    const e = await rejection(get(`http://127.0.0.1:${port}`, '/thing'));
    expect(isUnclear(e)).toBe(true);
    expect(e).toMatchObject({ reason: 'network', notSent: true });
    expect((e as Error).message).toContain('the request was not sent');
    expect((e as UnclearOutcome).cause).toBeDefined();
  });

  it('does not call a connection cut after it was made "not sent": the peer may have read the request', async () => {
    const cutter = createNetServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => cutter.listen(0, '127.0.0.1', resolve));
    const port = (cutter.address() as AddressInfo).port;
    try {
      const e = await rejection(get(`http://127.0.0.1:${port}`, '/thing'));
      expect(e).toMatchObject({ reason: 'network', notSent: false });
      expect((e as Error).message).toContain('outcome unknown');
    } finally {
      await new Promise((resolve) => cutter.close(resolve));
    }
  });
});

describe('call with a transport of its own', () => {
  /** A transport that answers `status` with `chunks`, and records what it was asked. */
  function scripted(status: number, chunks: Uint8Array[]) {
    const asked: string[] = [];
    const transport: HttpTransport = async (r) => {
      asked.push(`${r.method} ${r.url} ${r.body ?? ''}`);
      return {
        status,
        body: (async function* () {
          yield* chunks;
        })(),
      };
    };
    return { transport, asked };
  }

  afterEach(() => setHttpTransport(fetchTransport));

  it('decodes UTF-8 split inside a character across chunks', async () => {
    const bytes = new TextEncoder().encode('{"n":"é€"}');
    const { transport } = scripted(200, [bytes.subarray(0, 7), bytes.subarray(7, 9), bytes.subarray(9)]);
    await expect(call({ base: 'http://peer', method: 'GET', path: '/x', transport })).resolves.toEqual({
      n: 'é€',
    });
  });

  it('treats a browser’s opaque redirect (status 0) as unclear', async () => {
    const { transport } = scripted(0, []);
    const e = await rejection(call({ base: 'http://peer', method: 'POST', path: '/x', body: {}, transport }));
    expect(e).toMatchObject({ reason: 'status', status: 0 });
  });

  it('uses the process’s transport when the call names none', async () => {
    const { transport, asked } = scripted(200, [new TextEncoder().encode('{"n":1}')]);
    setHttpTransport(transport);
    await call({ base: 'http://peer/', method: 'POST', path: '/x', body: { a: 1 } });
    expect(asked).toEqual(['POST http://peer/x {"a":1}']);
  });

  it('recognises an unclear outcome by its brand, not only by instanceof', () => {
    expect(isUnclear({ unclear: true })).toBe(true);
    expect(isUnclear(new LancashError('Internal', { reason: 'x' }))).toBe(false);
    expect(isUnclear(undefined)).toBe(false);
  });
});
