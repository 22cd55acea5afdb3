/**
 * Group commit on every dialect: writes queued together share one transaction, a refused write rolls
 * back alone, a database error reaches only the write that caused it, and outcomes follow arrival order.
 * A group sends no savepoints unless a write is refused (then it runs again savepointed).
 */
import { type KyselyPlugin, RawNode } from 'kysely';
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
    expect(transactions).toBe(2); // the plain group, rolled back; then savepointed
    expect(await keys()).toEqual(['k1', 'k3']);
  });

  it('a group runs without savepoints; a refusal runs it again savepointed, and the next group too', async () => {
    const savepoints: string[] = [];
    // Sees every statement the writes' transactions send (`sql` text included), on their connection.
    const spy: KyselyPlugin = {
      transformQuery: ({ node }) => {
        if (RawNode.is(node) && node.sqlFragments.join('').includes('savepoint')) savepoints.push('s');
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const spied = new GroupCommit({
      ...counted,
      transaction: (fn) => counted.transaction((trx) => fn(trx.withPlugin(spy))),
    });
    const runs = new Map<string, number>();
    const write = (key: string, refuse = false) =>
      spied.run(async (trx) => {
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await trx.insertInto('settings').values({ key, value: 'v' }).execute();
        if (refuse) fail('InvalidInput', { argument: 'test', expected: 'nothing', received: key });
        return key;
      });
    await Promise.all([write('k1'), write('k2')]);
    expect(savepoints).toEqual([]);
    expect(transactions).toBe(1);

    const [a, b, c] = await Promise.allSettled([write('k3'), write('k4', true), write('k5')]);
    expect([a.status, b.status, c.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // k3 ran in the plain group (rolled back) and again savepointed; k5 only savepointed.
    expect(Object.fromEntries(runs)).toMatchObject({ k3: 2, k4: 2, k5: 1 });
    expect(transactions).toBe(3);
    expect(savepoints.length).toBeGreaterThan(0);

    // After a refusal the next group is savepointed from the start: each write runs once.
    savepoints.length = 0;
    await Promise.all([write('k6'), write('k7')]);
    expect(savepoints.length).toBeGreaterThan(0);
    expect(transactions).toBe(4);
    // A group without refusals goes back to plain.
    savepoints.length = 0;
    await Promise.all([write('k8'), write('k9')]);
    expect(savepoints).toEqual([]);
    expect([...runs.values()].reduce((x, y) => x + y)).toBe(11);
    expect(await keys()).toEqual(['k1', 'k2', 'k3', 'k5', 'k6', 'k7', 'k8', 'k9']);
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
