/**
 * `reusable`: a statement compiled once per database runs with each call's values, inside and outside
 * transactions, and gives the rows the same statement built directly gives; a build that does not pass
 * an argument into the statement is refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { reusable, reusableWrite } from './reusable.js';

const settingsFrom = reusable((db, from: string, below: string) =>
  db
    .selectFrom('settings')
    .select(['key', 'value'])
    .where('key', '>=', from)
    .where('key', '<', below)
    .where('value', '!=', 'hidden')
    .orderBy('key'),
);

const setValue = reusable((db, key: string, value: string) =>
  db.updateTable('settings').set({ value }).where('key', '=', key).returning(['key', 'value']),
);

const insertIfAbsent = reusableWrite((db, key: string, value: string) =>
  db
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing()),
);

describe.each(DIALECTS)('reusable statements on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
    await store.db
      .insertInto('settings')
      .values(['a', 'b', 'c', 'd', 'e'].map((key) => ({ key, value: key === 'c' ? 'hidden' : `v${key}` })))
      .execute();
  });
  afterEach(() => store.close());

  it('runs with each call’s values and gives the rows of the statement built directly', async () => {
    for (const [from, below] of [
      ['a', 'z'],
      ['b', 'e'],
      ['x', 'z'],
    ] as const) {
      const direct = await store.db
        .selectFrom('settings')
        .select(['key', 'value'])
        .where('key', '>=', from)
        .where('key', '<', below)
        .where('value', '!=', 'hidden')
        .orderBy('key')
        .execute();
      expect(await settingsFrom(store.db, from, below)).toEqual(direct);
    }
    expect(await settingsFrom(store.db, 'b', 'e')).toEqual([
      { key: 'b', value: 'vb' },
      { key: 'd', value: 'vd' },
    ]);
  });

  it('runs inside a transaction, and its writes go with the transaction', async () => {
    const updated = await store.transaction(async (trx) => {
      const rows = await setValue(trx, 'a', 'new');
      expect(await settingsFrom(trx, 'a', 'b')).toEqual([{ key: 'a', value: 'new' }]);
      return rows;
    });
    expect(updated).toEqual([{ key: 'a', value: 'new' }]);
    await store
      .transaction(async (trx) => {
        await setValue(trx, 'b', 'lost');
        throw new Error('rolls back');
      })
      .catch(() => {});
    expect(await settingsFrom(store.db, 'a', 'c')).toEqual([
      { key: 'a', value: 'new' },
      { key: 'b', value: 'vb' },
    ]);
  });

  // SQLite runs a read on the store's handle at once when it can (`sqlite/direct.ts`): never while a
  // transaction is open on the one connection, whose uncommitted rows it would see.
  it('a read on the store’s handle never sees an open transaction’s rows', async () => {
    let read: Promise<unknown> | undefined;
    await store
      .transaction(async (trx) => {
        await setValue(trx, 'a', 'uncommitted');
        read = settingsFrom(store.db, 'a', 'b');
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new Error('rolls back');
      })
      .catch(() => {});
    expect(await read).toEqual([{ key: 'a', value: 'va' }]);
  });

  it('counts the rows a reusable write changed, in and outside a transaction', async () => {
    expect(await insertIfAbsent(store.db, 'new', 'x')).toBe(1);
    expect(await insertIfAbsent(store.db, 'new', 'y')).toBe(0);
    expect(await store.transaction((trx) => insertIfAbsent(trx, 'newer', 'x'))).toBe(1);
    expect(await store.transaction((trx) => insertIfAbsent(trx, 'newer', 'y'))).toBe(0);
  });

  it('refuses a build that does not pass an argument into the statement', async () => {
    const ignoring = reusable((db, _key: string) => db.selectFrom('settings').select('key'));
    const err = await ignoring(store.db, 'a').catch((e: unknown) => e);
    expect(isLancashError(err, 'Internal')).toBe(true);
  });
});
