/**
 * The mailbox's SQL, and only SQL: inbox counters (`mailbox_inboxes`), stored envelopes
 * (`mailbox_messages`), used drain nonces (`mailbox_nonces`), and the quotas' counters per depositor
 * (`mailbox_depositors`) and across every inbox (`mailbox_totals`). Every function takes the
 * transaction it runs in; the service decides what runs together. Locks are taken in one order
 * everywhere (messages, inbox, depositors sorted, totals shards sorted), so transactions never wait
 * in a circle (a deposit holds at most one shard, and a shard that refuses it stays unlocked).
 * The statements of every deposit and drain are compiled once (`reusable`): none is built per call.
 * The server's plain deposit is one statement on PostgreSQL (`depositInOne`, migration 034's function:
 * the inbox's slot, then `storeIfNew`'s data-modifying CTE, outside any transaction block), any other a
 * transaction of those two statements; four on SQLite (three for the server's own), where each
 * statement is a call in this process.
 */
import { CompiledQuery, type Kysely, sql } from 'kysely';
import { fail } from '../core/errors.js';
import { retryingConflicts, sqlState } from '../store/retry.js';
import { reusable, runsDataModifyingCtes } from '../store/reusable.js';
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
 * Counts one more message of `size` bytes in an inbox (creating its row if absent) and answers the
 * counters after it, `last_seq` being the new message's id. One statement that writes the row, so
 * this transaction holds its lock until it ends: deposits to one inbox queue here on PostgreSQL
 * (SQLite's BEGIN IMMEDIATE already queues every writer), which keeps the limits exact across
 * processes. The caller checks the limits on the answer and throws (rolls back) when one is passed;
 * a duplicate gives the message back with `unreserveInboxSlot`.
 */
export async function reserveInboxSlot(db: Db, recipient: string, size: number): Promise<InboxCounters> {
  const [row] = await inboxSlot(db, recipient, size);
  if (row === undefined) fail('Internal', { reason: `mailbox: the inbox upsert answered no row` });
  return row;
}

const inboxSlot = reusable((db, recipient: string, size: number) =>
  db
    .insertInto('mailbox_inboxes')
    .values({ recipient, messages: 1, bytes: size, last_seq: 1 })
    .onConflict((oc) =>
      oc.column('recipient').doUpdateSet((eb) => ({
        messages: eb('mailbox_inboxes.messages', '+', 1),
        bytes: eb('mailbox_inboxes.bytes', '+', size),
        last_seq: eb('mailbox_inboxes.last_seq', '+', 1),
      })),
    )
    .returning(['messages', 'bytes', 'last_seq']),
);

/** Undoes `reserveInboxSlot` in the same transaction (the id was never given out, so it is reused). */
export async function unreserveInboxSlot(db: Db, recipient: string, size: number): Promise<void> {
  await db
    .updateTable('mailbox_inboxes')
    .set((eb) => ({
      messages: eb('messages', '-', 1),
      bytes: eb('bytes', '-', size),
      last_seq: eb('last_seq', '-', 1),
    }))
    .where('recipient', '=', recipient)
    .execute();
}

/** Adds `messages` and `bytes` (negative to take away) to an inbox's counters. */
export async function addToInbox(db: Db, recipient: string, messages: number, bytes: number): Promise<void> {
  await inboxAdd(db, messages, bytes, recipient);
}

const inboxAdd = reusable((db, messages: number, bytes: number, recipient: string) =>
  db
    .updateTable('mailbox_inboxes')
    .set((eb) => ({
      messages: eb('messages', '+', messages),
      bytes: eb('bytes', '+', bytes),
    }))
    .where('recipient', '=', recipient),
);

/** The id of these exact bytes already stored (pending or acked) for this sender and transfer id, if any. */
export async function findContent(
  db: Db,
  recipient: string,
  sender: string,
  transferId: string,
  digest: string,
): Promise<number | undefined> {
  return (await contentSeq(db, recipient, sender, transferId, digest))[0]?.seq;
}

const contentSeq = reusable((db, recipient: string, sender: string, transferId: string, digest: string) =>
  db
    .selectFrom('mailbox_messages')
    .select('seq')
    .where('recipient', '=', recipient)
    .where('sender', '=', sender)
    .where('transfer_id', '=', transferId)
    .where('digest', '=', digest),
);

/** Records which totals shard a message was charged to, so its release gives back to that one. */
export async function chargeShard(db: Db, recipient: string, seq: number, shard: number): Promise<void> {
  await db
    .updateTable('mailbox_messages')
    .set({ shard })
    .where('recipient', '=', recipient)
    .where('seq', '=', seq)
    .execute();
}

/** What `storeIfNew` did with a message. */
export type StoreOutcome =
  /** These bytes are stored already (pending or acked): nothing written. */
  | 'duplicate'
  /** Stored, but the depositor's share refused it: the caller refuses, rolling the message back. */
  | 'depositor'
  /** Stored and counted to its depositor, but its totals shard (`m.shard`) had no room: try others. */
  | 'shard'
  /** Stored and counted in its depositor's share and in its totals shard. */
  | 'stored';

/**
 * The rest of a deposit after `reserveInboxSlot`, when the inbox's counters passed its limits: unless
 * the same bytes are stored already, stores `m`, takes its share of `m.depositor`'s quota (not for
 * the server's own deposits, depositor '') unless that passes `depositorMax`, then its share of the
 * totals in shard `m.shard` unless that passes `shardMax`; each step only when the one before it
 * succeeded. Call it with the inbox's lock held (`reserveInboxSlot` in the same transaction): that
 * makes a concurrent copy of the same bytes visible to the look for them (the content key would
 * refuse a second copy anyway).
 *
 * On PostgreSQL ONE statement (a data-modifying CTE, one round trip for four). Its locks come in the
 * mailbox's order: the look for the bytes takes none, the new row's keys are this inbox's next
 * sequence number (unique under the inbox's lock, so the insert waits on nobody: in particular not
 * on a drain acking a stored copy of these bytes, which holds that row and then waits for the inbox
 * this deposit holds), then the depositor's row, then the totals shard, whose update reads the
 * depositor's upsert in its `WHERE` and so runs after it. On SQLite the same steps as statements
 * (the look for the bytes rides in the insert).
 */
export async function storeIfNew(
  db: Db,
  m: NewMessage,
  depositorMax: Counts,
  shardMax: Counts,
): Promise<StoreOutcome> {
  if (runsDataModifyingCtes(db)) {
    const [row] = await foldedStore(
      db,
      ...messageArgs(m),
      depositorMax.messages,
      depositorMax.bytes,
      shardMax.messages,
      shardMax.bytes,
    );
    if (row === undefined) fail('Internal', { reason: 'mailbox: the deposit statement answered no row' });
    if (!row.stored) return 'duplicate';
    if (!row.counted) return 'depositor';
    return row.charged ? 'stored' : 'shard';
  }
  const stored = await messageInsertIfNew(db, ...messageArgs(m));
  if (stored.length === 0) return 'duplicate';
  if (m.depositor !== '' && !(await takeDepositorShare(db, m.depositor, m.size, depositorMax))) {
    return 'depositor';
  }
  if (shardMax.messages < 1 || m.size > shardMax.bytes) return 'shard';
  const charged = await totalShare(db, m.size, m.shard, shardMax.messages, shardMax.bytes);
  return charged.length === 1 ? 'stored' : 'shard';
}

/**
 * The plain deposit (PostgreSQL, migration 034): `reserveInboxSlot` and `storeIfNew` as ONE statement.
 * Outside any transaction block (`inTransaction` false) the inbox's row is held for that statement and
 * its commit only, and a deadlock runs it again, as `Store.transaction` would run its transaction
 * again. Inside the caller's transaction (`inTransaction`: a deposit sharing a commit, one round trip
 * instead of two) it runs once: the transaction retries. Answers the new message's sequence number, 0
 * for a duplicate (nothing kept), or undefined when the deposit is not plain (the counters with it
 * counted pass `plainMax`, or the depositor's or the shard's room is short): nothing changed, and the
 * caller runs the deposit as the statements of `insert`, which give the refusals; inside a
 * transaction, in another one (the function's refusal aborted this one). `m.seq` is not read (the
 * inbox's next number is the message's).
 */
export async function depositInOne(
  db: Db,
  m: NewMessage,
  plainMax: Counts,
  depositorMax: Counts,
  shardMax: Counts,
  inTransaction = false,
): Promise<number | undefined> {
  // The message's columns as the insert takes them, but its seq: the function numbers it from the inbox.
  const [recipient, _seq, ...columns] = messageArgs(m);
  const q = CompiledQuery.raw(DEPOSIT_IN_ONE, [
    recipient,
    ...columns,
    plainMax.messages,
    plainMax.bytes,
    depositorMax.messages,
    depositorMax.bytes,
    shardMax.messages,
    shardMax.bytes,
  ]);
  const run = async () => (await db.executeQuery<{ seq: string | number }>(q)).rows;
  try {
    const [row] = inTransaction ? await run() : await retryingConflicts(run);
    if (row === undefined) fail('Internal', { reason: 'mailbox: the deposit function answered no row' });
    return Number(row.seq);
  } catch (e) {
    if (sqlState(e) === NOT_PLAIN) return undefined;
    throw e;
  }
}

const DEPOSIT_IN_ONE =
  'select lancash_mailbox_deposit($1::text, $2::text, $3::text, $4::text, $5::text, $6::integer, $7::text, ' +
  '$8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::bigint, $15::bigint) as seq';
/** `lancash_mailbox_deposit`'s "not a plain deposit" (migration 034): it changed nothing. */
const NOT_PLAIN = 'LM001';

/** A new message's columns in the order `foldedStore`, `messageInsertIfNew` and `depositInOne` take them. */
function messageArgs(m: NewMessage) {
  return [
    m.recipient,
    m.seq,
    m.sender,
    m.transfer_id,
    m.digest,
    m.depositor,
    m.shard,
    m.envelope,
    m.size,
    m.created_at,
  ] as const;
}

/** SQLite: the message stored unless these bytes are (the look and the insert in one statement). */
const messageInsertIfNew = reusable(
  (
    db,
    recipient: string,
    seq: number,
    sender: string,
    transferId: string,
    digest: string,
    depositor: string,
    shard: number,
    envelope: string,
    size: number,
    createdAt: number,
  ) => ({
    compile: () =>
      sql<{ seq: number }>`insert into mailbox_messages
          (recipient, seq, sender, transfer_id, digest, depositor, shard, envelope, size, created_at, acked_at)
        select ${recipient}, ${seq}, ${sender}, ${transferId}, ${digest}, ${depositor}, ${shard}, ${envelope},
          ${size}, ${createdAt}, 0
        where not exists (select 1 from mailbox_messages where recipient = ${recipient} and sender = ${sender}
          and transfer_id = ${transferId} and digest = ${digest})
        returning seq`.compile(db),
  }),
);

/**
 * PostgreSQL: `storeIfNew` as one statement. Every value is cast: in `select … where` and `exists`
 * PostgreSQL cannot infer a parameter's type from a column. A depositor's first row holds this one
 * message, so only its bytes can pass the bytes limit; later rows are checked in the upsert's `WHERE`
 * under the row's lock (as `takeDepositorShare`).
 */
const foldedStore = reusable(
  (
    db,
    recipient: string,
    seq: number,
    sender: string,
    transferId: string,
    digest: string,
    depositor: string,
    shard: number,
    envelope: string,
    size: number,
    createdAt: number,
    depositorMaxMessages: number,
    depositorMaxBytes: number,
    shardMaxMessages: number,
    shardMaxBytes: number,
  ) => ({
    compile: () =>
      sql<{ stored: boolean; counted: boolean; charged: boolean }>`with
        seen as (select 1 from mailbox_messages where recipient = cast(${recipient} as text)
          and sender = cast(${sender} as text) and transfer_id = cast(${transferId} as text)
          and digest = cast(${digest} as text)),
        msg as (insert into mailbox_messages
            (recipient, seq, sender, transfer_id, digest, depositor, shard, envelope, size, created_at, acked_at)
          select cast(${recipient} as text), cast(${seq} as bigint), cast(${sender} as text),
            cast(${transferId} as text), cast(${digest} as text), cast(${depositor} as text),
            cast(${shard} as integer), cast(${envelope} as text), cast(${size} as bigint),
            cast(${createdAt} as bigint), 0
          where not exists (select 1 from seen)
          returning seq),
        dep as (insert into mailbox_depositors (depositor, messages, bytes)
          select cast(${depositor} as text), 1, cast(${size} as bigint) from msg
          where cast(${depositor} as text) <> '' and cast(${size} as bigint) <= cast(${depositorMaxBytes} as bigint)
          on conflict (depositor) do update set messages = mailbox_depositors.messages + 1,
            bytes = mailbox_depositors.bytes + excluded.bytes
          where mailbox_depositors.messages + 1 <= cast(${depositorMaxMessages} as bigint)
            and mailbox_depositors.bytes + excluded.bytes <= cast(${depositorMaxBytes} as bigint)
          returning 1),
        tot as (update mailbox_totals set messages = messages + 1, bytes = bytes + cast(${size} as bigint)
          where id = cast(${shard} as integer)
            and messages + 1 <= cast(${shardMaxMessages} as bigint)
            and bytes + cast(${size} as bigint) <= cast(${shardMaxBytes} as bigint)
            and exists (select 1 from msg)
            and (cast(${depositor} as text) = '' or exists (select 1 from dep))
          returning 1)
      select exists (select 1 from msg) as stored,
        (cast(${depositor} as text) = '' or exists (select 1 from dep)) as counted,
        exists (select 1 from tot) as charged`.compile(db),
  }),
);

/** Rows of `mailbox_totals` (ids 0 … TOTAL_SHARDS − 1); migration 007 creates them. */
export const TOTAL_SHARDS = 64;

export interface Counts {
  messages: number;
  bytes: number;
}

/** What leaving messages freed: in all, per depositor ('' is not counted per depositor) and per totals shard. */
export interface Freed extends Counts {
  byDepositor: Map<string, Counts>;
  byShard: Map<number, Counts>;
}

export function noneFreed(): Freed {
  return { messages: 0, bytes: 0, byDepositor: new Map(), byShard: new Map() };
}

function add<K>(map: Map<K, Counts>, key: K, messages: number, bytes: number): void {
  const c = map.get(key) ?? { messages: 0, bytes: 0 };
  map.set(key, { messages: c.messages + messages, bytes: c.bytes + bytes });
}

/** Adds `more` into `into`. */
export function addFreed(into: Freed, more: Freed): void {
  into.messages += more.messages;
  into.bytes += more.bytes;
  for (const [d, c] of more.byDepositor) add(into.byDepositor, d, c.messages, c.bytes);
  for (const [k, c] of more.byShard) add(into.byShard, k, c.messages, c.bytes);
}

function freedOf(rows: readonly { size: number; depositor: string; shard: number }[]): Freed {
  const freed = noneFreed();
  for (const r of rows) {
    freed.messages++;
    freed.bytes += r.size;
    add(freed.byShard, Number(r.shard), 1, r.size);
    if (r.depositor !== '') add(freed.byDepositor, r.depositor, 1, r.size);
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
  if (seqs.length === 0) return noneFreed();
  // One id (a drain after each delivery, the usual case) by a statement compiled once.
  if (seqs.length === 1) return freedOf(await ackOne(db, now, recipient, seqs[0]!));
  const rows = await db
    .updateTable('mailbox_messages')
    .set({ envelope: '', acked_at: now })
    .where('recipient', '=', recipient)
    .where('seq', 'in', [...seqs])
    .where('acked_at', '=', 0)
    .returning(['size', 'depositor', 'shard'])
    .execute();
  return freedOf(rows);
}

const ackOne = reusable((db, now: number, recipient: string, seq: number) =>
  db
    .updateTable('mailbox_messages')
    .set({ envelope: '', acked_at: now })
    .where('recipient', '=', recipient)
    .where('seq', '=', seq)
    .where('acked_at', '=', 0)
    .returning(['size', 'depositor', 'shard']),
);

/** Deletes the pending messages among `seqs` (expired); those acked meanwhile are skipped. */
export async function deletePending(db: Db, recipient: string, seqs: readonly number[]): Promise<Freed> {
  if (seqs.length === 0) return noneFreed();
  const rows = await db
    .deleteFrom('mailbox_messages')
    .where('recipient', '=', recipient)
    .where('seq', 'in', [...seqs])
    .where('acked_at', '=', 0)
    .returning(['size', 'depositor', 'shard'])
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
  return (await depositorShare(db, depositor, size, max.messages, max.bytes)).length === 1;
}

const depositorShare = reusable(
  (db, depositor: string, size: number, maxMessages: number, maxBytes: number) =>
    db
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
              eb(eb('mailbox_depositors.messages', '+', 1), '<=', maxMessages),
              eb(eb('mailbox_depositors.bytes', '+', size), '<=', maxBytes),
            ]),
          ),
      )
      .returning('depositor'),
);

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
    const [left] = await depositorRelease(db, d.messages, d.bytes, depositor);
    // A depositor with nothing pending needs no row: random IPs must not leave rows behind.
    if (left !== undefined && left.messages <= 0) await depositorGone(db, depositor);
  }
}

