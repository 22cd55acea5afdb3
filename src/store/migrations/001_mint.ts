/**
 * Migration 001: the mint's tables (settings, keysets, the spent/pending set, the signed set).
 * Portable column types only, so the one migration serves SQLite and PostgreSQL alike (docs/design.md §7).
 * No `down`: these tables hold money; going back is a restore from backup, never a migration.
 * Text primary keys say NOT NULL explicitly: SQLite lets a non-INTEGER primary key hold NULL.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey().notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mint_keysets')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('unit', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('input_fee_ppk', 'integer', (c) => c.notNull())
    .addColumn('derivation_index', 'integer', (c) => c.notNull().unique())
    .addColumn('max_order', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  // docs/design.md §6.3: one primary key over pending and spent notes, so no Y is ever held twice.
  await db.schema
    .createTable('mint_proofs')
    .addColumn('y', 'text', (c) => c.primaryKey().notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('keyset_id', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('c', 'text', (c) => c.notNull())
    .addColumn('witness', 'text')
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mint_proofs_operation_idx').on('mint_proofs').column('operation').execute();
  await db.schema.createIndex('mint_proofs_state_idx').on('mint_proofs').column('state').execute();

  // docs/design.md §6.3: the primary key on B_ refuses signing the same blinded message twice.
  await db.schema
    .createTable('mint_signatures')
    .addColumn('b_', 'text', (c) => c.primaryKey().notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('keyset_id', 'text', (c) => c.notNull())
    .addColumn('c_', 'text', (c) => c.notNull())
    .addColumn('dleq_e', 'text', (c) => c.notNull())
    .addColumn('dleq_s', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('mint_signatures_operation_idx')
    .on('mint_signatures')
    .column('operation')
    .execute();
}
