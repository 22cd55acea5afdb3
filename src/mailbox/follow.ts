/**
 * Several processes on one PostgreSQL mailbox (the gateway's LAN mailbox with several gateway
 * processes, docs/gateway.md "Running several gateway processes"; the wide bank's with several bank
 * processes): a deposit stored through one process must reach the live `arrived` streams another
 * process answers (docs/mailbox.md, "Live events"). Each process tells its own deposits at once
 * (`stored`, after their commit); this follower tells the others', read from the table every `everyMs`
 * (default 1 s), as `gateway/jobs/follow.ts` follows the jobs.
 *
 * Bounded work: a look is one statement whatever the number of streams (`follow-repository.ts`, three
 * array parameters), reads only the inboxes a stream of this process watches (none watched: no
 * statement at all), each from its cursor on by the primary key (`recipient`, `seq`), a page of at most
 * `page` rows (what one drain answers), and on while pages come back full, `PAGES_PER_LOOK` at most (a
 * busier second is read on at the next looks). Each message is read once per process (the cursor), so
 * what the looks read is bounded by what was deposited into watched inboxes, itself bounded by the
 * deposit quotas and rate limits; the streams that make an inbox watched are the live events' bounded
 * streams (per client, inbox and server).
 *
 * Why a cursor on `seq` misses nothing: an inbox's sequence numbers are taken from its row
 * (`mailbox_inboxes.last_seq`, incremented under the row's lock, held to the commit), so the messages of
 * one inbox commit in the order of their numbers, and a look that saw `seq` n has seen every committed
 * message below it. An inbox watched anew has no cursor yet: its first look reads the messages created
 * since a little before the watch began (`overlapMs`, for a depositing process whose clock runs behind),
 * so a deposit between the stream's check of what is pending and the first look is told too; one made
 * just before the stream opened may be told as well as announced by the stream's first bare `arrived`
 * (an owner takes a message once by sender and transfer id: harmless). The same statement answers the
 * inbox's highest sequence number, every message up to which it could see, so once that look was not
 * cut by its page the inbox's cursor is that number: from then on a quiet inbox costs one probe of the
 * primary key a look, however many rows it and the table hold.
 *
 * Told once: a message this process stored is told by `stored` and skipped by the looks (`own`), and
 * one a look told first (read before `stored` ran) is not told again by `stored` (the cursor passed
 * it). JavaScript runs one of the two at a time, so either order tells it exactly once.
 */
import type { Store } from '../store/index.js';
import { type InboxCursor, messagesAfter } from './follow-repository.js';
import type { StoredMessage } from './protocol.js';

export interface ArrivalFollowerOptions {
  store: Store;
  /** Tells the streams of `recipient`'s inbox about a new message. */
  publish: (recipient: string, message: StoredMessage) => void;
  /** How often a look runs; default 1 s. */
  everyMs?: number;
  /**
   * Rows a statement reads at most (default `FOLLOW_PAGE`): the routes give the mailbox's `maxDrain`,
   * so a page holds at most what one drain answers (`maxDrain × maxEnvelopeBytes`, bounded by the
   * mailbox). A look reads on while pages come back full, `PAGES_PER_LOOK` at most.
   */
  page?: number;
  /** How far before its watch began a new inbox's first looks reach; default 3 s. */
  overlapMs?: number;
  /** Clock (unix ms). */
  now?: () => number;
  log?: { warn(obj: object, msg: string): void };
}

/** Rows a statement reads at most, by default. */
export const FOLLOW_PAGE = 100;
/** Statements a look makes at most (each after a full page); the rest waits for the next look. */
export const PAGES_PER_LOOK = 10;
/** Sequence numbers of this process's own deposits remembered per inbox until a look passes them. */
const OWN_MAX = 1000;

interface Watched {
  /** Streams of this process on the inbox. */
  streams: number;
  /** The highest sequence number a look has read; 0 before the first row. */
  after: number;
  /** Until the first row: the oldest `created_at` read (unix ms); then 0. */
  since: number;
  /** This process's own deposits above `after`, told already by `stored`. */
  own: Set<number>;
}

