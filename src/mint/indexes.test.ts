/**
 * The spent/pending set's and the signed set's indexes, on each dialect: each one is written with
 * every note (64 a swap), so only those a query or a uniqueness rule needs are kept — the primary
 * keys (double spend, double signing) and `operation` (settle, release, NUT-19 replays, the audit's
 * naming). Migration 028 dropped the one on `state`.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';

describe.each(DIALECTS)('mint indexes on %s', (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(async () => {
    await store.close();
  });

  /** Index names of `table`, the primary key's included (under one name on both dialects). */
  const indexesOf = async (table: string): Promise<string[]> => {
    const q =
      dialect === 'postgres'
        ? sql<{ name: string }>`select indexname as name from pg_indexes where tablename = ${table}`
        : sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table}`;
    const { rows } = await q.execute(store.db);
    return rows.map((r) => (/pkey$|^sqlite_autoindex_/.test(r.name) ? 'primary key' : r.name)).sort();
  };

  it('mint_proofs: the primary key on Y and the operation index only; mint_signatures: B_ and operation', async () => {
    expect(await indexesOf('mint_proofs')).toEqual(['mint_proofs_operation_idx', 'primary key']);
    expect(await indexesOf('mint_signatures')).toEqual(['mint_signatures_operation_idx', 'primary key']);
  });
});
