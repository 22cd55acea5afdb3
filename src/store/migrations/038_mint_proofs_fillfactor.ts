/**
 * Migration 038: on PostgreSQL, `mint_proofs` leaves 30 % of each page free as rows are inserted
 * (`fillfactor = 70`), so that settling a held note (pending → spent: `state` and `updated_at`, which
 * no index covers since 028) is a HOT update: the new row version on the same page and no new entry in
 * either index (the primary key on `Y`, `operation`). A page packed full (the default, 100) has no
 * room for it, so the version goes to another page with an entry in each index. The gateway's local
 * mint holds a job 1's notes pending until the bank has answered, then settles them; counted in
 * `bench gateway --pg-stats` (docs/performance.md, "Round eight"), HOT settles: fill factor 100
 * 121 of 267 row updates, 80 177 of 278, 70 311 of 399, **50 633 of 633**; the settle's WAL 10.8 →
 * 5.2 records a call (≈ −2.8 a conversion). The notes held at once on the newest pages all get settled
 * within a bank round trip, before pruning can reclaim their old versions: they need about as much
 * room as they fill. Each later pruning of the page (the next access after the settles commit) frees
 * the old versions for the next ones.
 *
 * The price: notes inserted already spent (a swap's inputs, the wide bank's mint, the largest table
 * there is) are never updated, and their pages keep the room free (reads are by key, a page a note,
 * but a full scan such as the audit's reads more pages). 50 would make every settle HOT at twice the
 * pages; 70 keeps 78 % of them HOT (−1.3 WAL records a conversion of the −2.8) at 1.43 times. Existing pages stay as they are: the
 * setting applies to pages filled after it (no rewrite, no lock beyond the `ALTER`'s brief one).
 * Idempotent: setting the same option again changes nothing. SQLite has no such setting: an update
 * there rewrites the row in its b-tree page whatever the page's fill. No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/** The percentage of each heap page inserts fill, the rest left for updated versions (PostgreSQL). */
export const MINT_PROOFS_FILLFACTOR = 70;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table mint_proofs set (fillfactor = ${sql.lit(MINT_PROOFS_FILLFACTOR)})`.execute(db);
  }
}
