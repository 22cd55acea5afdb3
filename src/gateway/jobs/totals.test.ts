/**
 * The running count of jobs past their bank call (`gateway_job_totals`, migration 019), on each
 * dialect: inserts and state changes keep it equal to the rows' count (concurrent moves included), a
 * move that lost its race or a rolled-back transaction leaves it as it was, and the request-log check's
 * audit reads both in one statement so a change to either side shows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { pastTheCallAgainstRows } from '../reconcile/repository.js';
import * as repo from './repository.js';

function row(id: string, state: repo.JobRow['state'] = 'issuing'): repo.JobRow {
  return {
    id,
    direction: 'lan-to-wan',
    state,
    active: 1,
    sender_key: 'aa'.repeat(32),
    request_hash: 'bb'.repeat(32),
    destination: 'wan1…',
    destination_key: 'cc'.repeat(32),
    reply_to: null,
    amount: 1,
    journal: '{}',
    notice: 'none',
    refusal: null,
    attempts: 0,
    next_attempt_at: 0,
    last_error: null,
    created_at: 0,
    updated_at: 0,
  };
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
