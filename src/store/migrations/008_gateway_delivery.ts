/**
 * Migration 008: parked deliveries (docs/gateway.md, "Deliveries"). A job whose payment or notice no
 * inbox accepted within the delivery deadline (or whose inbox is no longer allowed) is parked: it
 * keeps its state and journal (a parked payment is still `delivering`, its sealed envelope kept), the
 * runner leaves it alone (`active = 0`), and `parked_at` (unix ms) marks it for the operator's list,
 * until an operator retries it. A partial index keeps that list cheap. No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('gateway_jobs').addColumn('parked_at', 'bigint').execute();
  await db.schema
    .createIndex('gateway_jobs_parked_idx')
    .on('gateway_jobs')
    .column('parked_at')
    .where(sql.ref('parked_at'), 'is not', null)
    .execute();
}
