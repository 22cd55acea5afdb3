/**
 * Migration 029: the bulk of a job's journal out of its row, onto the events (docs/gateway.md, "Tables";
 * docs/performance.md, round four's "a job's hot row is wide"). A job's outputs with their secrets and
 * blinding factors, its notes and its sealed payment or notice (≈ 7 kB a conversion) were part of
 * `gateway_jobs.journal`, so every move of the job rewrote them: on SQLite the whole row with its
 * overflow pages into the WAL (≈ 2.25 moves a conversion), on PostgreSQL a new TOAST value whenever the
 * journal changed. Each write's bulk now goes once into `gateway_job_events.bulk`, on the event that
 * write adds anyway (no table, index or statement of its own), never updated; the row keeps the
 * journal's head (memo, fee, receipts). Pruning sets a finished job's `bulk` to NULL (migration 018's
 * policy, unchanged).
 *
 * Existing jobs not pruned yet are split here, in batches: their bulk goes onto their last event (a
 * later move's event comes after it, so its parts replace these when read) and their journal keeps the
 * head. A job with no event (never written by the gateway) keeps its journal whole: it reads the same.
 * Pruned jobs hold no bulk and are left as they are. No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * `BULK_PARTS` of gateway/jobs/model.ts as it was when this migration was written: a shipped
 * migration must not change with the code after it.
 */
const BULK_PARTS = ['outputs', 'inputYs', 'wideProofs', 'localProofs', 'delivery', 'notice'];
/** Jobs split per read. */
const BATCH = 500;

interface Rows {
  gateway_jobs: { id: string; journal: string; pruned_at: number | null };
  gateway_job_events: { job_id: string; seq: number; bulk: string | null };
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('gateway_job_events').addColumn('bulk', 'text').execute();
  // As migration 027's columns: hex, base64 and ciphertext that pglz fails to compress on every write.
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table gateway_job_events alter column bulk set storage external`.execute(db);
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
      const last = await t
        .selectFrom('gateway_job_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('job_id', '=', id)
        .executeTakeFirst();
      if (last?.seq === null || last?.seq === undefined) continue;
      await t
        .updateTable('gateway_job_events')
        .set({ bulk: JSON.stringify(bulk) })
        .where('job_id', '=', id)
        .where('seq', '=', last.seq)
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
