/**
 * Migration 028: drops `mint_proofs_state_idx` (001). No query needs it: settling and releasing find
 * an operation's notes by `mint_proofs_operation_idx` (a few rows each), and the readers that filter
 * on `state` alone (the audits, the console, checkpoints) sum or list the whole set anyway. Each index
 * is one more entry and its WAL per note written (64 a swap), and one whose column a settle changes
 * keeps that update from being HOT on PostgreSQL (docs/performance.md, "Round four").
 * No `down` (see 001).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('mint_proofs_state_idx').execute();
}
