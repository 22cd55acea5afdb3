/**
 * Sharded counter rows (the mint's `mint_totals`, the journal's `gateway_job_totals`, migration 019):
 * a transaction adds to one shard, chosen at random the first time it writes one and kept for the rest
 * of it, so concurrent commits seldom wait on one row and a transaction never holds two shards of a
 * table (no lock cycles between counters). Readers sum the shards.
 */
import type { Kysely } from 'kysely';

/** Shards per counter table (migration 019 creates this many rows, ids 0 to SHARDS − 1). */
export const SHARDS = 8;

const chosen = new WeakMap<object, Map<string, number>>();

/** The shard of `table` that the transaction `db` adds to. */
export function shardFor(db: Kysely<unknown> | object, table: string): number {
  let byTable = chosen.get(db);
  if (byTable === undefined) {
    byTable = new Map();
    chosen.set(db, byTable);
  }
  let shard = byTable.get(table);
  if (shard === undefined) {
    shard = Math.floor(Math.random() * SHARDS);
    byTable.set(table, shard);
  }
  return shard;
}
