/**
 * Migration 027 (PostgreSQL only; SQLite has nothing to change): the large text columns written on
 * every conversion are stored without compression (`STORAGE EXTERNAL`: out of line when the row is
 * big, as before, but never compressed). Their values are hex, base64 and ciphertext: pglz, which
 * PostgreSQL tries on any value that makes the row over ≈ 2 kB, saved less than its 25 % threshold on
 * every one measured, so each write paid a failed compression of the whole value (≈ 4 % of the server's
 * CPU under `bench gateway`) and stored it as it came. Existing rows are untouched; only new values skip
 * the attempt. No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/** [table, column]: each measured incompressible (stored size = raw size under the bench). */
export const UNCOMPRESSED: ReadonlyArray<readonly [table: string, column: string]> = [
  ['gateway_jobs', 'journal'],
  ['bank_requests', 'response'],
  ['bank_request_log', 'recovery'],
  ['mailbox_messages', 'envelope'],
];

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  for (const [table, column] of UNCOMPRESSED) {
    await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} set storage external`.execute(
      db,
    );
  }
}
