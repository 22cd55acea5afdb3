/**
 * The one way every lancash HTTP server is built (wide bank, gateway LAN and WAN listeners): Fastify
 * with TypeBox schemas validated by `decode` (the same checks as everywhere else), one error
 * handler that turns every failure into the `{code, detail, error, info}` wire form, health,
 * Prometheus metrics, an OpenAPI document, pino logs without bodies, CORS for browser wallets, and
 * graceful draining.
 *
 * Routes are added by the roles after `createServer`; see `docs/http.md`.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type AddressInfo, isIP, type Socket } from 'node:net';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type TSchema, Type, TypeGuard } from '@sinclair/typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { type Logger, pino } from 'pino';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { describe, type ErrorName, fail, isLancashError, LancashError } from '../errors.js';
import { exposition } from '../metrics.js';
import { decode } from '../protocol/cashu.js';
import { checkWellFormed } from '../unicode.js';

/** A lancash server: Fastify typed with the TypeBox provider, so handlers see decoded bodies. */
export type LancashServer = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    /** This server's Prometheus registry; roles add their gauges and counters here. */
    metrics: Registry;
  }
}

export interface ServerOptions {
  /** Shown in logs, metrics (`server` label) and the OpenAPI title by default. */
  name: string;
  /** Largest request body in bytes; default 1 MiB. Routes may set their own `bodyLimit`. */
  bodyLimit?: number;
  /** Per client address; default 1000 requests a second. `false` turns it off (benchmarks). */
  rateLimit?: { max: number; timeWindowMs: number } | false;
  /** Longest a client may take to send a request, and longest a socket may sit idle; default 30 s. */
  requestTimeoutMs?: number;
  /** Default: pino JSON lines on stderr (stdout carries only the `listening on URL` lines). */
  logger?: Logger | false;
  openapi?: { title: string; version: string };
  /**
   * Serve `GET /metrics` and `GET /docs/json` here; default true. Listeners that face strangers keep
   * operational data off (the gateway's WAN listener; the wide bank with `--metrics-listen`).
   */
  operational?: boolean;
  /**
   * Count this server's requests in another server's registry (labelled `server=<name>`), so one
   * `/metrics` shows both listeners of a process; default a registry of its own.
   */
  metrics?: Registry;
  /**
   * Proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks, `parseTrustedProxies`):
   * the client address, which the rate limit and per-client quotas key on, is then the first one
   * not trusted from the right. Default none: the connection's address, whatever headers say.
   */
  trustProxy?: readonly string[];
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_RATE_LIMIT = { max: 1000, timeWindowMs: 1000 };
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Below the socket idle timeout, so idle keep-alive connections are closed politely first. */
const KEEP_ALIVE_TIMEOUT_MS = 10_000;
/** Longest a socket stays open to drain a request answered before its body was read (nginx: 30 s). */
const LINGER_MS = 5_000;
/** Most bytes read and dropped while lingering. */
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/** The wire form of an error, for route schemas (`response: { '4xx': WireErrorSchema }`). */
export const WireErrorSchema = Type.Object(
  { code: Type.Integer(), detail: Type.String(), error: Type.String(), info: Type.Unknown() },
  { description: 'A lancash / Cashu error: `code` is stable, `detail` is for humans' },
);

/** Builds a server with health, metrics, the OpenAPI document and the error wire form. Add routes, then `listen`. */
export async function createServer(o: ServerOptions): Promise<LancashServer> {
  const requestTimeout = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const base = {
    bodyLimit: o.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Node: `requestTimeout` bounds receiving a request, `connectionTimeout` an idle socket (slowloris).
    requestTimeout,
    connectionTimeout: requestTimeout,
    keepAliveTimeout: Math.min(KEEP_ALIVE_TIMEOUT_MS, requestTimeout),
    // One log line per request from our own hook: no bodies, no query strings.
    logController: new LogController({ disableRequestLogging: true }),
    // proxy-addr's list; never `true`, which would believe any client's X-Forwarded-For.
    ...(o.trustProxy !== undefined && o.trustProxy.length > 0 ? { trustProxy: [...o.trustProxy] } : {}),
    onProtoPoisoning: 'error' as const,
    onConstructorPoisoning: 'error' as const,
    forceCloseConnections: 'idle' as const,
    return503OnClosing: true,
    frameworkErrors: (err: Error, _req: unknown, reply: FastifyReply) => {
      sendError(reply, toLancashError(err));
    },
  };
  const logger = o.logger === undefined ? defaultLogger(o.name) : o.logger;
  const app = (
    logger === false ? Fastify({ ...base, logger: false }) : Fastify({ ...base, loggerInstance: logger })
  ).withTypeProvider<TypeBoxTypeProvider>() as LancashServer;

  installJsonParser(app);
  refuseNulInUrl(app);
  installValidator(app);
  installErrorHandlers(app);
  installMetrics(app, o.name, o.metrics);
  closeSilentConnectionsOnClose(app);
  // While draining, the last answers close their connection, so `close` does not wait on a
  // client's idle keep-alive socket.
  // Callback style, as every per-request hook here: an async hook costs a promise and a microtask
  // on every answer.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (!app.server.listening) reply.header('connection', 'close');
    // Answered before the body was read (413, 401, 429…): see `lingerBeforeClosing`.
    if (!req.raw.complete) lingerBeforeClosing(req.raw);
    done(null, payload);
  });

  // Browser wallets (cashu-ts in a web page) call mints from other origins, so every answer is
  // readable cross-origin, without credentials. `authorization` is not an allowed header: a web
  // page can never send the operator's bearer token (the operator routes need it).
  await app.register(fastifyCors, {
    origin: '*',
    methods: ['GET', 'POST'],
    allowedHeaders: ['content-type', 'idempotency-key'],
    exposedHeaders: ['retry-after'],
    maxAge: 600,
  });

  if (o.rateLimit !== false) {
    const { max, timeWindowMs } = o.rateLimit ?? DEFAULT_RATE_LIMIT;
    await app.register(fastifyRateLimit, {
      max,
      timeWindow: timeWindowMs,
      // The plugin throws what this returns; the error handler turns it into the wire form.
      errorResponseBuilder: (_req, ctx) =>
        new LancashError(
          'RateLimited',
          { retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)) },
          `too many requests; retry in ${ctx.after}`,
        ),
    });
  }
  // Registered before any route, so its onRoute hook sees every route's schema.
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: o.openapi?.title ?? o.name, version: o.openapi?.version ?? '0.0.0' },
    },
  });

  app.get(
    '/healthz',
    {
      config: { rateLimit: false },
      schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );
  if (o.operational !== false) serveOperational(app, app);
  return app;
}

