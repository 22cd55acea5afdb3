/**
 * The server base over real HTTP: every error branch of the wire form, hostile bodies answered with
 * 4xx (never 500), health, metrics, the OpenAPI document, logs without bodies, rate limiting and
 * the idle-socket timeout.
 */
import { connect } from 'node:net';
import { Type } from '@sinclair/typebox';
import fc from 'fast-check';
import { pino } from 'pino';
import { Gauge } from 'prom-client';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fail } from '../errors.js';
import {
  createServer,
  type LancashServer,
  listen,
  OUTAGE_RETRY_AFTER_SECONDS,
  parseHostPort,
  type ServerOptions,
} from './server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: { code?: number; detail?: string; error?: string; info?: Record<string, unknown> } & Record<
    string,
    unknown
  >;
}

async function send(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: string | Buffer,
  contentType = 'application/json',
): Promise<Answer> {
  const res = await request(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body ?? null,
  });
  const text = await res.body.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.statusCode, headers: res.headers, text, json };
}

const Echo = Type.Object({ n: Type.Integer({ minimum: 0, maximum: 10 }), s: Type.Optional(Type.String()) });

/** A server with a few test routes, logging into `lines`. */
async function testServer(lines: string[], extra: Partial<ServerOptions>): Promise<LancashServer> {
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
  const app = await createServer({ name: 'test', logger, rateLimit: false, ...extra });
  app.post('/echo', { schema: { body: Echo, response: { 200: Echo } } }, async (req) => req.body);
  app.get('/refuse', async () => fail('KeysetUnknown', { id: '00ab' }, 'keyset 00ab is not known'));
  app.get('/item/:id', async (req) => ({ id: (req.params as { id: string }).id }));
  app.get('/outage', async () => fail('StorageUnavailable', { reason: 'the pool is busy' }));
  app.get('/boom', async () => {
    throw new Error('db password is hunter2');
  });
  return app;
}

