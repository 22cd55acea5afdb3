/**
 * Migration 029: the bulk of a job's journal apart from its row (docs/gateway.md, "The journal";
 * docs/performance.md, round four's "a job's hot row is wide"). A job's outputs with their secrets and
 * blinding factors, its notes and its sealed payment or notice (≈ 7 kB a conversion) were part of
 * `gateway_jobs.journal`, so every move of the job rewrote them: on SQLite the whole row with its
 * overflow pages into the WAL (≈ 2.25 moves a conversion), on PostgreSQL a new TOAST value whenever the
 * journal changed. They now go once into `gateway_job_bulk`, one row per move that wrote some (its
 * event's `seq`), never updated; the row keeps the journal's head (memo, fee, receipts). Pruning
 * deletes a finished job's bulk rows (migration 018's policy, unchanged).
 *
 * Existing jobs not pruned yet are split here, in batches: their bulk becomes one row numbered 0 (before
 * any event, so a later move's part replaces it when read) and their journal keeps the head. Pruned
 * jobs hold no bulk and are left as they are. No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * `BULK_PARTS` of gateway/jobs/model.ts as it was when this migration was written: a shipped
 * migration must not change with the code after it.
 */
const BULK_PARTS = ['outputs', 'inputYs', 'wideProofs', 'localProofs', 'delivery', 'notice'];
/** Rows split per read. */
const BATCH = 500;

interface Rows {
  gateway_jobs: { id: string; journal: string; pruned_at: number | null };
  gateway_job_bulk: { job_id: string; seq: number; body: string };
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('gateway_job_bulk')
    .addColumn('job_id', 'text', (c) => c.notNull().references('gateway_jobs.id'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('gateway_job_bulk_pk', ['job_id', 'seq'])
    .execute();
  // As migration 027's columns: hex, base64 and ciphertext that pglz fails to compress on every write.
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table gateway_job_bulk alter column body set storage external`.execute(db);
  }
  const t = db as unknown as Kysely<Rows>;
  let after = '';
  for (;;) {
    const rows = await t
      .selectFrom('gateway_jobs')
      .select(['id', 'journal'])
      .where('pruned_at', 'is', null)
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .execute();
    for (const { id, journal } of rows) {
      const head: Record<string, unknown> = {};
      const bulk: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(JSON.parse(journal) as Record<string, unknown>)) {
        (BULK_PARTS.includes(k) ? bulk : head)[k] = v;
      }
      if (Object.keys(bulk).length === 0) continue;
      await t
        .insertInto('gateway_job_bulk')
        .values({ job_id: id, seq: 0, body: JSON.stringify(bulk) })
        .execute();
      await t
        .updateTable('gateway_jobs')
        .set({ journal: JSON.stringify(head) })
        .where('id', '=', id)
        .execute();
    }
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1]!.id;
  }
}
