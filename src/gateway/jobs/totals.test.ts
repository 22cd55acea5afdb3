/**
 * The running totals of the job journal (`gateway_job_totals`), on each dialect: the count of jobs past
 * their bank call (migration 019) and the finished jobs per state and kind with the oldest's creation
 * (020). Inserts and state changes keep them equal to the rows' (concurrent moves included), a move that
 * lost its race or a rolled-back transaction leaves them as they were, the audit reads both sides in one
 * statement so a change to either shows, the console's summary reads them, and migration 020 sums the
 * finished jobs (and the local mint's fees collected) of books that already exist.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { feesAgainstRows } from '../../mint/repository.js';
import { openStore, type Store } from '../../store/index.js';
import {
  DIALECTS,
  type FreshDatabase,
  freshDatabase,
  freshStore,
  type TestStore,
} from '../../test-support/dialects.js';
import { jobRow } from '../../test-support/jobs.js';
import { migratedUpTo } from '../../test-support/older-database.js';
import { jobCounts } from '../console/repository.js';
import { finishedAgainstRows, pastTheCallAgainstRows } from '../reconcile/repository.js';
import * as repo from './repository.js';

function row(
  id: string,
  state: repo.JobRow['state'] = 'issuing',
  kind: repo.JobKind = 'transfer',
  created_at = 0,
): repo.JobRow {
  return jobRow(id, { kind, state, created_at, journal: '{}' });
}

describe.each(DIALECTS)('jobs past their bank call on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(async () => {
    await store.close();
  });

  const both = () => pastTheCallAgainstRows(store.db);
  const move = (id: string, from: repo.JobRow['state'], to: repo.JobRow['state']) =>
    store.transaction((trx) => repo.moveJob(trx, id, { state: from }, { state: to }));

  it('follows inserts and moves; not a lost race or a rollback', async () => {
    await store.transaction(async (trx) => {
      await repo.insertJobIfAbsent(trx, row('a'));
      await repo.insertJobIfAbsent(trx, row('b'));
      // Inserted past the call (a journal rebuilt at its answer) counts at once; a taken id does not.
      await repo.insertJobIfAbsent(trx, row('c', 'done'));
      await repo.insertJobIfAbsent(trx, row('c', 'done'));
    });
    expect(await both()).toEqual({ running: 1, rows: 1 });
    expect(await move('a', 'issuing', 'delivering')).toBe(true);
    expect(await both()).toEqual({ running: 2, rows: 2 });
    // Lost race: `a` is no longer issuing, nothing changes.
    expect(await move('a', 'issuing', 'delivering')).toBe(false);
    expect(await move('a', 'delivering', 'done')).toBe(true);
    expect(await both()).toEqual({ running: 2, rows: 2 });
    expect(await move('b', 'issuing', 'refused')).toBe(true);
    expect(await both()).toEqual({ running: 2, rows: 2 });
    await expect(
      store.transaction(async (trx) => {
        await repo.insertJobIfAbsent(trx, row('d'));
        await repo.moveJob(trx, 'd', { state: 'issuing' }, { state: 'done' });
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await both()).toEqual({ running: 2, rows: 2 });
    expect(await repo.pastTheCall(store.db)).toBe(2);

    // Many jobs moved at once, each in its own transaction (they share shards).
    const ids = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const id of ids) await store.transaction((trx) => repo.insertJobIfAbsent(trx, row(id)));
    await Promise.all(ids.map((id) => move(id, 'issuing', 'delivering')));
    expect(await both()).toEqual({ running: 32, rows: 32 });

    // A row changed outside the gateway: the two sides differ.
    await store.db.updateTable('gateway_jobs').set({ state: 'issuing' }).where('id', '=', 'c').execute();
    expect(await both()).toEqual({ running: 32, rows: 31 });
  });
});

/** The finished counts that differ from zero, `state kind: running/rows`. */
async function finished(db: Store['db']): Promise<string[]> {
  const all = await finishedAgainstRows(db);
  return all
    .filter((f) => f.running !== 0 || f.rows !== 0)
    .map((f) => `${f.state} ${f.kind}: ${f.running}/${f.rows}`);
}