const depositorRelease = reusable((db, messages: number, bytes: number, depositor: string) =>
  db
    .updateTable('mailbox_depositors')
    .set((eb) => ({ messages: eb('messages', '-', messages), bytes: eb('bytes', '-', bytes) }))
    .where('depositor', '=', depositor)
    .returning('messages'),
);

const depositorGone = reusable((db, depositor: string) =>
  db.deleteFrom('mailbox_depositors').where('depositor', '=', depositor).where('messages', '<=', 0),
);

/**
 * The total quota is kept in TOTAL_SHARDS rows, each with its part of the limits (`shareOf`), so
 * concurrent deposits lock different rows: one row would make every deposit on PostgreSQL wait for
 * the one before it to commit. The parts add up to the limits exactly, so the sum never passes them.
 */
export function shareOf(shard: number, max: Counts): Counts {
  const part = (n: number) => Math.floor(n / TOTAL_SHARDS) + (shard < n % TOTAL_SHARDS ? 1 : 0);
  return { messages: part(max.messages), bytes: part(max.bytes) };
}

/**
 * Takes a deposit's share of the total quota in one shard, trying each from `first` on (after it,
 * when `firstRefused`: `storeIfNew` tried it), and answers the shard it was charged to; undefined
 * (nothing changed) when no shard has room. Each try is one
 * conditional statement, evaluated under the row's lock; a shard that refuses is not left locked.
 * After the first refusal one read of the sum stops the search when the whole quota is used.
 * The deposit's last statements, so the lock is held only until commit.
 */
