/**
 * A transaction's lock timeout (`TransactionOptions.lockTimeoutMs`): on PostgreSQL it holds inside
 * that transaction only; SQLite (one writer, no row locks) accepts and ignores it. A group commit
 * with `groupLockTimeoutMs` gives up a row held past it and runs its writes again each alone, which
 * then wait as long as they must; a write alone never gets the timeout.
 */
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../mint/group-commit.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../test-support/dialects.js';
import { openStore, type Store } from './index.js';
import type { Database } from './schema.js';

/** Waits for `ready` to hold, checking every few milliseconds (the test's own timeout bounds it). */
async function until(ready: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await ready())) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe.each(DIALECTS)('lock timeout on %s', (dialect) => {
  let fresh: FreshDatabase;
  let store: Store;

  beforeEach(async () => {
    fresh = await freshDatabase(dialect);
    store = await openStore(fresh.config);
    await store.db.insertInto('settings').values({ key: 'held', value: '0' }).execute();
  });
  afterEach(async () => {
    await store.close();
    await fresh.drop();
  });

  /** Holds the `held` row in a transaction of its own until `release` is called. */
  const holdRow = async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding = false;
    const done = store.transaction(async (trx) => {
      await trx.updateTable('settings').set({ value: 'holder' }).where('key', '=', 'held').execute();
      holding = true;
      await released;
    });
    await until(() => holding);
    return { release, done };
  };
  const bump = (trx: Kysely<Database>) =>
    trx
      .updateTable('settings')
      .set({ value: sql`${sql.ref('value')} || '+'` })
      .where('key', '=', 'held')
      .execute();
  const stored = async (key: string) =>
    (await store.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  /** Statements of other sessions waiting for a lock (PostgreSQL). */
  const waiting = async () =>
    Number(
      (await sql<{ n: string }>`select count(*) as n from pg_locks where not granted`.execute(store.db))
        .rows[0]?.n ?? 0,
    );

  it('refuses a lock timeout that is not a positive integer of milliseconds', async () => {
    for (const lockTimeoutMs of [0, -5, 1.5, Number.NaN]) {
      await expect(store.transaction(async () => 1, { lockTimeoutMs })).rejects.toMatchObject({
        kind: 'Internal',
      });
    }
    expect(await store.transaction(async () => 1, { lockTimeoutMs: 1 })).toBe(1);
  });

  it.runIf(dialect === 'postgres')('holds inside its transaction only, durable or relaxed', async () => {
    const setting = async (db: Kysely<Database>) =>
      (await sql<{ lock_timeout: string }>`show lock_timeout`.execute(db)).rows[0]?.lock_timeout;
    const outside = await setting(store.db);
    expect(outside).toBe('0');
    expect(await store.transaction(setting, { lockTimeoutMs: 20 })).toBe('20ms');
    expect(await store.transaction(setting, { lockTimeoutMs: 30, durable: false })).toBe('30ms');
    expect(await store.transaction(setting)).toBe(outside);
  });

  it.runIf(dialect === 'postgres')(
    'a statement waiting past it fails with 55P03 and nothing stays',
    async () => {
      const held = await holdRow();
      await expect(store.transaction(bump, { lockTimeoutMs: 20 })).rejects.toMatchObject({ code: '55P03' });
      held.release();
      await held.done;
      expect(await stored('held')).toBe('holder');
    },
  );

  it('sqlite ignores it; everywhere, a transaction with it commits as any other', async () => {
    await store.transaction(bump, { lockTimeoutMs: 20 });
    expect(await stored('held')).toBe('0+');
  });

  it.runIf(dialect === 'postgres')(
    'a group held up past it runs its writes again alone: each commits once, in order',
    async () => {
      const group = new GroupCommit(store, { groupLockTimeoutMs: 20 });
      const held = await holdRow();
      const insert = (trx: Kysely<Database>) =>
        trx.insertInto('settings').values({ key: 'other', value: 'v' }).execute();
      const writes = Promise.all([group.run(bump), group.run(insert)]);
      // The group gave up the row; its first write, alone now, waits for it without a timeout.
      await until(() => group.fallbacks === 1);
      await until(async () => (await waiting()) === 1);
      held.release();
      await Promise.all([writes, held.done]);
      expect(await stored('held')).toBe('holder+');
      expect(await stored('other')).toBe('v');
      expect(group.fallbacks).toBe(1);
    },
  );

  it.runIf(dialect === 'postgres')('a write alone waits for its row as long as it must', async () => {
    const group = new GroupCommit(store, { groupLockTimeoutMs: 20 });
    const held = await holdRow();
    const write = group.run(bump);
    await until(async () => (await waiting()) === 1);
    // Well past the group's timeout: a write alone that had it would have failed by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    held.release();
    await Promise.all([write, held.done]);
    expect(await stored('held')).toBe('holder+');
    expect(group.fallbacks).toBe(0);
  });
});
