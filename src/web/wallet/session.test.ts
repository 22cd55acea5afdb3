/**
 * The wallet page's inbox watch: one drain at load, one per live `arrived` event (the mailbox's first
 * event on a connection says what waits, so opening the stream drains nothing more), one when the
 * page becomes visible again. `fetch` and `document` are stand-ins; the stream is one `arrived`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchInbox } from './session.js';

afterEach(() => vi.unstubAllGlobals());

describe('watchInbox', () => {
  it('drains at load, on the server’s first `arrived` and on becoming visible, not on the connection', async () => {
    const page = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    vi.stubGlobal('document', page);
    let waiting!: () => void;
    const readAgain = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        // The first read gets the mailbox's first event; the next one waits, as an open stream does.
        pull(c) {
          if (pulls++ === 0) c.enqueue(new TextEncoder().encode('event: arrived\ndata:\n\n'));
          else {
            waiting();
            return new Promise<void>(() => {});
          }
          return undefined;
        },
      },
      { highWaterMark: 0 },
    );
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } })),
    );
    let drains = 0;
    const stop = new AbortController();
    watchInbox(
      { inboxEventsUrl: async () => 'http://mailbox.test/v1/inbox/lan1x/events' },
      async () => {
        drains++;
      },
      stop.signal,
    );
    // The `arrived` is read (and its drain asked) before the stream is read again.
    await readAgain;
    expect(drains).toBe(2);
    page.dispatchEvent(new Event('visibilitychange'));
    expect(drains).toBe(3);
    stop.abort();
  });
});
