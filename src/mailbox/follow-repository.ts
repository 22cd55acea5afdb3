/**
 * The SQL of the live events' follower (`follow.ts`), and only SQL: the messages stored in the watched
 * inboxes since each one's cursor, read in one statement for every inbox at once. PostgreSQL only: the
 * follower runs where several processes share one mailbox (a SQLite mailbox is one process's).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.js';

/** Where a look starts in one inbox: after its sequence number `after`, and no older than `since` (unix ms). */
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

/**
 * The messages of the inboxes of `cursors`, each after its cursor's `seq` and created at `since` or
 * later, by inbox and sequence, at most `limit`. Three array parameters whatever the number of inboxes
 * (one statement shape, within PostgreSQL's parameter limit); each inbox is read on the primary key
 * (`recipient`, `seq`) from its cursor on. Tombstones are answered too (their envelope emptied), so a
 * cursor passes them.
 */
export async function messagesAfter(
  db: Kysely<Database>,
  cursors: readonly InboxCursor[],
  limit: number,
): Promise<FollowedMessage[]> {
  const { rows } = await sql<{
    recipient: string;
    seq: string | number;
    acked_at: string | number;
    envelope: string;
  }>`
    select m.recipient, m.seq, m.acked_at, m.envelope
    from unnest(
      cast(${cursors.map((c) => c.recipient)} as text[]),
      cast(${cursors.map((c) => c.after)} as bigint[]),
      cast(${cursors.map((c) => c.since)} as bigint[])
    ) as w (recipient, after_seq, since)
    join mailbox_messages m on m.recipient = w.recipient and m.seq > w.after_seq and m.created_at >= w.since
    order by m.recipient, m.seq
    limit ${limit}`.execute(db);
  return rows.map((r) => ({
    recipient: r.recipient,
    seq: Number(r.seq),
    pending: Number(r.acked_at) === 0,
    envelope: r.envelope,
  }));
}
