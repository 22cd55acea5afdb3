/**
 * `call` against real local servers, one test per outcome: decoded success, proven refusal
 * (`LancashError` from the wire), and every way of `UnclearOutcome` (5xx, timeout, network error,
 * undecodable or foreign answers).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fail, isLancashError, LancashError } from '../errors.js';
import { call, isUnclear, UnclearOutcome } from './client.js';
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

describe('call', () => {
  let app: LancashServer;
  let base: string;
  let foreign: Server;
  let foreignBase: string;
  let releaseSlow: () => void = () => {};
  const slow = new Promise<void>((resolve) => {
    releaseSlow = resolve;
  });

  beforeAll(async () => {
    app = await createServer({ name: 'peer', logger: false, rateLimit: false });
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

    // A server that is not lancash: a proxy's pages, a 2xx that is not JSON.
    foreign = createHttpServer((req, res) => {
      if (req.url === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>ok</html>');
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
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

  it('decodes a 2xx body with the schema', async () => {
    const thing = await call({ base, method: 'GET', path: '/thing', schema: Thing });
    expect(thing.n).toBe(7);
  });

  it('sends the body as JSON and the idempotency key as a header', async () => {
    const r = await call<{ body: unknown; key: string | null }>({
      base: `${base}/`,
      method: 'POST',
      path: '/echo',
      body: { a: [1, 'x'] },
      idempotencyKey: 'transfer-42',
    });
    expect(r).toEqual({ body: { a: [1, 'x'] }, key: 'transfer-42' });
  });

  it('throws the peer’s LancashError for a 4xx wire error: a proven refusal', async () => {
    const e = await rejection(call({ base, method: 'POST', path: '/refuse', body: {} }));
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
    const e = await rejection(call({ base, method: 'GET', path: '/wrong-shape', schema: Thing }));
    expect(e).toBeInstanceOf(UnclearOutcome);
    expect(e).toMatchObject({ reason: 'body', status: 200 });
    expect((e as UnclearOutcome).cause).toBeInstanceOf(LancashError);
  });

  it('treats a 2xx that is not JSON as unclear', async () => {
    const e = await rejection(call({ base: foreignBase, method: 'GET', path: '/html' }));
    expect(e).toMatchObject({ name: 'UnclearOutcome', reason: 'body', status: 200 });
  });

  it('returns undefined for an empty 2xx without a schema, and is unclear with one', async () => {
    await expect(call({ base: foreignBase, method: 'GET', path: '/empty' })).resolves.toBeUndefined();
    const e = await rejection(call({ base: foreignBase, method: 'GET', path: '/empty', schema: Thing }));
    expect(isUnclear(e)).toBe(true);
  });

  it('treats a 4xx that is not a wire error (a proxy’s page) as unclear', async () => {
    const e = await rejection(call({ base: foreignBase, method: 'POST', path: '/v1/swap', body: {} }));
    expect(e).toMatchObject({ reason: 'status', status: 404 });
  });

  it.each([
    ['/boom', 500, 'Internal'],
    ['/busy', 503, 'StorageUnavailable'],
  ])('treats %s (%i) as unclear, keeping the peer’s error as cause', async (path, status, kind) => {
    const e = await rejection(call({ base, method: 'GET', path }));
    expect(isUnclear(e)).toBe(true);
    expect(e).toMatchObject({ reason: 'status', status });
    expect(isLancashError((e as UnclearOutcome).cause, kind as 'Internal')).toBe(true);
  });

  it('treats a timeout as unclear', async () => {
    const e = await rejection(call({ base, method: 'GET', path: '/slow', timeoutMs: 200 }));
    expect(e).toMatchObject({ name: 'UnclearOutcome', reason: 'timeout' });
    expect((e as Error).message).toContain('retry with the same idempotency key');
  });

  it('treats a refused connection as unclear', async () => {
    const closed = createHttpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const e = await rejection(call({ base: `http://127.0.0.1:${port}`, method: 'GET', path: '/thing' }));
    expect(e).toMatchObject({ reason: 'network' });
    expect((e as UnclearOutcome).cause).toBeDefined();
  });

  it('recognises an unclear outcome by its brand, not only by instanceof', () => {
    expect(isUnclear({ unclear: true })).toBe(true);
    expect(isUnclear(new LancashError('Internal', { reason: 'x' }))).toBe(false);
    expect(isUnclear(undefined)).toBe(false);
  });
});
