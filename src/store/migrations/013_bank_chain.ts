/**
 * Migration 013: a hash chain over the wide bank's ledger (docs/wide-bank.md, "The ledger's hash
 * chain"). Each posting is one link: its entries carry the link's number (`chain_seq`) and hash
 * (`chain_hash` = SHA-256 of the previous link's hash and the posting's entries), and `bank_chain`
 * holds the head (one row, id 1), updated in the posting's transaction, which makes postings take
 * their numbers one at a time. Entries written before this migration stay outside the chain (NULL).
 * Portable types only (docs/design.md §7). No `down`.
 */
import { type Kysely, sql } from 'kysely';

/** The hash before the first link (`CHAIN_GENESIS` in wide-bank/ledger/chain.ts; a migration stays as shipped). */
const CHAIN_GENESIS = '0'.repeat(64);

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('bank_entries').addColumn('chain_seq', 'bigint').execute();
  await db.schema.alterTable('bank_entries').addColumn('chain_hash', 'text').execute();
  await db.schema.createIndex('bank_entries_chain_seq_idx').on('bank_entries').column('chain_seq').execute();
  await db.schema
    .createTable('bank_chain')
    .addColumn('id', 'integer', (c) => c.primaryKey().notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into bank_chain (id, seq, hash) values (1, 0, ${CHAIN_GENESIS})`.execute(db);
}
