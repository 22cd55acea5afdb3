/**
 * Named statements on PostgreSQL: a long INSERT becomes a server-side prepared statement from its
 * second run on, and gives the same results; INSERT … RETURNING stays unnamed.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DIALECTS, freshDatabaseUrl } from '../../test-support/dialects.js';
import { openStore } from '../index.js';

describe.runIf(DIALECTS.includes('postgres'))('postgres connection', () => {
  it('prepares long repeated INSERTs by name, and nothing else', async () => {
    // One connection, so every statement runs in the session whose prepared statements we list.
    const store = await openStore({
      dialect: 'postgres',
      url: await freshDatabaseUrl('postgres'),
      poolSize: 1,
    });
    try {
      const rows = (from: number) =>
        Array.from({ length: 120 }, (_, i) => ({
          key: `key-${String(from + i).padStart(4, '0')}`,
          value: 'v',
        }));
      const insert = (from: number) =>
        store.db
          .insertInto('settings')
          .values(rows(from))
          .onConflict((oc) => oc.column('key').doNothing())
          .executeTakeFirst();
      const prepared = async () =>
        (await sql<{ name: string }>`select name from pg_prepared_statements`.execute(store.db)).rows.map(
          (r) => r.name,
        );
      expect((await insert(0)).numInsertedOrUpdatedRows).toBe(120n);
      expect(await prepared()).toEqual([]);
      expect((await insert(120)).numInsertedOrUpdatedRows).toBe(120n);
      expect((await insert(0)).numInsertedOrUpdatedRows).toBe(0n); // same statement, conflicts
      expect(await prepared()).toEqual(['lancash_0']);
      // Rows are returned: never named, twice or not.
      for (let i = 0; i < 2; i++) {
        await store.db
          .insertInto('settings')
          .values(rows(500))
          .onConflict((oc) => oc.doNothing())
          .returning('key')
          .execute();
      }
      const keys = await store.db
        .selectFrom('settings')
        .select('key')
        .where('key', 'like', 'key-%')
        .execute();
      expect(keys).toHaveLength(360);
      expect(await prepared()).toEqual(['lancash_0']);
    } finally {
      await store.close();
    }
  });
});
