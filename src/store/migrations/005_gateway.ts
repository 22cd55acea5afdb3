/**
 * Migration 005: the gateway's job journal (docs/design.md §5, docs/gateway.md). One row per conversion job,
 * keyed by the transfer id of the envelope that started it, holding the job's state and everything a
 * resumed step needs (the journal, JSON); one row per state change in `gateway_job_events`, which is
 * also the per-terminal history. Portable types only (docs/design.md §7). No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('gateway_jobs')
    // The envelope's transfer id: a replayed envelope finds this row instead of starting a second job.
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    // 1 while the runner has work: a state that is not terminal, or a notice still to deliver.
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('sender_key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('destination_key', 'text', (c) => c.notNull())
    .addColumn('reply_to', 'text')
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('journal', 'text', (c) => c.notNull())
    .addColumn('notice', 'text', (c) => c.notNull())
    .addColumn('refusal', 'text')
    .addColumn('attempts', 'bigint', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('gateway_jobs_direction', sql`direction in ('lan-to-wan', 'wan-to-lan')`)
    .addCheckConstraint(
      'gateway_jobs_state',
      sql`state in ('issuing', 'receiving', 'delivering', 'done', 'refused')`,
    )
    .addCheckConstraint('gateway_jobs_notice', sql`notice in ('none', 'pending', 'sent', 'abandoned')`)
    .addCheckConstraint('gateway_jobs_amount_positive', sql`amount > 0`)
    .execute();
  // The runner's query: work that is due, oldest first.
  await db.schema
    .createIndex('gateway_jobs_due_idx')
    .on('gateway_jobs')
    .columns(['active', 'next_attempt_at'])
    .execute();
  // The per-terminal history: jobs a key sent, and jobs delivered to it.
  await db.schema.createIndex('gateway_jobs_sender_idx').on('gateway_jobs').column('sender_key').execute();
  await db.schema
    .createIndex('gateway_jobs_destination_idx')
    .on('gateway_jobs')
    .column('destination_key')
    .execute();

  await db.schema
    .createTable('gateway_job_events')
    .addColumn('job_id', 'text', (c) => c.notNull().references('gateway_jobs.id'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('from_state', 'text', (c) => c.notNull())
    .addColumn('to_state', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('gateway_job_events_pk', ['job_id', 'seq'])
    .execute();
}
