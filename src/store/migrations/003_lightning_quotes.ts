/**
 * Migration 003: the wide bank's Lightning quotes (NUT-04/05/23 `bolt11`): one row per mint or melt
 * quote with its state machine. Portable types only (docs/design.md §7); times are unix ms. No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lightning_quotes')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('unit', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('fee_reserve', 'bigint', (c) => c.notNull())
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('payment_hash', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('preimage', 'text')
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('fee_paid', 'bigint', (c) => c.notNull())
    .addColumn('inputs_amount', 'bigint', (c) => c.notNull())
    .addColumn('input_fee', 'bigint', (c) => c.notNull())
    .addColumn('outputs', 'text', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // NUT-04 mint quotes: UNPAID → PAID → ISSUED; NUT-05 melt quotes: UNPAID → PENDING → PAID | UNPAID.
    .addCheckConstraint(
      'lightning_quotes_state',
      sql`(kind = 'mint' and state in ('UNPAID', 'PAID', 'ISSUED')) or (kind = 'melt' and state in ('UNPAID', 'PENDING', 'PAID'))`,
    )
    .execute();
  // One invoice is paid at most once: a second melt quote on it cannot become PENDING or PAID.
  await db.schema
    .createIndex('lightning_quotes_melt_once')
    .on('lightning_quotes')
    .column('payment_hash')
    .unique()
    .where(sql.ref('kind'), '=', sql.lit('melt'))
    .where(sql.ref('state'), 'in', sql`('PENDING', 'PAID')`)
    .execute();
  // Each invoice the mint issues belongs to one mint quote.
  await db.schema
    .createIndex('lightning_quotes_mint_invoice')
    .on('lightning_quotes')
    .column('payment_hash')
    .unique()
    .where(sql.ref('kind'), '=', sql.lit('mint'))
    .execute();
  await db.schema
    .createIndex('lightning_quotes_state_idx')
    .on('lightning_quotes')
    .columns(['kind', 'state'])
    .execute();
}
