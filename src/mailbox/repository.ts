/**
 * The mailbox's SQL, and only SQL: inbox counters (`mailbox_inboxes`), stored envelopes
 * (`mailbox_messages`) and used drain nonces (`mailbox_nonces`). Every function takes the
 * transaction it runs in; the service decides what runs together.
 */
import type { Kysely } from 'kysely';
import type { Database, MailboxInboxesTable, MailboxMessagesTable } from '../store/schema.js';

type Db = Kysely<Database>;

// Row shapes come from the schema (`store/schema.ts`), not from copies of it.
export type InboxCounters = Omit<MailboxInboxesTable, 'recipient'>;
/** A message as stored; `acked_at` starts at 0 (pending). */
export type NewMessage = Omit<MailboxMessagesTable, 'acked_at'>;

export interface PendingMessage {
  seq: number;
  envelope: string;
}

/**
 * Creates the inbox row if absent and, either way, writes it, so this transaction holds its row
 * lock until it ends: deposits to one inbox queue here on PostgreSQL (SQLite's BEGIN IMMEDIATE
 * already queues every writer), which is what keeps the limits exact across processes.
 */
export async function lockInbox(db: Db, recipient: string): Promise<InboxCounters> {
  await db
    .insertInto('mailbox_inboxes')
    .values({ recipient, messages: 0, bytes: 0, last_seq: 0 })
    .onConflict((oc) =>
      oc.column('recipient').doUpdateSet({ last_seq: (eb) => eb.ref('mailbox_inboxes.last_seq') }),
    )
    .execute();
  return db
    .selectFrom('mailbox_inboxes')
    .select(['messages', 'bytes', 'last_seq'])
    .where('recipient', '=', recipient)
    .executeTakeFirstOrThrow();
}

export async function setInboxCounters(db: Db, recipient: string, c: InboxCounters): Promise<void> {
  await db.updateTable('mailbox_inboxes').set(c).where('recipient', '=', recipient).execute();
}

/** Adds `messages` and `bytes` (negative to take away) to an inbox's counters. */
export async function addToInbox(db: Db, recipient: string, messages: number, bytes: number): Promise<void> {
  await db
    .updateTable('mailbox_inboxes')
    .set((eb) => ({
      messages: eb('messages', '+', messages),
      bytes: eb('bytes', '+', bytes),
    }))
    .where('recipient', '=', recipient)
    .execute();
}

/** The id of the envelope already stored (pending or acked) for this sender and transfer id, if any. */
export async function findTransfer(
  db: Db,
  recipient: string,
  sender: string,
  transferId: string,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('mailbox_messages')
    .select('seq')
    .where('recipient', '=', recipient)
    .where('sender', '=', sender)
    .where('transfer_id', '=', transferId)
    .executeTakeFirst();
  return row?.seq;
}

export async function insertMessage(db: Db, m: NewMessage): Promise<void> {
  await db
    .insertInto('mailbox_messages')
    .values({ ...m, acked_at: 0 })
    .execute();
}

/**
 * Turns the pending messages among `seqs` into tombstones (envelope emptied, `acked_at` set) and
 * returns how many and how many bytes were freed. Ids already acked or unknown are skipped, so
 * the same ack sent twice frees nothing the second time.
 */
export async function ackMessages(
  db: Db,
  recipient: string,
  seqs: readonly number[],
  now: number,
): Promise<{ messages: number; bytes: number }> {
  if (seqs.length === 0) return { messages: 0, bytes: 0 };
  const freed = await db
    .updateTable('mailbox_messages')
    .set({ envelope: '', acked_at: now })
    .where('recipient', '=', recipient)
    .where('seq', 'in', [...seqs])
    .where('acked_at', '=', 0)
    .returning('size')
    .execute();
  return { messages: freed.length, bytes: freed.reduce((sum, r) => sum + r.size, 0) };
}

/** Pending messages of an inbox, oldest first, at most `limit`. */
export async function pendingMessages(db: Db, recipient: string, limit: number): Promise<PendingMessage[]> {
  return db
    .selectFrom('mailbox_messages')
    .select(['seq', 'envelope'])
    .where('recipient', '=', recipient)
    .where('acked_at', '=', 0)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** Records a drain nonce; false when this owner used it before. */
export async function useNonce(db: Db, owner: string, nonce: string, now: number): Promise<boolean> {
  const r = await db
    .insertInto('mailbox_nonces')
    .values({ owner, nonce, created_at: now })
    .onConflict((oc) => oc.columns(['owner', 'nonce']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Forgets an owner's nonces and tombstones older than their cut-offs (unix ms). */
export async function prune(db: Db, owner: string, noncesBefore: number, ackedBefore: number): Promise<void> {
  await db
    .deleteFrom('mailbox_nonces')
    .where('owner', '=', owner)
    .where('created_at', '<', noncesBefore)
    .execute();
  await db
    .deleteFrom('mailbox_messages')
    .where('recipient', '=', owner)
    .where('acked_at', '>', 0)
    .where('acked_at', '<', ackedBefore)
    .execute();
}
