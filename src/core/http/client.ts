/**
 * The one HTTP client every role uses to call another (gateway → wide bank, deliveries to inboxes,
 * wallets → mints). It sorts every answer into exactly one of three outcomes, because the gateway's
 * jobs depend on it:
 *   - success (2xx, body decoded by the schema);
 *   - a PROVEN refusal (4xx carrying the wire error): the `LancashError` the peer sent;
 *   - `UnclearOutcome` (network error, timeout, 5xx, anything undecodable): the request may or may
 *     not have taken effect; retry with the same idempotency key, never assume it failed.
 * Portable: it sends through the standard `fetch` (browsers and Node alike), so the wallet core runs
 * in a browser. A Node process may swap in a faster transport (`node-transport.ts`, undici's `request`).
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { describe, fromWire, LancashError } from '../errors.js';
import { decode } from '../protocol/cashu.js';
import { checkWellFormed } from '../unicode.js';

export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/** A peer's answer larger than this is not read to the end (and the outcome is unclear). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface CallOptions {
  /** The peer's base URL, e.g. `http://127.0.0.1:3338` (a path prefix is kept). */
  base: string;
  method: 'GET' | 'POST';
  /** Starts with `/`. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /**
   * The body's JSON text, when the caller has it already (e.g. `envelopeJson`): sent as it is, instead
   * of `JSON.stringify(body)`.
   */
  json?: string;
  /** Sent as the `Idempotency-Key` header; the peer answers a repeat with the first answer. */
  idempotencyKey?: string;
  /** Whole call: connect, send, wait, read. Default 10 s. */
  timeoutMs?: number;
  /** Decodes a 2xx body; a body that does not match is an unclear outcome. */
  schema?: TSchema;
  /** Extra request headers (e.g. a request signature). */
  headers?: Record<string, string>;
  /** How the request travels; default the process's (`setHttpTransport`), at first `fetchTransport`. */
  transport?: HttpTransport;
}

/** One request as a transport sends it: the body already JSON text, the headers complete. */
export interface HttpRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | undefined;
  /** Aborts the whole exchange, reading of the answer included. */
  signal: CallSignal;
}

/**
 * What a transport needs of a call's deadline: the part of `AbortSignal` the transports use (an
 * `AbortSignal` is one). `call` hands over a `Deadline` of its own: on Node 20 an `AbortController`
 * with one listener costs ≈ 3–6 µs and an event target a call, a `Deadline` nothing to speak of;
 * `fetchTransport` links a real `AbortSignal` to it, as `fetch` needs one.
 */
export interface CallSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A call's deadline: aborted once, by the call's timer; each listener runs once, as with `once: true`. */
class Deadline implements CallSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] = [];

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at !== -1) this.listeners.splice(at, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }
}

/** The answer as it starts to arrive; `call` reads `body` itself, up to `MAX_RESPONSE_BYTES`. */
export interface HttpAnswer {
  status: number;
  /**
   * Leaving the iteration early (an answer too large) must release the connection. Or the chunks of
   * the whole body, read by a transport that keeps them itself (`MAX_RESPONSE_BYTES` at most).
   */
  body: AsyncIterable<Uint8Array> | readonly Uint8Array[];
}

/**
 * Sends one request. Rejects when no answer arrived (refused, reset, aborted); a redirect is an
 * answer like any other (never followed: a POST must not be replayed elsewhere).
 */
export type HttpTransport = (request: HttpRequest) => Promise<HttpAnswer>;

export type UnclearReason = 'network' | 'timeout' | 'status' | 'body';

/**
 * The outcome of a call is unknown: the peer may have done the work. Retry with the same idempotency
 * key; never refund or release on this.
 */
export class UnclearOutcome extends Error {
  override readonly name = 'UnclearOutcome';
  /** Recognise by this brand too: `instanceof` fails across duplicated module copies. */
  readonly unclear = true as const;

  constructor(
    readonly reason: UnclearReason,
    readonly target: string,
    message: string,
    options: { cause?: unknown; status?: number; notSent?: boolean } = {},
  ) {
    super(
      options.notSent === true
        ? `${target}: ${message}; the request was not sent`
        : `${target}: ${message}; outcome unknown, retry with the same idempotency key`,
      { cause: options.cause },
    );
    this.status = options.status;
    this.notSent = options.notSent === true;
  }

  /** The HTTP status, when an answer arrived. */
  readonly status: number | undefined;
  /**
   * The transport proved the request never left: no connection could be made (refused, no such
   * host, no route). The peer did nothing. Callers that do not look at this stay on the safe side.
   */
  readonly notSent: boolean;
}