export class ArrivalFollower {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  /** The look running, if any (`stop` waits for it). */
  private looking: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly o: ArrivalFollowerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Starts looking every `everyMs`. */
  start(): void {
    if (this.timer !== undefined) return;
    let busy = false;
    this.timer = setInterval(() => {
      // A look slower than the period (a slow database) is not queued behind: one at a time.
      if (busy) return;
      busy = true;
      this.looking = this.look().finally(() => {
        busy = false;
      });
    }, this.o.everyMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.looking;
  }

  /** A stream of this process watches `recipient`'s inbox from now; the answer ends the watch (once). */
  watch(recipient: string): () => void {
    let w = this.watched.get(recipient);
    if (w === undefined) {
      w = { streams: 0, after: 0, since: this.now() - (this.o.overlapMs ?? 3_000), own: new Set() };
      this.watched.set(recipient, w);
    }
    w.streams += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const now = this.watched.get(recipient);
      if (now === undefined) return;
      now.streams -= 1;
      if (now.streams === 0) this.watched.delete(recipient);
    };
  }

  /** Inboxes watched now. */
  get watching(): number {
    return this.watched.size;
  }

  /** This process stored `message` in `recipient`'s inbox (committed): tells it, unless a look did. */
  stored(recipient: string, message: StoredMessage): void {
    const w = this.watched.get(recipient);
    if (w !== undefined) {
      const seq = Number(message.id);
      if (seq <= w.after) return;
      w.own.add(seq);
      if (w.own.size > OWN_MAX) w.own.delete(w.own.values().next().value!);
    }
    this.o.publish(recipient, message);
  }

  /** One look: tells the messages other processes stored in the watched inboxes. Never throws. */
  async look(): Promise<void> {
    const page = this.o.page ?? FOLLOW_PAGE;
    try {
      for (let i = 0; i < PAGES_PER_LOOK; i++) {
        if ((await this.lookOnce(page)) < page) break;
      }
    } catch (err) {
      this.o.log?.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'mailbox follower: look failed; the next look reads on',
      );
    }
  }

  /** One statement of a look: tells what it read; answers how many rows it read. */
  private async lookOnce(page: number): Promise<number> {
    if (this.watched.size === 0) return 0;
    // The inboxes as asked: one unwatched, or watched anew, meanwhile is left to the next look.
    const asked = new Map(this.watched);
    const cursors: InboxCursor[] = [...asked].map(([recipient, w]) => ({
      recipient,
      after: w.after,
      since: w.since,
    }));
    const current = (recipient: string) => {
      const w = this.watched.get(recipient);
      return w !== undefined && w === asked.get(recipient) ? w : undefined;
    };
    const { messages: rows, tops } = await this.o.store.transaction((trx) =>
      messagesAfter(trx, cursors, page),
    );
    for (const row of rows) {
      const w = current(row.recipient);
      if (w === undefined || row.seq <= w.after) continue;
      w.after = row.seq;
      w.since = 0;
      if (w.own.delete(row.seq) || !row.pending) continue;
      let envelope: StoredMessage['envelope'];
      try {
        envelope = JSON.parse(row.envelope) as StoredMessage['envelope'];
      } catch {
        continue; // stored by the mailbox from checked input: not expected; the next drain answers it
      }
      this.o.publish(row.recipient, { id: String(row.seq), envelope });
    }
    // Not cut by the page: every message of those inboxes created since their watch began was read,
    // and every message up to their top was visible to the statement, so their cursor is the top
    // (an inbox watched anew and quiet is read from then on by one probe, not from `since`).
    if (rows.length < page) {
      for (const [recipient, top] of tops) {
        const w = current(recipient);
        if (w === undefined) continue;
        w.after = Math.max(w.after, top);
        w.since = 0;
      }
    }
    for (const w of this.watched.values()) {
      for (const seq of w.own) if (seq <= w.after) w.own.delete(seq);
    }
    return rows.length;
  }
}
