/**
 * The journal's compiled step writes on each dialect (`repository.ts` `moveWithEvent`, `insertIntake`:
 * on PostgreSQL one statement each, a data-modifying CTE; on SQLite two or three): a move writes the
 * job's row, its event (numbered after the last) and the running totals together; a move that lost its
 * race, or whose lease is another's or nobody's, changes none of the three; an intake writes its job
 * and first event once, leased when asked (PostgreSQL). The journal's bulk (migration 029) is carried
 * by the event of the intake and of each move that brings some, and never written by a move that lost
 * its race, rolled back or ran under another's lease.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { jobRow } from '../../test-support/jobs.js';
import { finishedAgainstRows, pastTheCallAgainstRows } from '../reconcile/repository.js';
import { jobOf } from './reads.js';
import * as repo from './repository.js';

const A = { owner: 'host/1/a', ttlMs: 60_000 };

/** A conversion's intake row of `id`, created at `at`. */
function intakeRow(id: string, at = 7): repo.IntakeRow {
  const {
    kind: _k,
    ref: _r,
    parked_at: _p,
    lease_owner: _o,
    lease_until: _u,
    pruned_at: _x,
    ...row
  } = jobRow(id, { created_at: at, updated_at: at, next_attempt_at: at });
  return row;
}

/** A step's move of `id` from `from` to `to` at `now`, with `over` on top. */
function stepMove(
  id: string,
  from: repo.JobRow['state'],
  to: repo.JobRow['state'],
  now: number,
  over: Partial<repo.StepMove> = {},
): repo.StepMove {
  return {
    id,
    kind: 'transfer',
    createdAt: 7,
    from,
    to,
    lease: undefined,
    release: false,
    now,
    detail: `${to}!`,
    ...over,
  };
}

