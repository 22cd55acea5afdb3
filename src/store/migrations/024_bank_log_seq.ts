/**
 * Migration 024: each bank account's request-log counter, `bank_accounts.log_seq` (the `seq` of its
 * newest log line, 0 without one). A request's log line takes its number from the row its posting
 * updates anyway (the holder's balance), so on PostgreSQL the balance move and the log line are one
 * statement, and no statement reads `max(seq)` of the log (docs/wide-bank.md, "The request log").
 * Existing logs are counted once here. No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('bank_accounts')
    .addColumn('log_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update bank_accounts
    set log_seq = coalesce((select max(l.seq) from bank_request_log l where l.account_id = bank_accounts.id), 0)`.execute(
    db,
  );
}