describe.each(DIALECTS)('finished jobs per state and kind on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(async () => {
    await store.close();
  });

  const move = (id: string, from: repo.JobRow['state'], to: repo.JobRow['state']) =>
    store.transaction((trx) => repo.moveJob(trx, id, { state: from }, { state: to }));

  it('follow inserts and moves; not a lost race or a rollback; the summary reads them', async () => {
    await store.transaction(async (trx) => {
      await repo.insertJobIfAbsent(trx, row('a', 'issuing', 'transfer', 50));
      await repo.insertJobIfAbsent(trx, row('b', 'receiving', 'payout', 40));
      await repo.insertJobIfAbsent(trx, row('c', 'done', 'payroll', 30));
      await repo.insertJobIfAbsent(trx, row('c', 'done', 'payroll', 30));
      await repo.insertJobIfAbsent(trx, row('d', 'issuing', 'transfer', 20));
    });
    expect(await finished(store.db)).toEqual(['done payroll: 1/1']);
    expect(await move('a', 'issuing', 'delivering')).toBe(true);
    expect(await move('a', 'delivering', 'done')).toBe(true);
    // Lost race: `a` is done already.
    expect(await move('a', 'delivering', 'done')).toBe(false);
    expect(await move('b', 'receiving', 'refused')).toBe(true);
    expect(await finished(store.db)).toEqual([
      'done transfer: 1/1',
      'done payroll: 1/1',
      'refused payout: 1/1',
    ]);
    await expect(
      store.transaction(async (trx) => {
        await repo.moveJob(trx, 'd', { state: 'issuing' }, { state: 'refused' });
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await finished(store.db)).toEqual([
      'done transfer: 1/1',
      'done payroll: 1/1',
      'refused payout: 1/1',
    ]);

    // Many finished at once, each in its own transaction; the oldest is the earliest created.
    const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (const [i, id] of ids.entries()) {
      await store.transaction((trx) =>
        repo.insertJobIfAbsent(trx, row(id, 'delivering', 'transfer', 100 + i)),
      );
    }
    await Promise.all(ids.map((id) => move(id, 'delivering', 'done')));
    expect(await finished(store.db)).toEqual([
      'done transfer: 21/21',
      'done payroll: 1/1',
      'refused payout: 1/1',
    ]);

    expect(await jobCounts(store.db)).toEqual([
      { kind: 'payout', state: 'refused', count: 1, oldestAt: 40 },
      { kind: 'payroll', state: 'done', count: 1, oldestAt: 30 },
      { kind: 'transfer', state: 'done', count: 21, oldestAt: 50 },
      { kind: 'transfer', state: 'issuing', count: 1, oldestAt: 20 },
    ]);

    // Either side changed outside the gateway: the audit's read shows the difference.
    await store.db.updateTable('gateway_jobs').set({ state: 'refused' }).where('id', '=', 'c').execute();
    expect(await finished(store.db)).toEqual([
      'done transfer: 21/21',
      'done payroll: 1/0',
      'refused payroll: 0/1',
      'refused payout: 1/1',
    ]);
    await store.db
      .updateTable('gateway_job_totals')
      .set((eb) => ({ refused_payout: eb('refused_payout', '+', 5) }))
      .where('id', '=', 0)
      .execute();
    expect(await finished(store.db)).toContain('refused payout: 6/1');
  });
});

describe.each(DIALECTS)('migration 020 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  it('counts the finished jobs that exist, with the oldest of each', async () => {
    fresh = await freshDatabase(dialect);
    const config = fresh.config;
    const db = await migratedUpTo(config, '020_summary_totals');
    await db
      .insertInto('gateway_jobs')
      .values([
        { ...row('j1', 'done', 'transfer', 7), request_hash: 'j1' },
        { ...row('j2', 'done', 'transfer', 5), request_hash: 'j2' },
        { ...row('j3', 'refused', 'payroll', 9), request_hash: 'j3', ref: 'r' },
        { ...row('j4', 'issuing', 'payout', 3), request_hash: 'j4', ref: 'p' },
      ])
      .execute();
    // Fees: operation `a` spent (2 × 600 ppk: 2), `b` still pending (none yet), `c` at a keyset without a fee.
    const keyset = { unit: 'eur', active: 1, derivation_index: 0, max_order: 32, created_at: 1 };
    await db
      .insertInto('mint_keysets')
      .values([
        { ...keyset, id: 'kf', input_fee_ppk: 600 },
        { ...keyset, id: 'k0', input_fee_ppk: 0, derivation_index: 1 },
      ])
      .execute();
    const proof = { amount: 4, secret: 's', c: 'c', witness: null, created_at: 1, updated_at: 1 };
    await db
      .insertInto('mint_proofs')
      .values([
        { ...proof, y: 'y1', keyset_id: 'kf', state: 'spent', operation: 'a' },
        { ...proof, y: 'y2', keyset_id: 'kf', state: 'spent', operation: 'a' },
        { ...proof, y: 'y3', keyset_id: 'kf', state: 'pending', operation: 'b' },
        { ...proof, y: 'y4', keyset_id: 'k0', state: 'spent', operation: 'c' },
      ])
      .execute();
    await db.destroy();

    store = await openStore(config);
    expect(await feesAgainstRows(store.db)).toEqual({ running: 2, rows: 2 });
    expect(await finished(store.db)).toEqual(['done transfer: 2/2', 'refused payroll: 1/1']);
    expect(await jobCounts(store.db)).toEqual([
      { kind: 'payout', state: 'issuing', count: 1, oldestAt: 3 },
      { kind: 'payroll', state: 'refused', count: 1, oldestAt: 9 },
      { kind: 'transfer', state: 'done', count: 2, oldestAt: 5 },
    ]);
  });
});