export async function takeTotalShare(
  db: Db,
  first: number,
  size: number,
  max: Counts,
  firstRefused = false,
): Promise<number | undefined> {
  for (let i = 0; i < TOTAL_SHARDS; i++) {
    const shard = (first + i) % TOTAL_SHARDS;
    const cap = shareOf(shard, max);
    if (cap.messages < 1 || size > cap.bytes) continue;
    const tried = i === 0 && firstRefused;
    if (!tried && (await totalShare(db, size, shard, cap.messages, cap.bytes)).length === 1) return shard;
    if (i === 0) {
      // When the mailbox is full (an attack), refuse after one read instead of trying every shard.
      const sum = await totals(db);
      if (sum.messages + 1 > max.messages || sum.bytes + size > max.bytes) return undefined;
    }
  }
  return undefined;
}

const totalShare = reusable((db, size: number, shard: number, maxMessages: number, maxBytes: number) =>
  db
    .updateTable('mailbox_totals')
    .set((eb) => ({ messages: eb('messages', '+', 1), bytes: eb('bytes', '+', size) }))
    .where('id', '=', shard)
    .where((eb) => eb(eb('messages', '+', 1), '<=', maxMessages))
    .where((eb) => eb(eb('bytes', '+', size), '<=', maxBytes))
    .returning('id'),
);

