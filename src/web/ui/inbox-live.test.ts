/**
 * `followInbox`: one drain per `arrived`, and `arrived`s during a drain folded into one more drain
 * after it (never two drains at once).
 */
import { describe, expect, it } from 'vitest';
import type { ReceiveSummary } from '../../wallet/index.js';
import { followInbox } from './inbox-live.js';

const none: ReceiveSummary = { received: [], refused: [], notices: 0, ignored: 0 };
const arrived = new TextEncoder().encode('event: arrived\ndata:\n\n');

describe('followInbox', () => {
  it('drains once per arrival, folding arrivals during a drain into one more', async () => {
    const abort = new AbortController();
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        stream = c;
        c.enqueue(arrived);
        // As a real fetch does: aborting ends the body.
        abort.signal.addEventListener('abort', () => c.close());
      },
    });
    let running = 0;
    let most = 0;
    let drains = 0;
    const wallet = {
      inboxEventsUrl: async () => 'http://mailbox/events?proof=x',
      receive: async () => {
        running++;
        most = Math.max(most, running);
        drains++;
        if (drains === 1) {
          // Two more arrive while this drain runs; the page must not start a second one beside it.
          stream?.enqueue(arrived);
          stream?.enqueue(arrived);
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        running--;
        if (drains === 2) abort.abort();
        return none;
      },
    };
    const fetch = (async () => new Response(body, { status: 200 })) as typeof globalThis.fetch;
    await followInbox(wallet, { signal: abort.signal, fetch });
    expect([drains, most]).toEqual([2, 1]);
  });
});
