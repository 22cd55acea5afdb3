/**
 * Migration 007: the mailbox against strangers (issue 8, docs/mailbox.md).
 *   - Deposits are deduped by content: `(recipient, sender, transfer_id, digest)`, `digest` the sha256 of
 *     the envelope's canonical text, so junk that claims a sender's key and transfer id first can no
 *     longer make the sender's real envelope a "duplicate". SQLite cannot drop a table constraint, so
 *     `mailbox_messages` is rebuilt (both dialects, one path) and its rows copied with their digest.
 *   - `depositor` (client IP) per message, and counters per depositor and across every inbox
 *     (`mailbox_depositors`; `mailbox_totals` in 64 shards, `shard` per message saying which one it
 *     is counted in), so both quotas hold exactly.
 *   - An index on `(acked_at, created_at)` serves the sweep of expired messages and old tombstones,
 *     one on `(recipient, depositor, acked_at)` a depositor's share of one inbox.
 * No `down` (see 001).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Kysely, sql } from 'kysely';
import { bytesToHex } from '../../core/bytes.js';

/** Rows copied per INSERT: well under SQLite's 32 766 bound parameters (11 columns each). */
const COPY_BATCH = 500;
/** `TOTAL_SHARDS` of mailbox/repository.ts, as it was when this migration was written. */
const SHARDS = 64;

interface OldRow {
  recipient: string;
  seq: number | string | bigint;
  sender: string;
  transfer_id: string;
  envelope: string;
  size: number | string | bigint;
  created_at: number | string | bigint;
  acked_at: number | string | bigint;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mailbox_messages_v7')
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('depositor', 'text', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('envelope', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('acked_at', 'bigint', (c) => c.notNull())
    // New constraint names: PostgreSQL names share one namespace, and the old table still holds its own.
    .addPrimaryKeyConstraint('mailbox_messages_key', ['recipient', 'seq'])
    .addUniqueConstraint('mailbox_messages_content_uq', ['recipient', 'sender', 'transfer_id', 'digest'])
    .execute();

  // Copied in primary-key order, a page at a time. A tombstone's envelope is gone, so its digest is
  // unknown (''): a replay of it after this migration is stored again, and the owner dedupes it.
  let after: { recipient: string; seq: string } | undefined;
  // Pending rows are dealt to the shards in turn; each shard's counts start at what it was dealt.
  const shards = Array.from({ length: SHARDS }, () => ({ messages: 0, bytes: 0 }));
  let dealt = 0;
  for (;;) {
    const page = await sql<OldRow>`
      select recipient, seq, sender, transfer_id, envelope, size, created_at, acked_at
      from mailbox_messages
      ${after === undefined ? sql`` : sql`where recipient > ${after.recipient} or (recipient = ${after.recipient} and seq > ${after.seq})`}
      order by recipient, seq
      limit ${COPY_BATCH}`.execute(db);
    if (page.rows.length === 0) break;
    const values = page.rows.map((r) => {
      const pending = Number(r.acked_at) === 0;
      const shard = pending ? dealt++ % SHARDS : 0;
      if (pending) {
        shards[shard]!.messages++;
        shards[shard]!.bytes += Number(r.size);
      }
      return {
        recipient: r.recipient,
        seq: String(r.seq),
        sender: r.sender,
        transfer_id: r.transfer_id,
        digest: r.envelope === '' ? '' : bytesToHex(sha256(new TextEncoder().encode(r.envelope))),
        depositor: '',
        shard,
        envelope: r.envelope,
        size: String(r.size),
        created_at: String(r.created_at),
        acked_at: String(r.acked_at),
      };
    });
    await (db as Kysely<{ mailbox_messages_v7: (typeof values)[number] }>)
      .insertInto('mailbox_messages_v7')
      .values(values)
      .execute();
    const last = page.rows[page.rows.length - 1]!;
    after = { recipient: last.recipient, seq: String(last.seq) };
  }
  await db.schema.dropTable('mailbox_messages').execute();
  await db.schema.alterTable('mailbox_messages_v7').renameTo('mailbox_messages').execute();
  await db.schema
    .createIndex('mailbox_messages_age_idx')
    .on('mailbox_messages')
    .columns(['acked_at', 'created_at'])
    .execute();
  // A depositor's pending messages in one inbox (its share of that inbox).
  await db.schema
    .createIndex('mailbox_messages_depositor_idx')
    .on('mailbox_messages')
    .columns(['recipient', 'depositor', 'acked_at'])
    .execute();

  await db.schema
    .createTable('mailbox_depositors')
    .addColumn('depositor', 'text', (c) => c.primaryKey().notNull())
    .addColumn('messages', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .execute();

  // Shards: a deposit takes one as its last statement, so concurrent deposits seldom share a lock.
  await db.schema
    .createTable('mailbox_totals')
    .addColumn('id', 'integer', (c) => c.primaryKey().notNull())
    .addColumn('messages', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .execute();
  await (db as Kysely<{ mailbox_totals: { id: number; messages: number; bytes: number } }>)
    .insertInto('mailbox_totals')
    .values(shards.map((c, id) => ({ id, ...c })))
    .execute();
}
