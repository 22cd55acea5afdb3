/**
 * Server-sent events for a `LancashServer` (docs/web.md, "Live updates"): `text/event-stream` answers
 * of `event:`/`data:` lines, a `retry:` hint, a heartbeat comment every `heartbeatMs` (below the
 * socket idle timeout, so a quiet stream is not cut), and BOUNDS: open streams per client (its IPv4
 * address, an IPv6 client by its /64) and in total, refused with 429 `RateLimited` before any work,
 * optionally per scope too (one inbox); a client that does not read is cut once `maxBufferedBytes` wait.
 * When the server closes (the drain on SIGTERM), every stream ends first, so none holds the drain.
 *
 * Streams are fed by in-process buses (`Topics`), never by polling per stream.
 */
import type { FastifyReply } from 'fastify';
import { fail } from '../errors.js';
import type { LancashServer } from './server.js';

export interface SseLimits {
  /** Open streams one client (IPv4 address, IPv6 /64) may hold on one server. */
  perClient: number;
  /** Open streams on one server in all. */
  total: number;
  /** A comment line is sent this often, so proxies and the socket idle timeout (30 s) see traffic. */
  heartbeatMs: number;
  /** The reconnection delay the stream suggests (`retry:`). */
  retryMs: number;
  /** Unsent bytes a stream may hold for a client that does not read; past it the stream is cut. */
  maxBufferedBytes: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = {
  perClient: 16,
  total: 512,
  heartbeatMs: 15_000,
  retryMs: 3_000,
  maxBufferedBytes: 256 * 1024,
};

/** How long a refused client is told to wait (`retryAfterSeconds`). */
const RETRY_AFTER_SECONDS = 10;

/**
 * Keyed listeners: `publish(key, v)` reaches the listeners of `key` and those of every key. Listeners
 * run synchronously; one that throws does not stop the others nor the publisher.
 */
export class Topics<T> {
  private readonly byKey = new Map<string, Set<(value: T) => void>>();
  private readonly everyKey = new Set<(value: T) => void>();

  /** Listens to `key`; returns the unsubscribe. */
  subscribe(key: string, listener: (value: T) => void): () => void {
    let set = this.byKey.get(key);
    if (set === undefined) {
      set = new Set();
      this.byKey.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
    };
  }

  /** Listens to every key; returns the unsubscribe. */
  subscribeAll(listener: (value: T) => void): () => void {
    this.everyKey.add(listener);
    return () => {
      this.everyKey.delete(listener);
    };
  }

  publish(key: string, value: T): void {
    for (const listener of [...(this.byKey.get(key) ?? []), ...this.everyKey]) {
      try {
        listener(value);
      } catch {
        // A listener's failure is its own stream's business (it ends itself); the change happened.
      }
    }
  }
}

/** One open stream. */
export interface SseStream {
  /** Sends `event: type` with `data` as JSON (an empty data line when `data` is undefined). */
  send(type: string, data?: unknown): void;
  /** Ends the stream (the client may reconnect, or not: it got what it asked for). */
  end(): void;
  readonly closed: boolean;
  /** Runs once when the stream ends, whoever ended it (client gone, `end`, server closing). */
  onClose(fn: () => void): void;
}

/** A place among the open streams, taken before any work; `open` it or `release` it. */
export interface SseTicket {
  open(reply: FastifyReply): SseStream;
  release(): void;
}

export interface SseHubOptions {
  limits?: Partial<SseLimits>;
  /** The client a stream counts for: IPv4 as is, IPv6 by its /64 (the quotas' rule). */
  clientOf: (ip: string) => string;
}

/** The streams of one server, and their bounds. */
export class SseHub {
  readonly limits: SseLimits;
  private readonly clientOf: (ip: string) => string;
  private readonly perKey = new Map<string, number>();
  private readonly open = new Set<Stream>();
  private admitted = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(app: LancashServer, o: SseHubOptions) {
    this.limits = { ...DEFAULT_SSE_LIMITS, ...o.limits };
    this.clientOf = o.clientOf;
    // Before the server stops accepting and waits for requests in flight: a stream never ends on its own.
    // Callback style, answered at once, so the listener's close is not put off by a tick.
    app.addHook('preClose', (done) => {
      this.closing = true;
      for (const s of [...this.open]) s.end();
      done();
    });
  }

  /** Open streams (admitted, not yet released). */
  get size(): number {
    return this.admitted;
  }

