/**
 * The mailbox's SQL, and only SQL: inbox counters (`mailbox_inboxes`), stored envelopes
 * (`mailbox_messages`), used drain nonces (`mailbox_nonces`), and the quotas' counters per depositor
 * (`mailbox_depositors`) and across every inbox (`mailbox_totals`). Every function takes the
 * transaction it runs in; the service decides what runs together. Locks are taken in one order
 * everywhere (messages, inbox, depositors sorted, totals), so transactions never wait in a circle.
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

/** The id of these exact bytes already stored (pending or acked) for this sender and transfer id, if any. */
export async function findContent(
  db: Db,
  recipient: string,
  sender: string,
  transferId: string,
  digest: string,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('mailbox_messages')
    .select('seq')
    .where('recipient', '=', recipient)
    .where('sender', '=', sender)
    .where('transfer_id', '=', transferId)
    .where('digest', '=', digest)
    .executeTakeFirst();
  return row?.seq;
}

export async function insertMessage(db: Db, m: NewMessage): Promise<void> {
  await db
    .insertInto('mailbox_messages')
    .values({ ...m, acked_at: 0 })
    .execute();
}

/** What leaving messages freed: in all, and per depositor ('' not counted per depositor). */
export interface Freed {
  messages: number;
  bytes: number;
  byDepositor: Map<string, { messages: number; bytes: number }>;
}

function freedOf(rows: readonly { size: number; depositor: string }[]): Freed {
  const freed: Freed = { messages: 0, bytes: 0, byDepositor: new Map() };
  for (const r of rows) {
    freed.messages++;
    freed.bytes += r.size;
    if (r.depositor === '') continue;
    const d = freed.byDepositor.get(r.depositor) ?? { messages: 0, bytes: 0 };
    d.messages++;
    d.bytes += r.size;
    freed.byDepositor.set(r.depositor, d);
  }
  return freed;
}

/**
 * Turns the pending messages among `seqs` into tombstones (envelope emptied, `acked_at` set) and
 * returns what was freed. Ids already acked or unknown are skipped, so the same ack sent twice frees
 * nothing the second time.
 */
export async function ackMessages(
  db: Db,
  recipient: string,
  seqs: readonly number[],
  now: number,
): Promise<Freed> {
  if (seqs.length === 0) return freedOf([]);
  const rows = await db
    .updateTable('mailbox_messages')
    .set({ envelope: '', acked_at: now })
    .where('recipient', '=', recipient)
    .where('seq', 'in', [...seqs])
    .where('acked_at', '=', 0)
    .returning(['size', 'depositor'])
    .execute();
  return freedOf(rows);
}

/** Deletes the pending messages among `seqs` (expired); those acked meanwhile are skipped. */
export async function deletePending(db: Db, recipient: string, seqs: readonly number[]): Promise<Freed> {
  if (seqs.length === 0) return freedOf([]);
  const rows = await db
    .deleteFrom('mailbox_messages')
    .where('recipient', '=', recipient)
    .where('seq', 'in', [...seqs])
    .where('acked_at', '=', 0)
    .returning(['size', 'depositor'])
    .execute();
  return freedOf(rows);
}