/**
 * A connection that has not sent a byte yet (a browser's or undici's spare one, opened ahead of a
 * request) is not idle to Node, so `close` would wait for it until the client gives up (seconds, or
 * past the drain's grace). While closing, such sockets are destroyed: no request is lost, none began.
 */
function closeSilentConnectionsOnClose(app: LancashServer): void {
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Callback style, answered at once: an async hook would put the listener's close a tick later.
  app.addHook('preClose', (done) => {
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
    done();
  });
}

/**
 * `GET /metrics` (the registry of `of`) and `GET /docs/json` (the OpenAPI document of `of`) on `app`:
 * on `of` itself, or on a separate listener for operators (`createOperatorServer`).
 */
function serveOperational(app: LancashServer, of: LancashServer): void {
  app.get('/metrics', { config: { rateLimit: false }, schema: { hide: true } }, async (_req, reply) => {
    reply.type(of.metrics.contentType);
    // A collector that fails (its database down) leaves its metric out, never a 500 (core/metrics.ts).
    return exposition(of.metrics, (metric, err) =>
      of.log.warn({ metric, reason: err instanceof Error ? err.message : String(err) }, 'metric left out'),
    );
  });
  app.get('/docs/json', { schema: { hide: true } }, async () => of.swagger());
}

/**
 * A listener for operators only (e.g. the wide bank's `--metrics-listen 127.0.0.1:9338`): `/healthz`,
 * and the `/metrics` and `/docs/json` of `of`, which then serves neither (`operational: false`).
 */
export async function createOperatorServer(of: LancashServer, name: string): Promise<LancashServer> {
  const app = await createServer({ name, logger: of.log as Logger, metrics: of.metrics, operational: false });
  serveOperational(app, of);
  return app;
}

