/**
 * Live updates in the pages (docs/web.md, "Live updates"): server-sent events read with `fetch` and a
 * stream reader, not `EventSource`, so headers such as the operator's `Authorization` can be sent.
 * `subscribe` reconnects with backoff until its signal aborts; every (re)connection asks for the URL
 * again (an inbox's URL carries a proof that is good once) and calls `onOpen`, where the page reloads
 * what it shows, so nothing missed while disconnected stays missed. `SseParser` follows the WHATWG
 * event-stream rules (any line ending, comments, multi-line data, chunks split anywhere).
 */
import { fromWire, LancashError } from '../../core/errors.js';
import { SseParser } from '../../core/http/sse-parser.js';

export { type SseMessage, SseParser } from '../../core/http/sse-parser.js';

export interface SubscribeOptions {
  headers?: Record<string, string>;
  /** Each event, its data parsed as JSON (undefined when empty). */
  onEvent(type: string, data: unknown): void;
  /** Aborting ends the subscription (and `subscribe`'s promise, resolved). */
  signal: AbortSignal;
  /** After each connection opened, the first one too: reload the current state here. */
  onOpen?(): void;
  /** A connection failed or ended; the next try is in `retryInMs`. */
  onDisconnect?(reason: unknown, retryInMs: number): void;
  /** Tests: another `fetch`, other backoff bounds. */
  fetch?: typeof fetch;
  backoff?: { baseMs?: number; capMs?: number; random?: () => number };
}

/**
 * Follows an event stream until `o.signal` aborts: resolves then. Rejects with the server's
 * `LancashError` when it refuses for good (a 4xx other than 429: not found, not the owner, no token),
 * since asking again would be refused again. Every other failure (network, 429, 5xx, the stream
 * ending) is retried: first after the server's `retry:` hint, then backing off up to `capMs`.
 * `url` may be a function, called for every connection.
 */
export async function subscribe(
  url: string | (() => string | Promise<string>),
  o: SubscribeOptions,
): Promise<void> {
  const doFetch = o.fetch ?? globalThis.fetch.bind(globalThis);
  const baseMs = o.backoff?.baseMs ?? 1000;
  const capMs = o.backoff?.capMs ?? 30_000;
  const random = o.backoff?.random ?? Math.random;
  let hintMs = baseMs;
  let failures = 0;
  while (!o.signal.aborted) {
    let waitMs: number;
    try {
      const target = typeof url === 'string' ? url : await url();
      const res = await doFetch(target, {
        headers: { accept: 'text/event-stream', ...o.headers },
        signal: o.signal,
      });
      if (res.status === 204) return; // the server says: nothing more to follow
      if (!res.ok || res.body === null) {
        const refusal = await refusalOf(res);
        if (res.status >= 400 && res.status < 500 && res.status !== 429) throw refusal;
        failures++;
        const after = Number(res.headers.get('retry-after'));
        waitMs = Math.max(delay(failures, baseMs, capMs, random), Number.isFinite(after) ? after * 1000 : 0);
        o.onDisconnect?.(refusal, waitMs);
      } else {
        failures = 0;
        o.onOpen?.();
        await read(res.body, o, (ms) => {
          hintMs = ms;
        });
        waitMs = hintMs;
        o.onDisconnect?.(new Error('the stream ended'), waitMs);
      }
    } catch (e) {
      if (o.signal.aborted) return;
      if (e instanceof LancashError) throw e;
      failures++;
      waitMs = Math.max(hintMs, delay(failures, baseMs, capMs, random));
      o.onDisconnect?.(e, waitMs);
    }
    await sleep(waitMs, o.signal);
  }
}

/** Reads one connection's events until it ends. */
async function read(
  body: ReadableStream<Uint8Array>,
  o: SubscribeOptions,
  onRetry: (ms: number) => void,
): Promise<void> {
  const parser = new SseParser(
    (m) => o.onEvent(m.type, m.data === '' ? undefined : JSON.parse(m.data)),
    onRetry,
  );
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      parser.push(decoder.decode(next.value, { stream: true }));
    }
    parser.push(decoder.decode());
  } finally {
    parser.end();
    await reader.cancel().catch(() => undefined);
  }
}

async function refusalOf(res: Response): Promise<LancashError> {
  try {
    const wire = (await res.json()) as { code?: unknown; detail?: unknown; info?: unknown };
    if (typeof wire.code === 'number') return fromWire(wire);
  } catch {
    // Not the wire form: a proxy's page, say.
  }
  return new LancashError('Internal', { reason: `HTTP ${res.status}` }, `the server answered ${res.status}`);
}

/** base · 2^(n−1), at most `capMs`, ± 20 % so many pages do not come back in step. */
function delay(n: number, baseMs: number, capMs: number, random: () => number): number {
  const plain = Math.min(capMs, baseMs * 2 ** Math.min(n - 1, 30));
  return Math.round(plain * (0.8 + 0.4 * random()));
}

/** Waits `ms`, or less when `signal` aborts; never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
