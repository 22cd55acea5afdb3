/**
 * Migration 038: on PostgreSQL, `mint_proofs` leaves a fifth of each page free as rows are inserted
 * (`fillfactor = 80`), so that settling a held note (pending → spent: `state` and `updated_at`, which
 * no index covers since 028) can be a HOT update: the new row version on the same page and no new
 * entry in either index (the primary key on `Y`, `operation`). A page packed full (the default, 100)
 * has no room for it, so the version goes to another page with an entry in each index: 54 % of the
 * settles in `bench gateway --pg-stats` (146 of 267 row updates non-HOT, the gateway's local mint
 * holding a job 1's notes pending until the bank has answered; docs/performance.md "Round eight").
 * Every pruning of the page (the next access after the settle commits) reclaims the old versions,
 * so the room is used again.
 *
 * Notes inserted already spent (a swap's inputs) are never updated; they cost the free fifth of a
 * page each (the table ≈ 25 % larger). Existing pages stay as they are: the setting applies to
 * pages filled after it (no rewrite, no lock beyond the `ALTER`'s brief one). Idempotent: setting the
 * same option again changes nothing. SQLite has no such setting: an update there rewrites the row's
 * b-tree page in place whatever its fill. No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/** The percentage of each heap page inserts fill, the rest left for updated versions (PostgreSQL). */
export const MINT_PROOFS_FILLFACTOR = 80;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table mint_proofs set (fillfactor = ${sql.lit(MINT_PROOFS_FILLFACTOR)})`.execute(db);
  }
}