describe.each(DIALECTS)('compiled step writes on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(async () => {
    await store.close();
  });

  const events = async (id: string) =>
    (await repo.eventsOf(store.db, [id])).map(
      (e) => `${Number(e.seq)} ${e.from_state}>${e.to_state} ${Number(e.at)} ${e.detail}`,
    );
  const totals = async () => ({
    past: await pastTheCallAgainstRows(store.db),
    finished: (await finishedAgainstRows(store.db)).filter((f) => f.running > 0 || f.rows > 0),
  });
  const move = (m: repo.StepMove) => store.transaction((trx) => repo.moveWithEvent(trx, m));

  it('an intake writes its job and first event once; each move its row, event and totals together', async () => {
    expect(await store.transaction((trx) => repo.insertIntake(trx, intakeRow('a'), 'in'))).toBe(true);
    expect(await store.transaction((trx) => repo.insertIntake(trx, intakeRow('a', 9), 'again'))).toBe(false);
    expect(await events('a')).toEqual(['1 received>issuing 7 in']);
    expect(await repo.getJob(store.db, 'a')).toMatchObject({
      state: 'issuing',
      created_at: 7,
      kind: 'transfer',
    });

    // A move that lost its race (the job is not in `from`) changes nothing.
    expect(await move(stepMove('a', 'delivering', 'done', 10))).toBe(false);
    expect(await move(stepMove('a', 'issuing', 'delivering', 10, { journal: '{"j":1}' }))).toBe(true);
    expect(await repo.getJob(store.db, 'a')).toMatchObject({
      state: 'delivering',
      journal: '{"j":1}',
      notice: 'none',
      active: 1,
      attempts: 0,
      next_attempt_at: 10,
      updated_at: 10,
    });
    expect(await totals()).toEqual({ past: { running: 1, rows: 1 }, finished: [] });
    // Columns not given stay; the finishing move counts the job and its creation as the oldest.
    expect(await move(stepMove('a', 'delivering', 'done', 11, { active: 0 }))).toBe(true);
    expect(await repo.getJob(store.db, 'a')).toMatchObject({ state: 'done', journal: '{"j":1}', active: 0 });
    expect(await events('a')).toEqual([
      '1 received>issuing 7 in',
      '2 issuing>delivering 10 delivering!',
      '3 delivering>done 11 done!',
    ]);
    expect(await totals()).toEqual({
      past: { running: 1, rows: 1 },
      finished: [{ state: 'done', kind: 'transfer', running: 1, rows: 1 }],
    });
    const oldest = await sql<{
      o: number | string | null;
    }>`select min(oldest_done_transfer) as o from gateway_job_totals`.execute(store.db);
    expect(Number(oldest.rows[0]?.o)).toBe(7);

    // A refusal: its refusal and notice written, counted as refused of its kind.
    await store.transaction((trx) => repo.insertIntake(trx, { ...intakeRow('b'), state: 'receiving' }, ''));
    const refusal = JSON.stringify({ code: 1, detail: 'no' });
    expect(
      await move(
        stepMove('b', 'receiving', 'refused', 12, {
          kind: 'transfer',
          refusal,
          notice: 'pending',
          active: 1,
        }),
      ),
    ).toBe(true);
    expect(await repo.getJob(store.db, 'b')).toMatchObject({
      state: 'refused',
      refusal,
      notice: 'pending',
      active: 1,
    });
    expect((await totals()).finished).toEqual([
      { state: 'done', kind: 'transfer', running: 1, rows: 1 },
      { state: 'refused', kind: 'transfer', running: 1, rows: 1 },
    ]);
    // A rolled-back move leaves all three as they were.
    await store.transaction((trx) => repo.insertIntake(trx, intakeRow('c'), ''));
    await expect(
      store.transaction(async (trx) => {
        await repo.moveWithEvent(trx, stepMove('c', 'issuing', 'delivering', 13));
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await repo.getJob(store.db, 'c')).toMatchObject({ state: 'issuing' });
    expect(await events('c')).toEqual(['1 received>issuing 7 ']);
    expect((await totals()).past).toEqual({ running: 1, rows: 1 });
  });

  it("writes the journal's bulk beside its event, once, and reads it back in order", async () => {
    const bulk = (id: string) => repo.bulkOf(store.db, id);
    const intake = (at: number, b: string) =>
      store.transaction((trx) => repo.insertIntake(trx, intakeRow('k', at), 'in', undefined, b));
    expect(await intake(7, '{"outputs":[1]}')).toBe(true);
    expect(await intake(9, '{"outputs":[2]}')).toBe(false);
    expect(await bulk('k')).toEqual(['{"outputs":[1]}']);

    // A lost race and a rolled-back move write none.
    expect(await move(stepMove('k', 'delivering', 'done', 10, { bulk: '{"delivery":0}' }))).toBe(false);
    await expect(
      store.transaction(async (trx) => {
        await repo.moveWithEvent(trx, stepMove('k', 'issuing', 'delivering', 10, { bulk: '{"delivery":0}' }));
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await bulk('k')).toEqual(['{"outputs":[1]}']);

    // Outputs renewed in place, then the step's notes and payment with a head part, then done (none).
    expect(await move(stepMove('k', 'issuing', 'issuing', 10, { bulk: '{"outputs":[3]}' }))).toBe(true);
    expect(
      await move(
        stepMove('k', 'issuing', 'delivering', 11, { bulk: '{"delivery":4}', journal: '{"memo":"m"}' }),
      ),
    ).toBe(true);
    expect(await move(stepMove('k', 'delivering', 'done', 12, { active: 0 }))).toBe(true);
    expect(await bulk('k')).toEqual(['{"outputs":[1]}', '{"outputs":[3]}', '{"delivery":4}']);
    // Each on the event of its write; the done move's carries none.
    const carried = await store.db
      .selectFrom('gateway_job_events')
      .select(['seq', 'bulk'])
      .where('job_id', '=', 'k')
      .orderBy('seq')
      .execute();
    expect(carried.map((r) => [Number(r.seq), r.bulk])).toEqual([
      [1, '{"outputs":[1]}'],
      [2, '{"outputs":[3]}'],
      [3, '{"delivery":4}'],
      [4, null],
    ]);
    // A later part replaces an earlier one of its name; the head comes from the row.
    expect((await jobOf(store.db, 'k'))?.journal).toEqual({ outputs: [3], delivery: 4, memo: 'm' });
  });

  it('a move through a state on its way writes what the two moves would: the row, both events, the totals', async () => {
    // Job 2's payment deposited with its notes: receiving → delivering → done, as one write and as two.
    const receiving = (id: string) => ({
      ...intakeRow(id),
      state: 'receiving' as const,
      direction: 'wan-to-lan' as const,
    });
    for (const id of ['one', 'two'])
      expect(
        await store.transaction((trx) => repo.insertIntake(trx, receiving(id), 'in', undefined, '{"o":1}')),
      ).toBe(true);
    const via = { state: 'delivering' as const, detail: 'receipt 9' };
    const done = { active: 0, bulk: '{"delivery":2}', journal: '{"memo":"m"}' };
    // A lost race (not in `from`) writes nothing.
    expect(await move(stepMove('one', 'issuing', 'done', 10, { ...done, via }))).toBe(false);
    expect(await events('one')).toEqual(['1 received>receiving 7 in']);
    expect(await move(stepMove('one', 'receiving', 'done', 10, { ...done, via, detail: 'delivered' }))).toBe(
      true,
    );
    expect(
      await move(
        stepMove('two', 'receiving', 'delivering', 10, { ...done, active: undefined, detail: via.detail }),
      ),
    ).toBe(true);
    expect(await move(stepMove('two', 'delivering', 'done', 10, { active: 0, detail: 'delivered' }))).toBe(
      true,
    );
    const [one, two] = [await repo.getJob(store.db, 'one'), await repo.getJob(store.db, 'two')];
    expect({ ...one, id: 'two' }).toEqual(two);
    expect(await events('one')).toEqual([
      '1 received>receiving 7 in',
      '2 receiving>delivering 10 receipt 9',
      '3 delivering>done 10 delivered',
    ]);
    expect(await events('two')).toEqual(await events('one'));
    expect(await repo.bulkOf(store.db, 'one')).toEqual(['{"o":1}', '{"delivery":2}']);
    expect((await jobOf(store.db, 'one'))?.journal).toEqual((await jobOf(store.db, 'two'))?.journal);
    expect(await totals()).toEqual({
      past: { running: 2, rows: 2 },
      finished: [{ state: 'done', kind: 'transfer', running: 2, rows: 2 }],
    });
    // Never through a finished state.
    await expect(
      move(stepMove('one', 'receiving', 'done', 11, { via: { state: 'refused', detail: '' } })),
    ).rejects.toThrow();
  });

  it.skipIf(dialect !== 'postgres')(
    "refuses a move under another's lease or none, changing nothing; the holder's settling move gives it up",
    async () => {
      expect(await store.transaction((trx) => repo.insertIntake(trx, intakeRow('x'), '', A))).toBe(true);
      const born = await repo.getJob(store.db, 'x');
      expect(born?.lease_owner).toBe(A.owner);
      expect(Number(born?.lease_until)).toBeGreaterThan(Date.now());
      await store.transaction((trx) => repo.insertIntake(trx, intakeRow('free'), ''));
      expect((await repo.getJob(store.db, 'free'))?.lease_owner).toBeNull();

      const before = { x: await repo.getJob(store.db, 'x'), totals: await totals() };
      const stolen = { lease: 'host/2/b', bulk: '{"delivery":0}' };
      expect(await move(stepMove('x', 'issuing', 'delivering', 20, stolen))).toBe(false);
      expect(await move(stepMove('free', 'issuing', 'delivering', 20, { lease: A.owner }))).toBe(false);
      expect(await repo.getJob(store.db, 'x')).toEqual(before.x);
      expect((await repo.getJob(store.db, 'free'))?.state).toBe('issuing');
      expect(await events('x')).toEqual(['1 received>issuing 7 ']);
      expect(await events('free')).toEqual(['1 received>issuing 7 ']);
      expect(await repo.bulkOf(store.db, 'x')).toEqual([]);
      expect(await totals()).toEqual(before.totals);

      expect(await move(stepMove('x', 'issuing', 'delivering', 21, { lease: A.owner }))).toBe(true);
      expect((await repo.getJob(store.db, 'x'))?.lease_owner).toBe(A.owner);
      expect(await move(stepMove('x', 'delivering', 'done', 22, { lease: A.owner, release: true }))).toBe(
        true,
      );
      expect(await repo.getJob(store.db, 'x')).toMatchObject({
        state: 'done',
        lease_owner: null,
        lease_until: null,
      });
      expect((await totals()).past).toEqual({ running: 1, rows: 1 });
    },
  );
});
