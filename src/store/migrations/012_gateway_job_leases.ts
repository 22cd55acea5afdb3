/**
 * Migration 012: job leases, so several gateway processes can share one PostgreSQL journal
 * (docs/gateway.md, "Running several gateway processes"). A process drives a job only while it holds
 * the job's lease: `lease_owner` names the process, `lease_until` (unix ms, the database's clock) is
 * when the lease lapses unless renewed. Every step's commit is conditional on the lease still being
 * its own. NULL both: nobody holds it. SQLite (one process per file) leaves them NULL. The index on
 * `updated_at` lets each process follow the changes the others make (the live routes). Portable types
 * only (docs/design.md §7). No `down`.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('gateway_jobs').addColumn('lease_owner', 'text').execute();
  await db.schema.alterTable('gateway_jobs').addColumn('lease_until', 'bigint').execute();
  await db.schema.createIndex('gateway_jobs_updated_idx').on('gateway_jobs').column('updated_at').execute();
}
