/**
 * The one HTTP client every role uses to call another (gateway → wide bank, deliveries to inboxes).
 * It sorts every answer into exactly one of three outcomes, because the gateway's jobs depend on it:
 *   - success (2xx, body decoded by the schema);
 *   - a PROVEN refusal (4xx carrying the wire error): the `LancashError` the peer sent;
 *   - `UnclearOutcome` (network error, timeout, 5xx, anything undecodable): the request may or may
 *     not have taken effect; retry with the same idempotency key, never assume it failed.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { request, errors as undiciErrors } from 'undici';
import { describe, fromWire, LancashError } from '../errors.js';
import { decode } from '../protocol/cashu.js';

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
  /** Sent as the `Idempotency-Key` header; the peer answers a repeat with the first answer. */
  idempotencyKey?: string;
  /** Whole call: connect, send, wait, read. Default 10 s. */
  timeoutMs?: number;
  /** Decodes a 2xx body; a body that does not match is an unclear outcome. */
  schema?: TSchema;
  /** Extra request headers (e.g. a request signature). */
  headers?: Record<string, string>;
}

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
    options: { cause?: unknown; status?: number } = {},
  ) {
    super(`${target}: ${message}; outcome unknown, retry with the same idempotency key`, {
      cause: options.cause,
    });
    this.status = options.status;
  }

  /** The HTTP status, when an answer arrived. */
  readonly status: number | undefined;
}

/** True when `e` says the outcome of a call is unknown. */
export function isUnclear(e: unknown): e is UnclearOutcome {
  return (
    e instanceof UnclearOutcome ||
    (typeof e === 'object' && e !== null && (e as { unclear?: unknown }).unclear === true)
  );
}

/** Calls a peer; the body of a 2xx is decoded by `o.schema` when given. See the file comment for the outcomes. */
export async function call<S extends TSchema>(o: CallOptions & { schema: S }): Promise<Static<S>>;
export async function call<T = unknown>(o: CallOptions): Promise<T>;
export async function call(o: CallOptions): Promise<unknown> {
  const url = `${o.base.replace(/\/+$/, '')}${o.path}`;
  const target = `${o.method} ${url}`;
  const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
  const timeoutMs = o.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);

  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: o.method,
      headers,
      body: o.body === undefined ? null : JSON.stringify(o.body),
      signal,
    });
    status = res.statusCode;
    text = await readCapped(res.body, target);
  } catch (err) {
    if (err instanceof UnclearOutcome) throw err;
    const timedOut =
      signal.aborted ||
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError;
    throw new UnclearOutcome(
      timedOut ? 'timeout' : 'network',
      target,
      timedOut ? `no complete answer within ${timeoutMs} ms` : `network error (${messageOf(err)})`,
      { cause: err },
    );
  }

  if (status >= 200 && status < 300) {
    if (o.schema === undefined && text === '') return undefined;
    const value = parseJson(text);
    if (value === undefined)
      throw new UnclearOutcome('body', target, `${status} with a body that is not JSON`, { status });
    if (o.schema === undefined) return value.json;
    try {
      return decode(o.schema, value.json, 'response');
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

async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  target: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new UnclearOutcome('body', target, `answer larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
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
