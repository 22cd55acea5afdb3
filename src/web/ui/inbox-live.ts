/**
 * Receiving without pressing anything (docs/web.md, "Live updates"): follows the wallet's inbox
 * events (`GET /v1/inbox/:address/events`, a fresh owner's proof per connection from
 * `wallet.inboxEventsUrl()`) and drains the inbox with `wallet.receive()` on every `arrived`, one
 * drain at a time: events during a drain make one more drain after it. A (re)connection needs no drain
 * of its own: the mailbox starts the stream with `arrived` when messages wait.
 */
import type { ReceiveSummary } from '../../wallet/index.js';
import { subscribe } from './live.js';

export interface InboxWallet {
  inboxEventsUrl(): Promise<string>;
  receive(): Promise<ReceiveSummary>;
}

export interface FollowInboxOptions {
  /** Aborting stops following. */
  signal: AbortSignal;
  /** After each drain (the page refreshes the balance and history here). */
  onReceived?(summary: ReceiveSummary): void;
  /** A drain failed, or the stream was cut (it reconnects by itself); for a quiet status line. */
  onProblem?(error: unknown): void;
  /** Tests: another `fetch`. */
  fetch?: typeof fetch;
}

/** Follows the inbox until `o.signal` aborts; rejects only when the mailbox refuses for good (71011). */
export function followInbox(wallet: InboxWallet, o: FollowInboxOptions): Promise<void> {
  let draining = false;
  let again = false;
  const drain = async () => {
    if (draining) {
      again = true;
      return;
    }
    draining = true;
    try {
      do {
        again = false;
        try {
          // Not inside `onReceived?.(…)`: an optional call skips its arguments when it is absent.
          const summary = await wallet.receive();
          o.onReceived?.(summary);
        } catch (e) {
          o.onProblem?.(e);
        }
      } while (again && !o.signal.aborted);
    } finally {
      draining = false;
    }
  };
  return subscribe(() => wallet.inboxEventsUrl(), {
    signal: o.signal,
    ...(o.fetch !== undefined ? { fetch: o.fetch } : {}),
    onEvent: (type) => {
      if (type === 'arrived') void drain();
    },
    onDisconnect: (reason) => o.onProblem?.(reason),
  });
}
