/**
 * Reading a live route's event stream in tests (used by tests only): one connection, no reconnect,
 * events parsed by the pages' own `SseParser` (web/ui/live.ts) and handed out one by one, so a test
 * waits for the next event (or the end) instead of for a time. A refusal is kept as its wire body.
 */
import { type Dispatcher, fetch } from 'undici';
import { type SseMessage, SseParser } from '../web/ui/live.js';

export interface EventReader {
  status: number;
  /** The refusal's wire form (`{code, …}`) when `status` is not 200. */
  refusal?: { code: number; error: string; detail: string };
  /** The next event, parsed; undefined once the stream has ended. */
  next(): Promise<{ type: string; data: unknown } | undefined>;
  /** Every event left until the stream ends. */
  rest(): Promise<{ type: string; data: unknown }[]>;
  /** Resolves when the server ended the stream (or it broke). */
  ended: Promise<void>;
  close(): void;
}

/** Opens `url`'s stream; `dispatcher`: e.g. an undici `Agent` bound to another loopback address (another client). */
export async function openEvents(
  url: string,
  headers: Record<string, string> = {},
  dispatcher?: Dispatcher,
): Promise<EventReader> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
    ...(dispatcher !== undefined ? { dispatcher } : {}),
  });
  if (res.status !== 200 || res.body === null) {
    const refusal = (await res.json().catch(() => undefined)) as EventReader['refusal'];
    return {
      status: res.status,
      ...(refusal !== undefined ? { refusal } : {}),
      next: async () => undefined,
      rest: async () => [],
      ended: Promise.resolve(),
      close: () => abort.abort(),
    };
  }
  const queue: SseMessage[] = [];
  const waiters: (() => void)[] = [];
  let done = false;
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const parser = new SseParser((m) => {
    queue.push(m);
    wake();
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        parser.push(decoder.decode(chunk.value, { stream: true }));
      }
    } catch {
      // Aborted or cut: the stream has ended either way.
    } finally {
      done = true;
      wake();
    }
  })();
  const next = async (): Promise<{ type: string; data: unknown } | undefined> => {
    while (queue.length === 0 && !done) await new Promise<void>((resolve) => waiters.push(resolve));
    const m = queue.shift();
    return m === undefined
      ? undefined
      : { type: m.type, data: m.data === '' ? undefined : JSON.parse(m.data) };
  };
  return {
    status: res.status,
    next,
    rest: async () => {
      const out: { type: string; data: unknown }[] = [];
      for (let e = await next(); e !== undefined; e = await next()) out.push(e);
      return out;
    },
    ended,
    close: () => abort.abort(),
  };
}
