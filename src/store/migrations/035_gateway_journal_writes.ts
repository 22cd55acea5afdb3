/**
 * Migration 035: a job's writes touch less of the database (docs/performance.md, "Round seven";
 * docs/gateway.md, "Tables"). Counted per conversion over `bench gateway` (`pg_walinspect`) and the
 * journal's own three commits (a harness, SQLite's WAL growth), the two below cost:
 *
 * - `gateway_jobs_unfinished_idx` (020, `(kind, state, created_at) WHERE state NOT IN ('done',
 *   'refused')`) took an entry at the intake and at every move short of the last (each a new row
 *   version on PostgreSQL, never HOT; a moved entry on SQLite, whose key holds `state`): 2.0 WAL
 *   records a conversion on PostgreSQL, 2.9 of SQLite's 30.5 WAL frames. Its only readers, the
 *   console's summary (`console/repository.ts` `jobCounts`, `valueInFlight`), read the jobs not
 *   finished through the runner's index (`active = 1`, migration 031) and the parked jobs' (008)
 *   instead: a job short of `done`/`refused` is either active or parked (`steps.ts`, `conversion.ts`
 *   `failed`: only a park makes one inactive, and it sets `parked_at`), and both indexes hold only
 *   such jobs (plus refusals with a notice to deliver), so the read stays as small as the work in
 *   flight, however large the journal. Dropped if it exists.
 * - On PostgreSQL, an event's foreign key to its job. Every event insert (the intake's and each
 *   move's: ≈ 3 a conversion) fired the key's trigger: a query of `gateway_jobs` by id locking the
 *   job's row `FOR KEY SHARE`, which on the row version the statement had just written is a new lock
 *   and a `Heap/LOCK` WAL record (3.3 a conversion; ≈ 20–30 µs of the server a trigger in `EXPLAIN
 *   ANALYZE`). What it guaranteed, no event without its job, the writes guarantee by their shape: the
 *   intake's and the moves' events are inserted `from` the row the same statement inserted or moved
 *   (no row, no event), every other event is written in the transaction that has just changed or
 *   inserted its job, and no job row is ever deleted (pruning drops the bulk only). The key is found
 *   by what it is, not by its generated name. SQLite keeps its key: there the check reads a page the
 *   transaction holds already and writes nothing, and dropping a constraint means rebuilding the table.
 *
 * Both steps drop only what is there: running this again changes nothing. No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('gateway_jobs_unfinished_idx').ifExists().execute();
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  const { rows } = await sql<{ name: string }>`select conname as name from pg_constraint
    where contype = 'f' and conrelid = 'gateway_job_events'::regclass
      and confrelid = 'gateway_jobs'::regclass`.execute(db);
  for (const { name } of rows) {
    await sql`alter table gateway_job_events drop constraint if exists ${sql.id(name)}`.execute(db);
  }
}
