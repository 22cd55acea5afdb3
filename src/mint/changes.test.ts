/**
 * The event source of NUT-17 subscriptions: `store.afterCommit` runs an effect after the commit only
 * (at once outside a transaction, never after a rollback), and `Mint.changes` publishes the `Y`s a
 * swap spent, a caller's transaction held pending, settled or released, each once it is committed.
 * On SQLite and PostgreSQL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import type { Store } from '../store/index.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';
import { issue, makeOutputs } from '../test-support/notes.js';
import { Mint } from './mint.js';

const curve = defaultCurve();

describe.each(DIALECTS)('state changes on %s', (dialect) => {
  let store: Store;
  let mint: Mint;
  /** What `mint.changes` published, in order, as `kind: Y count`… with a marker per commit step. */
  let seen: string[];

  beforeEach(async () => {
    store = await freshStore(dialect);
    mint = await Mint.open({ store, unit: 'eur', curve });
    seen = [];
    mint.changes.subscribeAll((ids) => seen.push([...ids].sort().join(',')));
  });
  afterEach(async () => {
    await store.close();
  });

  it('store.afterCommit: after the commit, at once outside a transaction, never after a rollback', async () => {
    const ran: string[] = [];
    await store.transaction(async (trx) => {
      store.afterCommit(trx, () => ran.push('committed'));
      store.afterCommit(trx, () => {
        throw new Error('an effect that fails does not stop the others');
      });
      store.afterCommit(trx, () => ran.push('second'));
      ran.push('inside');
    });
    await expect(
      store.transaction(async (trx) => {
        store.afterCommit(trx, () => ran.push('rolled back'));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    store.afterCommit(store.db, () => ran.push('outside'));
    expect(ran).toEqual(['inside', 'committed', 'second', 'outside']);
  });

  it('publishes the Ys a swap spent, after its commit', async () => {
    const inputs = await issue(curve, mint, [1, 4]);
    const Ys = (await mint.prepareInputs(inputs)).Ys;
    seen = [];
    await mint.swap(
      inputs,
      makeOutputs(curve, mint.keysets.current().id, [1, 4]).map((o) => o.message),
    );
    expect(seen).toEqual([[...Ys].sort().join(',')]);
  });

  it('publishes pending, settled and released Ys once each transaction commits, nothing for a rollback', async () => {
    const inputs = await issue(curve, mint, [2, 8]);
    const prepared = await mint.prepareInputs(inputs);
    const Ys = [...prepared.Ys].sort().join(',');
    seen = [];
    await expect(
      store.transaction(async (trx) => {
        await mint.commitInputs(trx, prepared, 'job-0', 'pending');
        expect(seen).toEqual([]);
        throw new Error('the caller gives up');
      }),
    ).rejects.toThrow();
    expect(seen).toEqual([]);
    await store.transaction(async (trx) => {
      await mint.commitInputs(trx, prepared, 'job-1', 'pending');
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual([Ys]);
    expect(await store.transaction((trx) => mint.releasePending(trx, 'job-1'))).toBe(2);
    expect(seen).toEqual([Ys, Ys]);
    await store.transaction((trx) => mint.commitInputs(trx, prepared, 'job-2', 'pending'));
    expect(await store.transaction((trx) => mint.settlePending(trx, 'job-2'))).toBe(2);
    expect(seen).toHaveLength(4);
    // Settling what is settled changes nothing and says nothing.
    expect(await store.transaction((trx) => mint.settlePending(trx, 'job-2'))).toBe(0);
    expect(seen).toHaveLength(4);
  });
});
