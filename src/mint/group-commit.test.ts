/**
 * Group commit on every dialect: writes queued together share one transaction, a refused write rolls
 * back alone, a database error reaches only the write that caused it, and outcomes follow arrival order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fail, isLancashError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';
import { GroupCommit } from './group-commit.js';

describe.each(DIALECTS)('group commit on %s', (dialect) => {
  let store: Store;
  let transactions: number;
  let group: GroupCommit;
  let counted: Store;

  beforeEach(async () => {
    store = await freshStore(dialect);
    transactions = 0;
    // Count the transactions the group opens, with the store's own semantics underneath.
    counted = {
      dialect: store.dialect,
      db: store.db,
      transaction: (fn) => {
        transactions++;
        return store.transaction(fn);
      },
      afterCommit: (db, fn) => store.afterCommit(db, fn),
      secrets: store.secrets,
      overwriteSecurely: (fn) => store.overwriteSecurely(fn),
      close: () => store.close(),
    };
    group = new GroupCommit(counted);
  });
  afterEach(async () => {
    await store.close();
  });

  const put = (key: string) =>
    group.run(async (trx) => {
      const r = await trx
        .insertInto('settings')
        .values({ key, value: 'v' })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n);
    });
  const keys = async () =>
    (
      await store.db.selectFrom('settings').select('key').where('key', 'like', 'k%').orderBy('key').execute()
    ).map((r) => r.key);

  it('writes queued together share one transaction; the same key twice: the first one wins', async () => {
    const results = await Promise.all([put('k1'), put('k2'), put('k1'), put('k3')]);
    expect(results).toEqual([1, 1, 0, 1]);
    expect(transactions).toBe(1);
    expect(await keys()).toEqual(['k1', 'k2', 'k3']);
  });

  it('a refused write rolls back alone; the others commit', async () => {
    const refused = group.run(async (trx) => {
      await trx.insertInto('settings').values({ key: 'k2', value: 'v' }).execute();
      return fail('InvalidInput', { argument: 'test', expected: 'nothing', received: 'k2' });
    });
    const [a, b, c] = await Promise.allSettled([put('k1'), refused, put('k3')]);
    expect(a).toEqual({ status: 'fulfilled', value: 1 });
    expect(b.status === 'rejected' && isLancashError(b.reason, 'InvalidInput')).toBe(true);
    expect(c).toEqual({ status: 'fulfilled', value: 1 });
    expect(transactions).toBe(1);
    expect(await keys()).toEqual(['k1', 'k3']);
  });

  it('a database error reaches only its own write: the others run again alone and commit', async () => {
    await put('k0');
    transactions = 0;
    // A duplicate primary key without ON CONFLICT: the database refuses the statement.
    const broken = group.run((trx) => trx.insertInto('settings').values({ key: 'k0', value: 'v' }).execute());
    const [a, b, c] = await Promise.allSettled([put('k1'), broken, put('k3')]);
    expect(a).toEqual({ status: 'fulfilled', value: 1 });
    expect(b.status).toBe('rejected');
    expect(b.status === 'rejected' && isLancashError(b.reason)).toBe(false);
    expect(c).toEqual({ status: 'fulfilled', value: 1 });
    expect(transactions).toBe(4); // the group, then each write alone
    expect(await keys()).toEqual(['k0', 'k1', 'k3']);
  });

  it('with writes on their way, a group waits for them (up to its linger); with none, it does not', async () => {
    let coming = 1;
    const lingering = new GroupCommit(counted, { lingerMs: 60_000, coming: () => coming });
    const write = (key: string) =>
      lingering.run((trx) => trx.insertInto('settings').values({ key, value: 'v' }).execute());
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    const first = write('k1');
    await tick();
    coming = 0; // the awaited write arrives: nothing else is coming
    await Promise.all([first, write('k2')]);
    expect(transactions).toBe(1);
    const third = write('k3');
    await tick();
    await Promise.all([third, write('k4')]);
    expect(transactions).toBe(3);
    expect(await keys()).toEqual(['k1', 'k2', 'k3', 'k4']);
  });

  it('writes that arrive while a group commits form the next group', async () => {
    const first = put('k1');
    await first;
    const later = await Promise.all([put('k2'), put('k3')]);
    expect(later).toEqual([1, 1]);
    expect(transactions).toBe(2);
  });
});