/**
 * Validates `--trust-proxy` entries: IPv4 or IPv6 addresses, or CIDR blocks of them (`10.0.0.0/8`,
 * `fd00::/8`). Comma-separated text or a list; empty entries are dropped.
 */
export function parseTrustedProxies(list: string | readonly string[]): string[] {
  const entries = (typeof list === 'string' ? list.split(',') : [...list]).map((e) => e.trim());
  return entries
    .filter((e) => e !== '')
    .map((entry) => {
      const [address = '', prefix, ...rest] = entry.split('/');
      const family = isIP(address);
      const bits = family === 4 ? 32 : 128;
      const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= bits);
      if (family === 0 || !prefixOk || rest.length > 0) {
        fail(
          'InvalidInput',
          {
            argument: 'trust-proxy',
            expected: 'IP addresses or CIDR blocks, e.g. 127.0.0.1,10.0.0.0/8',
            received: describe(entry),
          },
          `trust-proxy: ${describe(entry)} is not an IP address or CIDR block`,
        );
      }
      return entry;
    });
}

/**
 * An answer sent before the request's body was read (413 first of all) closes the connection. Closing
 * a socket with unread bytes makes the kernel send a reset, and a client that was still sending, and
 * reads only afterwards, loses the answer with it. So, as nginx's lingering close does: the rest of
 * the body is read and dropped, the answer goes out followed by a FIN, and the socket closes when the
 * client closes its side, after `LINGER_MS` or past `LINGER_MAX_BYTES`, whichever comes first. Node
 * calls `destroySoon` once the answer is written; this socket's is replaced.
 */
function lingerBeforeClosing(req: IncomingMessage): void {
  const socket = req.socket as Socket & { lancashLinger?: true };
  if (socket.lancashLinger) return;
  socket.lancashLinger = true;
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_MAX_BYTES) socket.destroy();
  });
  req.resume();
  socket.destroySoon = () => {
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', () => socket.destroy());
    socket.end();
  };
}