describe('createServer', () => {
  const lines: string[] = [];
  let app: LancashServer;
  let base: string;

  beforeAll(async () => {
    app = await testServer(lines, {});
    base = await listen(app, '127.0.0.1:0');
  });
  afterAll(async () => {
    await app.close();
  });

  it('binds a free port and answers /healthz', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await send(base, 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ok' });
  });

  it('passes a valid body to the handler', async () => {
    const r = await send(base, 'POST', '/echo', JSON.stringify({ n: 3, s: 'x' }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ n: 3, s: 'x' });
  });

  it('sends a LancashError with its status and wire form', async () => {
    const r = await send(base, 'GET', '/refuse');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      code: 12001,
      detail: 'keyset 00ab is not known',
      error: 'KeysetUnknown',
      info: { id: '00ab' },
    });
  });

  it('refuses a body that fails the schema with 400 InvalidInput naming the path', async () => {
    const r = await send(base, 'POST', '/echo', JSON.stringify({ n: 11 }));
    expect(r.status).toBe(400);
    expect(r.json.code).toBe(70000);
    expect(r.json.info?.argument).toBe('body.n');
    expect(r.json.detail).toContain('body.n');
    // No coercion: the string "3" is not the number 3.
    expect((await send(base, 'POST', '/echo', JSON.stringify({ n: '3' }))).json.info?.argument).toBe(
      'body.n',
    );
  });

  it.each([
    ['malformed JSON', '{"n":', 'application/json', 'malformed JSON'],
    ['an empty body', '', 'application/json', 'an empty body'],
    ['another media type', 'n=3', 'text/plain', 'another media type'],
    ['a form', 'n=3', 'application/x-www-form-urlencoded', 'another media type'],
  ])('refuses %s with 400 InvalidInput', async (_what, body, type, received) => {
    const r = await send(base, 'POST', '/echo', body, type);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe(70000);
    expect(r.json.info?.received).toBe(received);
  });

  it('refuses a body over the limit with 413 PayloadTooLarge', async () => {
    const big = JSON.stringify({ n: 1, s: 'x'.repeat(8 * 1024 * 1024) });
    const r = await send(base, 'POST', '/echo', big);
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ code: 72004, error: 'PayloadTooLarge', info: { limit: 1024 * 1024 } });
  });

  it('refuses hostile bodies with 4xx and a code, never 500', async () => {
    const hostile: [string, string | Buffer][] = [
      ['100 000 nested arrays', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
      ['100 000 nested objects', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`],
      [
        'invalid UTF-8',
        Buffer.from([
          0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x31, 0x2c, 0x22, 0x73, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d,
        ]),
      ],
      ['a __proto__ key', '{"n":1,"__proto__":{"admin":true}}'],
      ['an escaped __proto__ key', '{"n":1,"\\u005f_proto__":{"admin":true}}'],
      ['constructor.prototype', '{"n":1,"constructor":{"prototype":{"admin":true}}}'],
      ['1e400', '{"n":1e400}'],
      ['-0.5', '{"n":-0.5}'],
      ['a top-level null', 'null'],
      ['a huge integer', '{"n":123456789012345678901234567890}'],
    ];
    for (const [what, body] of hostile) {
      const r = await send(base, 'POST', '/echo', body);
      expect(r.status, what).toBe(400);
      expect(r.json.code, what).toBe(70000);
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('parses plain JSON as the poisoning-safe parser does (a BOM, keys spaced before their colon)', async () => {
    const ok = await send(base, 'POST', '/echo', `\ufeff${JSON.stringify({ n: 2 })}`);
    expect(ok.status).toBe(200);
    for (const body of ['{"n":1, "__proto__" : {"admin":true}}', '{"n":1,"constructor" :{"prototype":{}}}']) {
      const r = await send(base, 'POST', '/echo', body);
      expect(r.status, body).toBe(400);
      expect(r.json.code, body).toBe(70000);
    }
    // The words as values, not keys, are plain data.
    const values = await send(base, 'POST', '/echo', '{"n":3,"s":"__proto__ constructor"}');
    expect(values.status).toBe(200);
  });

  it('never answers 500 to arbitrary bytes or JSON (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json().map((s) => Buffer.from(s)),
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.record({ n: fc.anything() }).map((v) => Buffer.from(JSON.stringify(v) ?? 'x')),
        ),
        async (body) => {
          const r = await send(base, 'POST', '/echo', body);
          expect(
            r.status === 200 || (r.status >= 400 && r.status < 500 && typeof r.json.code === 'number'),
          ).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses NUL (%00) in a path parameter or a query with 400 InvalidString, before the handler', async () => {
    expect((await send(base, 'GET', '/item/a%01b')).json).toEqual({ id: 'a\u0001b' });
    for (const path of ['/item/a%00b', '/item/ab?q=%00', '/nope/%00']) {
      const r = await send(base, 'GET', path);
      expect([path, r.status]).toEqual([path, 400]);
      expect(r.json).toMatchObject({ code: 70011, error: 'InvalidString', info: { argument: 'url' } });
    }
  });

  it('answers an unknown route with 404 NotFound', async () => {
    const r = await send(base, 'GET', '/nope?x=1');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({
      code: 72002,
      error: 'NotFound',
      info: { what: 'route', id: 'GET "/nope"' },
    });
  });

  it('answers a failure of ours with 500 Internal, logs the stack, leaks nothing', async () => {
    const r = await send(base, 'GET', '/boom');
    expect(r.status).toBe(500);
    expect(r.json).toMatchObject({ code: 79999, error: 'Internal' });
    expect(r.text).not.toContain('hunter2');
    const logged = lines.find((l) => l.includes('request failed'));
    expect(logged).toContain('hunter2');
    expect(JSON.parse(logged!).err.stack).toContain('server.test.ts');
  });

  it('answers an outage 503 with Retry-After, and a refusal or a failure of ours without it', async () => {
    const r = await send(base, 'GET', '/outage');
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ code: 79001, error: 'StorageUnavailable' });
    expect(r.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
    for (const path of ['/refuse', '/boom'])
      expect((await send(base, 'GET', path)).headers['retry-after']).toBeUndefined();
  });

  it('logs one line per request without bodies', async () => {
    const secret = 'f3c1a9e0b2d4c6e8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6';
    await send(base, 'POST', '/echo', JSON.stringify({ n: 1, s: secret }));
    await send(base, 'POST', '/echo', JSON.stringify({ n: 99, s: secret }));
    expect(lines.join('\n')).not.toContain(secret);
    const request = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.route === '/echo');
    expect(request).toMatchObject({ level: 30, method: 'POST', route: '/echo', status: 200 });
  });

  it('serves Prometheus metrics by route and status, and lets roles add their own', async () => {
    await send(base, 'GET', '/healthz');
    await send(base, 'GET', '/nope/123');
    new Gauge({ name: 'lancash_test_gauge', help: 'a role gauge', registers: [app.metrics] }).set(7);
    const r = await send(base, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(r.text).toMatch(
      /http_requests_total\{server="test",method="GET",route="\/healthz",status="200"\} \d+/,
    );
    expect(r.text).toContain('route="unmatched",status="404"');
    // Each answer counted once, under its own labels.
    const count = (text: string) =>
      Number(
        /http_requests_total\{server="test",method="GET",route="\/healthz",status="200"\} (\d+)/.exec(
          text,
        )?.[1],
      );
    await send(base, 'GET', '/healthz');
    await send(base, 'GET', '/healthz');
    expect(count((await send(base, 'GET', '/metrics')).text)).toBe(count(r.text) + 2);
    expect(r.text).not.toContain('/nope/123');
    expect(r.text).toContain('http_request_duration_seconds_bucket');
    expect(r.text).toContain('process_cpu_user_seconds_total');
    expect(r.text).toContain('lancash_test_gauge{server="test"} 7');
  });

  it('serves an OpenAPI document built from the route schemas', async () => {
    const r = await send(base, 'GET', '/docs/json');
    expect(r.status).toBe(200);
    const doc = r.json as {
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('test');
    expect(doc.paths['/echo']?.post).toMatchObject({
      requestBody: {
        content: { 'application/json': { schema: { properties: { n: { type: 'integer', maximum: 10 } } } } },
      },
    });
    expect(doc.paths['/healthz']).toBeDefined();
    expect(doc.paths['/metrics']).toBeUndefined();
    expect(Object.keys(doc.paths).some((k) => k.includes('*'))).toBe(false);
  });

  it('lets a web page read answers (CORS), but never send an Authorization header', async () => {
    const origin = 'https://wallet.example';
    const pre = await request(`${base}/echo`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, idempotency-key',
      },
    });
    await pre.body.text();
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    const allowed = String(pre.headers['access-control-allow-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    expect(allowed).toEqual(['content-type', 'idempotency-key']);
    expect(allowed).not.toContain('authorization');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();

    const res = await request(`${base}/echo`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: '{"n":3}',
    });
    expect(await res.body.json()).toEqual({ n: 3 });
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('limits', () => {
  it('answers 429 RateLimited past the limit, but never limits /healthz', async () => {
    const app = await testServer([], { rateLimit: { max: 2, timeWindowMs: 60_000 }, logger: false });
    const base = await listen(app, '127.0.0.1:0');
    try {
      expect((await send(base, 'GET', '/refuse')).status).toBe(400);
      expect((await send(base, 'GET', '/refuse')).status).toBe(400);
      const r = await send(base, 'GET', '/refuse');
      expect(r.status).toBe(429);
      expect(r.json).toMatchObject({ code: 72003, error: 'RateLimited' });
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) expect((await send(base, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('closes a socket that stalls mid-request (slowloris)', async () => {
    const app = await testServer([], { requestTimeoutMs: 300, logger: false });
    const base = await listen(app, '127.0.0.1:0');
    try {
      const { port } = new URL(base);
      const closed = await new Promise<boolean>((resolve) => {
        const s = connect(Number(port), '127.0.0.1', () => {
          s.write(
            'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"n"',
          );
        });
        s.on('close', () => resolve(true));
        s.on('error', () => {});
      });
      expect(closed).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('honours a route body limit below the server one', async () => {
    const app = await createServer({ name: 'small', logger: false, rateLimit: false });
    app.post('/small', { bodyLimit: 64, schema: { body: Echo } }, async () => ({}));
    const base = await listen(app, '127.0.0.1:0');
    try {
      const r = await send(base, 'POST', '/small', JSON.stringify({ n: 1, s: 'y'.repeat(100) }));
      expect(r.status).toBe(413);
      expect(r.json.info).toEqual({ limit: 64 });
    } finally {
      await app.close();
    }
  });

  it('refuses a route schema that is not TypeBox', async () => {
    const app = await createServer({ name: 'bad', logger: false, rateLimit: false });
    app.post('/plain', { schema: { body: { type: 'object' } as never } }, async () => ({}));
    await expect(app.ready()).rejects.toThrow(/POST \/plain: the body schema is not a TypeBox schema/);
    await app.close();
  });
});

describe('parseHostPort', () => {
  it('reads host and port, IPv6 in brackets', () => {
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHostPort('localhost:3338')).toEqual({ host: 'localhost', port: 3338 });
  });

  it.each(['', '127.0.0.1', ':80', '127.0.0.1:65536', '127.0.0.1:-1', 'a b:1', '::1:80'])(
    'refuses %j',
    (s) => {
      expect(() => parseHostPort(s)).toThrowError(expect.objectContaining({ code: 70000 }));
    },
  );
});