/** Pending messages created before `before` (unix ms), oldest first, at most `limit`. */
export async function expiredMessages(
  db: Db,
  before: number,
  limit: number,
): Promise<{ recipient: string; seq: number }[]> {
  return db
    .selectFrom('mailbox_messages')
    .select(['recipient', 'seq'])
    .where('acked_at', '=', 0)
    .where('created_at', '<', before)
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/**
 * Takes a deposit's share of a depositor's quota: adds one message of `size` bytes to its counters
 * unless that passes `max`; false (nothing changed) when it would. One statement, so on PostgreSQL
 * the row's lock makes concurrent deposits of one depositor see each other.
 */
export async function takeDepositorShare(
  db: Db,
  depositor: string,
  size: number,
  max: { messages: number; bytes: number },
): Promise<boolean> {
  if (size > max.bytes) return false;
  const r = await db
    .insertInto('mailbox_depositors')
    .values({ depositor, messages: 1, bytes: size })
    .onConflict((oc) =>
      oc
        .column('depositor')
        .doUpdateSet((eb) => ({
          messages: eb('mailbox_depositors.messages', '+', 1),
          bytes: eb('mailbox_depositors.bytes', '+', size),
        }))
        .where((eb) =>
          eb.and([
            eb(eb('mailbox_depositors.messages', '+', 1), '<=', max.messages),
            eb(eb('mailbox_depositors.bytes', '+', size), '<=', max.bytes),
          ]),
        ),
    )
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Pending messages and bytes of one depositor in one inbox. */
export async function pendingOf(
  db: Db,
  recipient: string,
  depositor: string,
): Promise<{ messages: number; bytes: number }> {
  const row = await db
    .selectFrom('mailbox_messages')
    .select((eb) => [eb.fn.countAll<number>().as('messages'), eb.fn.sum<number>('size').as('bytes')])
    .where('recipient', '=', recipient)
    .where('depositor', '=', depositor)
    .where('acked_at', '=', 0)
    .executeTakeFirstOrThrow();
  // count and sum come back as text or bigint on PostgreSQL, and sum of nothing is NULL.
  return { messages: Number(row.messages), bytes: Number(row.bytes ?? 0) };
}

/** The counters of a depositor (zero when it has none). */
export async function depositorCounters(
  db: Db,
  depositor: string,
): Promise<{ messages: number; bytes: number }> {
  const row = await db
    .selectFrom('mailbox_depositors')
    .select(['messages', 'bytes'])
    .where('depositor', '=', depositor)
    .executeTakeFirst();
  return row ?? { messages: 0, bytes: 0 };
}

/** Gives back what left (acked, expired) to each depositor's counters, in key order; deletes rows at zero. */
export async function releaseDepositors(db: Db, freed: Freed): Promise<void> {
  for (const depositor of [...freed.byDepositor.keys()].sort()) {
    const d = freed.byDepositor.get(depositor)!;
    await db
      .updateTable('mailbox_depositors')
      .set((eb) => ({ messages: eb('messages', '-', d.messages), bytes: eb('bytes', '-', d.bytes) }))
      .where('depositor', '=', depositor)
      .execute();
    // A depositor with nothing pending needs no row: random IPs must not leave rows behind.
    await db
      .deleteFrom('mailbox_depositors')
      .where('depositor', '=', depositor)
      .where('messages', '<=', 0)
      .execute();
  }
}

/**
 * Takes a deposit's share of the mailbox's total quota unless that passes `max`; false (nothing
 * changed) when it would. The deposit's last statement: the one row's lock is held only until commit.
 */
export async function takeTotalShare(
  db: Db,
  size: number,
  max: { messages: number; bytes: number },
): Promise<boolean> {
  const r = await db
    .updateTable('mailbox_totals')
    .set((eb) => ({ messages: eb('messages', '+', 1), bytes: eb('bytes', '+', size) }))
    .where('id', '=', 1)
    .where((eb) => eb(eb('messages', '+', 1), '<=', max.messages))
    .where((eb) => eb(eb('bytes', '+', size), '<=', max.bytes))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function totals(db: Db): Promise<{ messages: number; bytes: number }> {
  return db
    .selectFrom('mailbox_totals')
    .select(['messages', 'bytes'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
}

/** Adds `messages` and `bytes` (negative to take away) to the totals row. */
export async function addToTotals(db: Db, messages: number, bytes: number): Promise<void> {
  if (messages === 0 && bytes === 0) return;
  await db
    .updateTable('mailbox_totals')
    .set((eb) => ({ messages: eb('messages', '+', messages), bytes: eb('bytes', '+', bytes) }))
    .where('id', '=', 1)
    .execute();
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

/** Forgets at most `limit` nonces (of any owner) used before `before` (unix ms); answers how many. */
export async function pruneNonces(db: Db, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('mailbox_nonces')
    .where((eb) =>
      eb(
        eb.refTuple('owner', 'nonce'),
        'in',
        eb
          .selectFrom('mailbox_nonces')
          .select(['owner', 'nonce'])
          .where('created_at', '<', before)
          .limit(limit)
          .$asTuple('owner', 'nonce'),
      ),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Forgets at most `limit` tombstones (of any inbox) acked before `before` (unix ms); answers how many. */
export async function pruneTombstones(db: Db, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('mailbox_messages')
    .where((eb) =>
      eb(
        eb.refTuple('recipient', 'seq'),
        'in',
        eb
          .selectFrom('mailbox_messages')
          .select(['recipient', 'seq'])
          .where('acked_at', '>', 0)
          .where('acked_at', '<', before)
          .limit(limit)
          .$asTuple('recipient', 'seq'),
      ),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
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
