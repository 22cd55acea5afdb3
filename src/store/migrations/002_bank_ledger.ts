/**
 * Migration 002: the wide bank's double-entry ledger (docs/design.md §4, §6 invariant 1): accounts, entries,
 * and the idempotency table that keeps every answer given to a request key. The two system accounts
 * (`funding`, `notes_outstanding`) are created here, so every process finds them. Portable types only
 * (docs/design.md §7). No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('bank_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    // UNIQUE allows many NULLs on both databases: one account per holder key, any number of system accounts.
    .addColumn('holder_key', 'text', (c) => c.unique())
    .addColumn('balance', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // A second guard behind the conditional debit: the database itself refuses a negative holder balance.
    .addCheckConstraint('bank_accounts_holder_not_negative', sql`kind <> 'holder' or balance >= 0`)
    .addCheckConstraint('bank_accounts_kind', sql`kind in ('holder', 'system')`)
    .execute();

  await db.schema
    .createTable('bank_entries')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('tx_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().references('bank_accounts.id'))
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ref', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('bank_entries_amount_not_zero', sql`amount <> 0`)
    .execute();
  await db.schema.createIndex('bank_entries_tx_idx').on('bank_entries').column('tx_id').execute();
  await db.schema.createIndex('bank_entries_account_idx').on('bank_entries').column('account_id').execute();

  // The primary key decides between concurrent duplicates of one request, across processes.
  await db.schema
    .createTable('bank_requests')
    .addColumn('key', 'text', (c) => c.primaryKey().notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().references('bank_accounts.id'))
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  const now = Date.now();
  await sql`insert into bank_accounts (id, kind, holder_key, balance, created_at) values
    ('funding', 'system', null, 0, ${now}),
    ('notes_outstanding', 'system', null, 0, ${now})`.execute(db);
}
