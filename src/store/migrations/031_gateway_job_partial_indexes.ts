/**
 * Migration 031: a job's writes touch fewer index entries and, on PostgreSQL, no TOAST table
 * (docs/performance.md, "Round six"). First, two of the journal's indexes hold only the rows their
 * readers look for. Every write of a job (its
 * intake, each step's move, the finishing move) is, on PostgreSQL, a new row version with an entry in
 * every index whose predicate it meets (no move can be a HOT update: each changes `state`,
 * `updated_at` and `next_attempt_at`); on SQLite it rewrites the entries of every index whose columns
 * or predicate it assigns, a page a commit each into the WAL.
 *
 * - `gateway_jobs_kind_ref_idx` (006, unique `(kind, ref)` while not refused) also leaves out the rows
 *   without a `ref`: every conversion. Unique indexes never compare NULLs, so what it refuses is
 *   unchanged; its readers (an operator job's live row by its ref) ask for `ref = ?`, which implies
 *   `ref IS NOT NULL` to both planners.
 * - `gateway_jobs_due_idx` (005, `(active, next_attempt_at)`) becomes `(next_attempt_at) WHERE active
 *   = 1`: the runner's reads all ask for active jobs, with that literal predicate so both planners use
 *   it (repository.ts). A finished job leaves it instead of moving to its `active = 0` half, which
 *   held every finished job of the journal.
 *
 * Both are rebuilt under their own names (idempotent: dropped if they exist, created if not), in the
 * migration's transaction; existing rows are indexed as they are.
 *
 * Then, on PostgreSQL, an event's row keeps its bulk in line up to a whole page
 * (`toast_tuple_target = 8160`, the most it takes; the default moves any row over ≈ 2 kB out): the
 * bulk of a step (notes, a sealed payment: 3 to 8 kB) went to the TOAST table in ≈ 2 kB chunks, a row
 * and an index entry in the WAL each, besides the event's own. In line it is one row; a bulk larger
 * than a page still goes out. The column stays uncompressed (`STORAGE EXTERNAL`, migration 029).
 * Events are read by their job's key, and pruning sets the bulk to NULL, so rows that hold it longer
 * cost no read that did not fetch it before. Existing rows stay where they are; the setting applies
 * to rows written after it. SQLite has no such threshold (a row overflows a page only when it must).
 * No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/** The largest `toast_tuple_target` PostgreSQL accepts: a row up to a page stays in line. */
const IN_LINE_UP_TO = 8160;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('gateway_jobs_kind_ref_idx').ifExists().execute();
  await db.schema
    .createIndex('gateway_jobs_kind_ref_idx')
    .ifNotExists()
    .on('gateway_jobs')
    .columns(['kind', 'ref'])
    .unique()
    .where(sql<boolean>`state <> 'refused' AND ref IS NOT NULL`)
    .execute();
  await db.schema.dropIndex('gateway_jobs_due_idx').ifExists().execute();
  await db.schema
    .createIndex('gateway_jobs_due_idx')
    .ifNotExists()
    .on('gateway_jobs')
    .column('next_attempt_at')
    .where(sql<boolean>`active = 1`)
    .execute();
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table gateway_job_events set (toast_tuple_target = ${sql.lit(IN_LINE_UP_TO)})`.execute(
      db,
    );
  }
}