  /**
   * Takes a place for a stream of the client at `ip` (and of `scope`, at most `scope.max` there),
   * or refuses with 429 `RateLimited` when the client, the scope or the server holds its most.
   */
  admit(ip: string, scope?: { key: string; max: number }): SseTicket {
    if (this.closing) fail('RateLimited', { retryAfterSeconds: 1 }, 'the server is closing');
    const keys = [`client ${this.clientOf(ip)}`];
    const maxOf = new Map<string, number>([[keys[0]!, this.limits.perClient]]);
    if (scope !== undefined) {
      keys.push(`scope ${scope.key}`);
      maxOf.set(`scope ${scope.key}`, scope.max);
    }
    const full =
      this.admitted >= this.limits.total
        ? 'this server'
        : keys.find((k) => (this.perKey.get(k) ?? 0) >= maxOf.get(k)!);
    if (full !== undefined) {
      const who = full === 'this server' ? full : full.startsWith('client') ? 'this client' : 'this address';
      fail(
        'RateLimited',
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
        `${who} holds as many live streams as it may; close one or retry in ${RETRY_AFTER_SECONDS} s`,
      );
    }
    this.admitted++;
    for (const k of keys) this.perKey.set(k, (this.perKey.get(k) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.admitted--;
      for (const k of keys) {
        const n = (this.perKey.get(k) ?? 1) - 1;
        if (n <= 0) this.perKey.delete(k);
        else this.perKey.set(k, n);
      }
    };
    return {
      open: (reply) => {
        const stream = new Stream(reply, this.limits, () => {
          this.open.delete(stream);
          release();
          if (this.open.size === 0) this.stopHeartbeat();
        });
        if (this.closing || stream.gone) {
          stream.end();
          return stream;
        }
        this.open.add(stream);
        this.startHeartbeat();
        return stream;
      },
      release,
    };
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== undefined) return;
    this.heartbeat = setInterval(() => {
      for (const s of this.open) s.comment();
    }, this.limits.heartbeatMs);
    // A heartbeat never keeps a process alive.
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

class Stream implements SseStream {
  closed = false;
  /** Its client had gone before it opened (see the constructor). */
  readonly gone: boolean;
  private readonly closers: (() => void)[] = [];
  private readonly res: FastifyReply['raw'];

  constructor(
    reply: FastifyReply,
    private readonly limits: SseLimits,
    done: () => void,
  ) {
    reply.hijack();
    this.res = reply.raw;
    this.closers.push(done);
    // The client may have gone while the route worked after taking the place (a lookup, a proof's
    // check): its response has closed already and 'close' does not come again. The hub ends such a
    // stream at once, or its place (and whatever `onClose` gives back) stayed taken until the server stops.
    this.gone = this.res.closed || this.res.destroyed;
    if (this.gone) return;
    // Headers set so far (CORS, by the hooks) go out with the stream's own.
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (typeof value === 'string' || Array.isArray(value)) headers[name] = value;
      else if (typeof value === 'number') headers[name] = String(value);
    }
    this.res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx and friends: do not buffer the stream.
      'x-accel-buffering': 'no',
    });
    this.res.write(`retry: ${limits.retryMs}\n\n`);
    this.res.once('close', () => this.finish());
  }

  send(type: string, data?: unknown): void {
    if (this.closed) return;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(type)) {
      fail('Internal', { reason: `event type ${JSON.stringify(type)} is not a plain name` });
    }
    // JSON.stringify escapes line breaks inside strings, so `data` is one line. An event without data
    // still has its (empty) data line: EventSource dispatches only events that have one.
    this.write(`event: ${type}\ndata:${data === undefined ? '' : ` ${JSON.stringify(data)}`}\n\n`);
  }

  comment(): void {
    if (!this.closed) this.write(':\n\n');
  }

  end(): void {
    if (this.closed) return;
    this.res.end();
    // No keep-alive after a stream: the socket goes once the end is written (without waiting for
    // the client's side to close), so a drain does not wait on it.
    this.res.socket?.destroySoon();
    this.finish();
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  private write(text: string): void {
    this.res.write(text);
    // A client that stopped reading must not make the server hold its events forever.
    if (this.res.writableLength > this.limits.maxBufferedBytes) {
      this.res.destroy();
      this.finish();
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closers.splice(0)) {
      try {
        fn();
      } catch {
        // Cleanup of one listener does not stop the others.
      }
    }
  }
}

const hubs = new WeakMap<LancashServer, SseHub>();

/**
 * The one stream hub of `app`, made on first use with `o` (later callers share it and its bounds, so
 * the per-client bound counts every live route of the server together).
 */
export function sseHub(app: LancashServer, o: SseHubOptions): SseHub {
  let hub = hubs.get(app);
  if (hub === undefined) {
    hub = new SseHub(app, o);
    hubs.set(app, hub);
  }
  return hub;
}