/** Pending messages and bytes across every inbox (the shards' sum). */
export async function totals(db: Db): Promise<Counts> {
  const rows = await db.selectFrom('mailbox_totals').select(['messages', 'bytes']).execute();
  return rows.reduce((t, r) => ({ messages: t.messages + r.messages, bytes: t.bytes + r.bytes }), {
    messages: 0,
    bytes: 0,
  });
}

/** Gives back what left (acked, expired) to the totals shards it was charged to, in key order. */
export async function releaseTotals(db: Db, freed: Freed): Promise<void> {
  for (const shard of [...freed.byShard.keys()].sort((a, b) => a - b)) {
    const c = freed.byShard.get(shard)!;
    await totalsRelease(db, c.messages, c.bytes, shard);
  }
}

const totalsRelease = reusable((db, messages: number, bytes: number, shard: number) =>
  db
    .updateTable('mailbox_totals')
    .set((eb) => ({ messages: eb('messages', '-', messages), bytes: eb('bytes', '-', bytes) }))
    .where('id', '=', shard),
);

/** Pending messages of an inbox, oldest first, at most `limit`. */
export async function pendingMessages(db: Db, recipient: string, limit: number): Promise<PendingMessage[]> {
  return pending(db, recipient, limit);
}

const pending = reusable((db, recipient: string, limit: number) =>
  db
    .selectFrom('mailbox_messages')
    .select(['seq', 'envelope'])
    .where('recipient', '=', recipient)
    .where('acked_at', '=', 0)
    .orderBy('seq')
    .limit(limit),
);

/** Records a drain nonce; false when this owner used it before. */
export async function useNonce(db: Db, owner: string, nonce: string, now: number): Promise<boolean> {
  return (await nonceUse(db, owner, nonce, now)).length === 1;
}

const nonceUse = reusable((db, owner: string, nonce: string, now: number) =>
  db
    .insertInto('mailbox_nonces')
    .values({ owner, nonce, created_at: now })
    .onConflict((oc) => oc.columns(['owner', 'nonce']).doNothing())
    .returning('owner'),
);

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
  await oldNonces(db, owner, noncesBefore);
  await oldTombstones(db, owner, ackedBefore);
}

const oldNonces = reusable((db, owner: string, before: number) =>
  db.deleteFrom('mailbox_nonces').where('owner', '=', owner).where('created_at', '<', before),
);

const oldTombstones = reusable((db, owner: string, before: number) =>
  db
    .deleteFrom('mailbox_messages')
    .where('recipient', '=', owner)
    .where('acked_at', '>', 0)
    .where('acked_at', '<', before),
);
