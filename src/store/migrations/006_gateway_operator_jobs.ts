/**
 * Migration 006: the gateway's operator jobs (docs/gateway.md, "Payroll and payout") live in the same
 * journal as the conversions. `kind` says which saga a row follows (`transfer` for jobs 1 and 2, the
 * default, so every existing row keeps its meaning); `ref` is the operator's reference of a payroll
 * or payout. At most one job per (kind, ref) that has not been refused: the unique index is what stops
 * two racing requests with one ref from both claiming (or withdrawing) at the bank, while a ref whose
 * job the bank refused may be tried again. Portable types only (docs/design.md §7). No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('gateway_jobs')
    .addColumn('kind', 'text', (c) =>
      c.notNull().defaultTo('transfer').check(sql`kind in ('transfer', 'payroll', 'payout')`),
    )
    .execute();
  await db.schema.alterTable('gateway_jobs').addColumn('ref', 'text').execute();
  // A partial unique index (SQLite ≥ 3.8, PostgreSQL): refused jobs leave it, live ones hold their ref.
  await db.schema
    .createIndex('gateway_jobs_kind_ref_idx')
    .on('gateway_jobs')
    .columns(['kind', 'ref'])
    .unique()
    .where(sql.ref('state'), '<>', 'refused')
    .execute();
}