/** Binds `host:port` (port 0 picks a free one) and returns the server's base URL, e.g. `http://127.0.0.1:41234`. */
export async function listen(app: LancashServer, hostPort: string): Promise<string> {
  const { host, port } = parseHostPort(hostPort);
  await app.listen({ host, port, listenTextResolver: (address) => `listening at ${address}` });
  const bound = app.server.address() as AddressInfo;
  return `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
}

/**
 * On SIGTERM or SIGINT: stop accepting, let in-flight requests finish, close every app, run
 * `onClosed` (close stores, pools), exit 0. A second signal, or `graceMs` passing, exits 1 at once.
 */
export function drainOnSignals(
  apps: LancashServer[],
  onClosed?: () => Promise<void>,
  graceMs = DEFAULT_REQUEST_TIMEOUT_MS,
): void {
  let draining = false;
  const log = apps[0]?.log;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      log?.warn({ signal }, 'second signal while draining: exiting now');
      process.exit(1);
    }
    draining = true;
    log?.info({ signal }, 'draining: no new connections, finishing requests in flight');
    setTimeout(() => {
      log?.error({ graceMs }, 'drain took too long: exiting');
      process.exit(1);
    }, graceMs).unref();
    Promise.all(apps.map((app) => app.close()))
      .then(() => onClosed?.())
      .then(
        () => {
          log?.info('closed');
          process.exit(0);
        },
        (err: unknown) => {
          log?.error({ err }, 'error while closing');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** `127.0.0.1:0`, `0.0.0.0:8080`, `[::1]:0` → host and port. */
export function parseHostPort(hostPort: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(hostPort);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    fail(
      'InvalidInput',
      { argument: 'listen address', expected: 'HOST:PORT, e.g. 127.0.0.1:0', received: describe(hostPort) },
      `listen address: expected HOST:PORT such as 127.0.0.1:0, got ${describe(hostPort)}`,
    );
  }
  return { host: m[1] ?? m[2]!, port };
}

/** Any thrown value → the lancash error the client sees. Client mistakes never become 500. */
export function toLancashError(err: unknown, bodyLimit = DEFAULT_BODY_LIMIT): LancashError {
  if (isLancashError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
    validationContext?: unknown;
    validation?: { instancePath?: string; message?: string }[];
  };
  const code = typeof e.code === 'string' ? e.code : '';
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return new LancashError(
      'PayloadTooLarge',
      { limit: bodyLimit },
      `request body larger than ${bodyLimit} bytes`,
    );
  }
  if (status === 429) return new LancashError('RateLimited', { retryAfterSeconds: 1 }, 'too many requests');
  if (e.validation) {
    // Only reached by a route that brings its own (non-TypeBox) validator.
    const first = e.validation[0];
    const argument = `${String(e.validationContext ?? 'request')}${first?.instancePath?.replaceAll('/', '.') ?? ''}`;
    return invalid(argument, first?.message ?? 'a valid value', 'an invalid value');
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return invalid('content-type', 'application/json', 'another media type');
  }
  if (status >= 400 && status < 500) {
    return invalid('request', 'a well-formed HTTP request', typeof e.message === 'string' ? e.message : code);
  }
  return new LancashError('Internal', { reason: 'internal error' }, 'internal error', { cause: err });
}

function invalid(argument: string, expected: string, received: string): LancashError<'InvalidInput'> {
  return new LancashError(
    'InvalidInput',
    { argument, expected, received },
    `${argument}: expected ${expected}, got ${received}`,
  );
}

function sendError(reply: FastifyReply, e: LancashError): void {
  reply.code(e.status).type('application/json').send(e.toWire());
}

function defaultLogger(name: string): Logger {
  return pino(
    { name, level: process.env.LANCASH_LOG_LEVEL ?? 'info' },
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * JSON only, read as bytes: invalid UTF-8 is refused rather than silently replaced (a changed secret
 * is a changed note), so are lone surrogates spelled as `\uXXXX` escapes (`InvalidString`, see
 * `core/unicode.ts`), and `__proto__` / `constructor.prototype` keys are refused outright.
 */
function installJsonParser(app: LancashServer): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(invalid('body', 'UTF-8 JSON', 'bytes that are not UTF-8'), undefined);
      return;
    }
    const text = bytes.toString('utf8');
    // Without a backslash no key can spell `__proto__` or `constructor` by escapes, nor any string a
    // lone surrogate: text that also lacks both keys literally (and a BOM) parses plainly, which skips
    // the poisoning and surrogate scans (envelopes, base64url and hex, always take this path).
    if (
      text.indexOf('\\') === -1 &&
      text.charCodeAt(0) !== 0xfeff &&
      !text.includes('"__proto__"') &&
      !text.includes('"constructor"')
    ) {
      const value = parsesAsPlainJson(text);
      if (value !== undefined) {
        done(null, value.json);
        return;
      }
    }
    parseJson(req, text, (err, value) => {
      if (err === null) {
        try {
          checkWellFormed(value, 'body', text);
        } catch (e) {
          done(e as Error, undefined);
          return;
        }
        done(null, value);
      } else if (text.length === 0) done(invalid('body', 'a JSON body', 'an empty body'), undefined);
      else if (parsesAsPlainJson(text) !== undefined)
        done(
          invalid('body', 'JSON without __proto__ or constructor.prototype keys', 'a forbidden key'),
          undefined,
        );
      else done(invalid('body', 'valid JSON', 'malformed JSON'), undefined);
    });
  });
}

/** The value of `text` by `JSON.parse`, boxed (JSON's `null` is a value); undefined when it is not JSON. */
function parsesAsPlainJson(text: string): { json: unknown } | undefined {
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/**
 * NUL reaches a path parameter or a query value only as `%00` (the HTTP parser refuses a raw one).
 * Those values reach the store as text, which PostgreSQL cannot hold (`core/unicode.ts`): refused
 * as in a body, on every route, before its handler, whatever its schema.
 */
function refuseNulInUrl(app: LancashServer): void {
  app.addHook('onRequest', (req, _reply, done) => {
    const index = req.url.indexOf('%00');
    if (index === -1) done();
    else {
      const reason = `NUL (%00) at index ${index} of the URL`;
      done(
        new LancashError(
          'InvalidString',
          { argument: 'url', reason },
          `url: ${reason}; send text without NUL`,
        ),
      );
    }
  });
}

/** Route schemas are TypeBox schemas checked by `decode`, so HTTP bodies pass the same checks as any other input. */
function installValidator(app: LancashServer): void {
  app.setValidatorCompiler<TSchema>(({ schema, method, url, httpPart }) => {
    if (!TypeGuard.IsSchema(schema)) {
      const reason = `${method} ${url}: the ${httpPart} schema is not a TypeBox schema`;
      fail('Internal', { reason }, reason);
    }
    const argument = httpPart ?? 'request';
    return (data: unknown) => {
      try {
        return { value: decode(schema, data, argument) };
      } catch (err) {
        if (isLancashError(err)) return { error: err };
        throw err;
      }
    };
  });
}

/** 503s that mean "a dependency is down, retry later". */
const OUTAGES: ReadonlySet<ErrorName> = new Set<ErrorName>(['UpstreamUnavailable', 'StorageUnavailable']);
/**
 * Seconds an outage's 503 tells a client to wait before it retries (RFC 9110 §10.2.3 `Retry-After`):
 * a busy pool frees within its checkout bound (5 s), a restarting database or bank within seconds. A
 * client that honours it backs off instead of adding to the load that made the outage.
 */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

function installErrorHandlers(app: LancashServer): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toLancashError(err, req.routeOptions.bodyLimit);
    // An outage of the bank or the database is the operator's news, not a bug: a warning without a
    // stack (a stack per request buried the log while the bank was down).
    if (OUTAGES.has(e.kind))
      req.log.warn({ code: e.code, error: e.kind, detail: e.message }, 'request failed: outage');
    else if (e.status >= 500) req.log.error({ err, code: e.code }, 'request failed');
    else req.log.info({ code: e.code, error: e.kind }, 'request refused');
    if (OUTAGES.has(e.kind) && e.status === 503)
      reply.header('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS));
    sendError(reply, e);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    sendError(
      reply,
      new LancashError('NotFound', { what: 'route', id: `${req.method} ${describe(path)}` }, 'no such route'),
    );
  });
}

const HTTP_LABELS = ['server', 'method', 'route', 'status'] as const;
/** The request counter and histogram of each registry, shared by the servers that report there. */
const httpMetrics = new WeakMap<
  Registry,
  { requests: Counter<(typeof HTTP_LABELS)[number]>; duration: Histogram<(typeof HTTP_LABELS)[number]> }
>();

/**
 * Default process metrics plus one counter and one histogram of requests by server, route and status,
 * in a registry of this server's own, or in `shared` (another listener of the same process).
 */
function installMetrics(app: LancashServer, name: string, shared?: Registry): void {
  const registry = shared ?? new Registry();
  if (shared === undefined) {
    registry.setDefaultLabels({ server: name });
    collectDefaultMetrics({ register: registry });
  }
  let http = httpMetrics.get(registry);
  if (http === undefined) {
    http = {
      requests: new Counter({
        name: 'http_requests_total',
        help: 'HTTP requests answered, by server, method, route and status',
        labelNames: HTTP_LABELS,
        registers: [registry],
      }),
      duration: new Histogram({
        name: 'http_request_duration_seconds',
        help: 'Time to answer an HTTP request, by server, method, route and status',
        labelNames: HTTP_LABELS,
        registers: [registry],
      }),
    };
    httpMetrics.set(registry, http);
  }
  const { requests, duration } = http;
  /**
   * The two metrics' children per route, method and status, so an answer costs no hashing of its
   * labels. Bounded: route patterns (never raw URLs), methods the routes name, status codes.
   */
  const children = new Map<string, { inc: () => void; observe: (seconds: number) => void }>();
  app.decorate('metrics', registry);
  app.addHook('onResponse', (req, reply, done) => {
    const { method } = req;
    const status = reply.statusCode;
    const elapsed = reply.elapsedTime;
    // The route pattern, never the raw URL: unknown paths must not create label values.
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${status} ${method} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      const labels = { server: name, method, route, status };
      const counter = requests.labels(labels);
      const histogram = duration.labels(labels);
      child = { inc: () => counter.inc(), observe: (seconds) => histogram.observe(seconds) };
      children.set(key, child);
    }
    child.inc();
    child.observe(elapsed / 1000);
    req.log.info({ method, route, status, ms: Math.round(elapsed) }, 'request');
    done();
  });
}