/**
 * Errors of the connect phase, before any byte of the request is written (Node's `net`, undici).
 * A reset or a closed socket is not among them: a request may have gone out on a kept-alive socket.
 */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether `err` (or the errors it wraps: fetch's `TypeError` has the cause) is a connect failure. */
function neverConnected(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
    // AggregateError (happy eyeballs tries several addresses): all of them failed to connect.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0 && errors.every((x) => neverConnected(x))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** True when `e` says the outcome of a call is unknown. */
export function isUnclear(e: unknown): e is UnclearOutcome {
  return (
    e instanceof UnclearOutcome ||
    (typeof e === 'object' && e !== null && (e as { unclear?: unknown }).unclear === true)
  );
}

/**
 * The standard `fetch`: keep-alive by default in browsers and in Node (its built-in undici pool), no
 * redirects followed, no HTTP cache (a transfer's status must be asked, not remembered).
 */
export const fetchTransport: HttpTransport = async (r) => {
  const abort = new AbortController();
  if (r.signal.aborted) abort.abort(r.signal.reason);
  else r.signal.addEventListener('abort', () => abort.abort(r.signal.reason), { once: true });
  // `cache` is in the Fetch standard's RequestInit, though Node 20's type for it omits the field.
  const init: RequestInit & { cache: 'no-store' } = {
    method: r.method,
    headers: r.headers,
    body: r.body ?? null,
    signal: abort.signal,
    redirect: 'manual',
    cache: 'no-store',
  };
  const res = await fetch(r.url, init);
  // A browser hides a redirect as an opaque answer of status 0: unclear, like every other non-2xx.
  return { status: res.status, body: chunksOf(res.body) };
};

async function* chunksOf(stream: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (stream === null) return;
  // A reader, not `for await` on the stream: browsers do not all iterate streams.
  const reader = stream.getReader();
  let done = false;
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Left early: stop the download so the connection is freed.
    if (!done) await reader.cancel().catch(() => undefined);
  }
}

let processTransport: HttpTransport = fetchTransport;

/** Makes every `call` without its own `transport` use `t` from now on (a Node entry point's choice). */
export function setHttpTransport(t: HttpTransport): void {
  processTransport = t;
}

/** Calls a peer; the body of a 2xx is decoded by `o.schema` when given. See the file comment for the outcomes. */
export async function call<S extends TSchema>(o: CallOptions & { schema: S }): Promise<Static<S>>;
export async function call<T = unknown>(o: CallOptions): Promise<T>;
export async function call(o: CallOptions): Promise<unknown> {
  const url = `${o.base.endsWith('/') ? o.base.replace(/\/+$/, '') : o.base}${o.path}`;
  const target = `${o.method} ${url}`;
  const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
  const body = o.json ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
  const timeoutMs = o.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  // A timer cleared when the call ends, not `AbortSignal.timeout`: that one's timer outlives the call
  // by the whole timeout (10 s of live timers and signals at a few hundred calls a second), and
  // costs twice the CPU a call.
  const signal = new Deadline();
  const timer = setTimeout(
    () => signal.abort(new DOMException('the call timed out', 'TimeoutError')),
    timeoutMs,
  );
  const send = o.transport ?? processTransport;

  let status: number;
  let text: string;
  try {
    const res = await send({
      url,
      method: o.method,
      headers,
      body,
      signal,
    });
    status = res.status;
    text = await readCapped(res.body, target);
  } catch (err) {
    if (err instanceof UnclearOutcome) throw err;
    // The signal is the only clock: a transport's own timeouts are longer than any call's.
    const timedOut = signal.aborted;
    throw new UnclearOutcome(
      timedOut ? 'timeout' : 'network',
      target,
      timedOut ? `no complete answer within ${timeoutMs} ms` : `network error (${messageOf(err)})`,
      { cause: err, notSent: !timedOut && neverConnected(err) },
    );
  } finally {
    clearTimeout(timer);
  }

  if (status >= 200 && status < 300) {
    if (o.schema === undefined && text === '') return undefined;
    const value = parseJson(text);
    if (value === undefined)
      throw new UnclearOutcome('body', target, `${status} with a body that is not JSON`, { status });
    try {
      // A peer's JSON is untrusted like any body: no lone surrogates (`core/unicode.ts`).
      checkWellFormed(value.json, 'response', text);
      return o.schema === undefined ? value.json : decode(o.schema, value.json, 'response');
    } catch (err) {
      throw new UnclearOutcome('body', target, `${status} with an unexpected body (${messageOf(err)})`, {
        cause: err,
        status,
      });
    }
  }
  const wire = parseJson(text)?.json;
  const isWire =
    typeof wire === 'object' && wire !== null && typeof (wire as { code?: unknown }).code === 'number';
  if (status >= 400 && status < 500 && isWire) throw fromWire(wire as { code: number });
  // 5xx, or an answer that is not ours (a proxy's page, a redirect): the request may have been done.
  throw new UnclearOutcome('status', target, `answered ${status}`, {
    status,
    ...(isWire ? { cause: fromWire(wire as { code: number }) } : {}),
  });
}

/** Decodes whole answers only (never `stream: true`), so one serves every call. */
const utf8Decoder = new TextDecoder();

async function readCapped(
  body: AsyncIterable<Uint8Array> | readonly Uint8Array[],
  target: string,
): Promise<string> {
  // The bytes first, decoded once at the end: a multi-byte character may straddle two chunks.
  const whole = Array.isArray(body);
  const chunks: Uint8Array[] = whole ? (body as Uint8Array[]) : [];
  let size = 0;
  if (whole) for (const chunk of chunks) size += chunk.length;
  else {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) break;
      chunks.push(chunk);
    }
  }
  if (size > MAX_RESPONSE_BYTES)
    throw new UnclearOutcome('body', target, `answer larger than ${MAX_RESPONSE_BYTES} bytes`);
  if (chunks.length === 0) return '';
  if (chunks.length === 1) return utf8Decoder.decode(chunks[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return utf8Decoder.decode(all);
}

function parseJson(text: string): { json: unknown } | undefined {
  try {
    return { json: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof LancashError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return describe(err);
}
