/**
 * The SQL of the live events' follower (`follow.ts`), and only SQL: the messages stored in the watched
 * inboxes since each one's cursor, read in one statement for every inbox at once. PostgreSQL only: the
 * follower runs where several processes share one mailbox (a SQLite mailbox is one process's).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * Where a look starts in one inbox: after its sequence number `after`, and no older than `since` (unix
 * ms; 0 once the inbox has a cursor).
 */
export interface InboxCursor {
  recipient: string;
  after: number;
  since: number;
}

/** A message row as the follower reads it; `pending` false for a tombstone (acked: nothing to tell). */
export interface FollowedMessage {
  recipient: string;
  seq: number;
  pending: boolean;
  envelope: string;
}

/** What one look read. */
export interface Followed {
  /** The messages after the cursors, by inbox and sequence number, at most `limit`. */
  messages: FollowedMessage[];
  /**
   * For each inbox of a cursor with a `since`: its highest sequence number in the statement's
   * snapshot (0: none), every message up to which was visible to the same statement.
   */
  tops: Map<string, number>;
}

/**
 * The messages of the inboxes of `cursors`, each after its cursor's `after` and created at `since` or
 * later, by inbox and sequence number, at most `limit`; and, for the cursors with a `since`, their
 * inbox's highest sequence number, in the same statement (one snapshot). Three array parameters
 * whatever the number of inboxes (one statement shape, within PostgreSQL's parameter limit); each inbox
 * is read by its own probe of the primary key (`recipient`, `seq`) from its cursor on (a lateral
 * subquery, so the planner never scans an inbox's older rows nor the table), at most `limit` rows each.
 * Tombstones are answered too (their envelope emptied), so a cursor passes them.
 *
 * `trx` must be a transaction: the statement turns JIT compilation off for it (`set local`). The
 * planner prices each inbox's probe at what a scan of a hundred rows would cost (a range on a value
 * it cannot see), so a hundred inboxes watched pass `jit_above_cost` and PostgreSQL compiled the
 * statement every look: 20 ms of compiling for 0.6 ms of probes, measured at 10^6 rows.
 */
export async function messagesAfter(
  trx: Kysely<Database>,
  cursors: readonly InboxCursor[],
  limit: number,
): Promise<Followed> {
  await sql`set local jit = off`.execute(trx);
  const { rows } = await sql<{
    recipient: string;
    seq: string | number | null;
    acked_at: string | number;
    envelope: string;
    top: boolean;
  }>`
    with w as (
      select u.recipient, u.after_seq, u.since
      from unnest(
        cast(${cursors.map((c) => c.recipient)} as text[]),
        cast(${cursors.map((c) => c.after)} as bigint[]),
        cast(${cursors.map((c) => c.since)} as bigint[])
      ) as u (recipient, after_seq, since)
    ),
    news as (
      select m.recipient, m.seq, m.acked_at, m.envelope
      from w cross join lateral (
        select x.recipient, x.seq, x.acked_at, x.envelope
        from mailbox_messages x
        where x.recipient = w.recipient and x.seq > w.after_seq and x.created_at >= w.since
        order by x.seq
        limit ${limit}
      ) m
      order by m.recipient, m.seq
      limit ${limit}
    )
    select recipient, seq, acked_at, envelope, false as top from news
    union all
    select w.recipient,
      (select max(x.seq) from mailbox_messages x where x.recipient = w.recipient), 0, '', true
    from w
    where w.since > 0`.execute(trx);
  const messages: FollowedMessage[] = [];
  const tops = new Map<string, number>();
  for (const r of rows) {
    if (r.top) tops.set(r.recipient, Number(r.seq ?? 0));
    else {
      messages.push({
        recipient: r.recipient,
        seq: Number(r.seq),
        pending: Number(r.acked_at) === 0,
        envelope: r.envelope,
      });
    }
  }
  return { messages, tops };
}
