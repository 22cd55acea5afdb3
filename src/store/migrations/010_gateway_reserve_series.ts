/**
 * Migration 010: the gateway's reserve series (docs/gateway.md, "Operator API"): points of the reserve
 * account's balance at the wide bank against local money outstanding, sampled by the gateway every
 * minute and after each finished job, for the operator console's chart. `at` (unix ms) is the key and
 * the index the chart's `since` query and the thinning walk. `reserve` is NULL when the bank did not
 * answer. Portable types only (docs/design.md §7). No `down`.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('gateway_reserve_series')
    .addColumn('at', 'bigint', (c) => c.primaryKey().notNull())
    .addColumn('reserve', 'bigint')
    .addColumn('outstanding', 'bigint', (c) => c.notNull())
    .execute();
}
