/**
 * Migration 018: pruning of finished jobs' bulk (docs/gateway.md, "Pruning finished jobs"). A finished
 * job older than the retention keeps its row, its events and the small parts of its journal (memo,
 * receipts), and loses the rest (outputs with their secrets and blinding factors, notes, the sealed
 * payment or notice); `pruned_at` (unix ms) says when. A partial index over the finished rows not yet
 * pruned keeps each pruning round's look at the oldest of them cheap however large the journal grows.
 * No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('gateway_jobs').addColumn('pruned_at', 'bigint').execute();
  await db.schema
    .createIndex('gateway_jobs_prunable_idx')
    .on('gateway_jobs')
    .column('updated_at')
    .where(sql<boolean>`active = 0 AND pruned_at IS NULL`)
    .execute();
}
