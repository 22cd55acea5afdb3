/** Migration 002_bank_ledger: reserved for its feature, filled in by that feature's change. No `down` (see 001). */
import type { Kysely } from 'kysely';

export async function up(_db: Kysely<unknown>): Promise<void> {}
