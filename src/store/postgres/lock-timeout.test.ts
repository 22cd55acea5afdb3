/**
 * A PostgreSQL store's lock waits are bounded (`lockTimeoutMs`, the server's `lock_timeout` on every
 * pooled connection): a statement that waits for a row another transaction holds fails 503
 * `StorageUnavailable` (retry later) once the bound passes, its transaction rolled back, instead of
 * holding its connection and its own locks for as long as the holder does; once the row is free the
 * same write succeeds. Migrations are not bounded: a process that starts while another migrates waits
 * for it. Each refusal here arrives while the row is still held, so it came from the bound.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshDatabaseUrl } from '../../test-support/dialects.js';
import { type Held, holdInTransaction } from '../../test-support/held.js';
import { refusalOf } from '../../test-support/refusals.js';
import { openStore, parseStoreUrl, type Store } from '../index.js';
import { MIGRATION_LOCK_KEY } from './capabilities.js';
import { LOCK_TIMEOUT_MS, poolConfig } from './connect.js';

/** Short, so a refused wait costs the test little; the bound itself is what is tested. */
const TIMEOUT_MS = 250;

describe('poolConfig: the lock bound', () => {
  const url = 'postgres://u@localhost/db';
  it('bounds a lock wait by default (5 s) and takes lockTimeoutMs, also from the URL', () => {
    expect(LOCK_TIMEOUT_MS).toBe(5_000);
    expect(poolConfig({ url }).lock_timeout).toBe(LOCK_TIMEOUT_MS);
    expect(poolConfig({ url, lockTimeoutMs: 750 }).lock_timeout).toBe(750);
    expect(parseStoreUrl(`${url}?lock_timeout_ms=750`)).toEqual({
      dialect: 'postgres',
      url,
      lockTimeoutMs: 750,
    });
  });

  it('refuses a bound that is none (0: the server waits forever) or not a whole number of ms', async () => {
    for (const lockTimeoutMs of [0, -1, 1.5, Number.NaN]) {
      const e = await refusalOf(openStore({ dialect: 'postgres', url, lockTimeoutMs }));
      expect([e.kind, e.info]).toMatchObject(['InvalidInput', { argument: 'lockTimeoutMs' }]);
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('a row held by another transaction', () => {
  let store: Store | undefined;
  let other: Store | undefined;
  const held: Held[] = [];
  afterEach(async () => {
    for (const h of held.splice(0)) await h.release();
    await store?.close();
    await other?.close();
    store = other = undefined;
  });

  it('refuses the write that waits for it with 503 StorageUnavailable, changing nothing; it runs once free', async () => {
    const url = await freshDatabaseUrl('postgres');
    store = await openStore({ dialect: 'postgres', url, lockTimeoutMs: TIMEOUT_MS });
    const s = store;
    await s.db.insertInto('settings').values({ key: 'row', value: 'before' }).execute();
    held.push(
      await holdInTransaction(s, (trx) =>
        trx.updateTable('settings').set({ value: 'holder' }).where('key', '=', 'row').execute(),
      ),
    );
    const write = () =>
      s.transaction(async (trx) => {
        await trx.insertInto('settings').values({ key: 'mine', value: '1' }).execute();
        await trx.updateTable('settings').set({ value: 'writer' }).where('key', '=', 'row').execute();
      });
    const e = await refusalOf(write());
    expect([e.kind, e.code, e.status]).toEqual(['StorageUnavailable', 79001, 503]);
    expect(e.message).toContain('55P03');
    const read = (key: string) =>
      s.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    expect(await read('mine')).toBeUndefined(); // its transaction rolled back: nothing of it stayed

    for (const h of held.splice(0)) await h.release();
    expect(await read('row')).toEqual({ value: 'holder' });
    await write();
    expect([await read('row'), await read('mine')]).toEqual([{ value: 'writer' }, { value: '1' }]);
  });

  it('lets a starting process wait for another one’s migrations past the bound, then keeps the bound', async () => {
    const url = await freshDatabaseUrl('postgres');
    other = await openStore({ dialect: 'postgres', url }); // the database migrated once
    // Another process's migration in progress: its connection holds the migration lock.
    const migrating = new pg.Client({ connectionString: url });
    await migrating.connect();
    try {
      await migrating.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
      let opened: Store | undefined;
      const opening = openStore({ dialect: 'postgres', url, lockTimeoutMs: TIMEOUT_MS }).then((st) => {
        opened = st;
        return st;
      });
      // Four times the bound: a bounded wait would have failed by now.
      const failedEarly = await Promise.race([
        opening.then(
          () => false,
          () => true,
        ),
        new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 4 * TIMEOUT_MS)),
      ]);
      expect(failedEarly).toBe('waiting');
      expect(opened).toBeUndefined();
      await migrating.query(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
      store = await opening;
    } finally {
      await migrating.end();
    }
    // The migrating connection got the pool's bound back (RESET), as every other connection has it.
    const { rows } = await sql<{ lock_timeout: string }>`show lock_timeout`.execute(store.db);
    expect(rows[0]?.lock_timeout).toBe(`${TIMEOUT_MS}ms`);
  });
});
