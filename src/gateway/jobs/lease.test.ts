/**
 * Job leases on PostgreSQL (docs/gateway.md, "Running several gateway processes"), over the real
 * journal table: two processes claiming at once take disjoint jobs; a job another holds cannot be
 * claimed, renewed, given up or moved by anyone else; a lapsed lease is taken over, and the old
 * holder's commit then changes nothing. A runner with a lease takes over the job of a holder that died
 * (no more renewals) once its lease lapses, and steps it once. PostgreSQL only: SQLite is one process.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import * as repo from './repository.js';
import { JobRunner, type StepOutcome } from './runner.js';

function row(id: string): repo.JobRow {
  return {
    id,
    direction: 'lan-to-wan',
    state: 'issuing',
    active: 1,
    sender_key: 'aa'.repeat(32),
    request_hash: 'bb'.repeat(32),
    destination: 'wan1…',
    destination_key: 'cc'.repeat(32),
    reply_to: null,
    amount: 1,
    journal: '{"outputs":[]}',
    notice: 'none',
    refusal: null,
    attempts: 0,
    next_attempt_at: 0,
    last_error: null,
    created_at: 0,
    updated_at: 0,
  };
}

const A = { owner: 'host/1/a', ttlMs: 60_000 };
const B = { owner: 'host/2/b', ttlMs: 60_000 };

/** Waits until the database's clock has passed `job`'s lease. */
async function lapsed(store: TestStore, id: string): Promise<void> {
  for (;;) {
    const r = await repo.getJob(store.db, id);
    if (r?.lease_until != null && Number(r.lease_until) < Date.now() - 50) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!DIALECTS.includes('postgres'))('job leases on postgres', () => {
  let store: TestStore;

  beforeEach(async () => {
    store = await freshStore('postgres');
  });
  afterEach(async () => {
    await store.close();
  });

  it('claims are disjoint; only the holder renews, gives up or moves; a lapsed lease is taken over', async () => {
    for (let i = 0; i < 10; i++) await repo.insertJobIfAbsent(store.db, row(`j${i}`));
    const [a, b] = await Promise.all([
      repo.claimDueMoney(store.db, 1, 6, A),
      repo.claimDueMoney(store.db, 1, 10, B),
    ]);
    const ids = [...a, ...b].map((r) => r.id).sort();
    expect(ids).toEqual([...Array(10).keys()].map((i) => `j${i}`).sort());
    expect(a.length).toBeLessThanOrEqual(6);
    // Nothing left to claim; and neither claims the other's job one by one.
    expect(await repo.claimDueMoney(store.db, 1, 10, A)).toEqual([]);
    const bs = b[0]!.id;
    expect(await repo.claimJob(store.db, bs, A)).toBeUndefined();
    expect(await repo.claimJob(store.db, bs, B)).toMatchObject({ state: 'issuing' });
    expect(await repo.renewLeases(store.db, [bs], A)).toBe(0);
    await repo.releaseLease(store.db, bs, A.owner);
    expect((await repo.getJob(store.db, bs))?.lease_owner).toBe(B.owner);
    expect(
      await repo.moveJob(store.db, bs, { state: 'issuing', lease: A.owner }, { state: 'delivering' }),
    ).toBe(false);
    expect(await repo.moveJob(store.db, bs, { state: 'issuing', lease: B.owner }, { attempts: 1 })).toBe(
      true,
    );
    // The leased rows are not due for other processes' delivery looks either.
    await repo.moveJob(store.db, bs, { state: 'issuing', lease: B.owner }, { state: 'delivering' });
    expect(await repo.dueInLane(store.db, 'delivery', 1, 10, undefined, true)).toEqual([]);
    await repo.releaseLease(store.db, bs, B.owner);
    expect((await repo.dueInLane(store.db, 'delivery', 1, 10, undefined, true)).map((r) => r.id)).toEqual([
      bs,
    ]);

    // A lease that lapses (its holder stopped renewing) is taken over; the old holder's commit fails.
    const x = 'y';
    await repo.insertJobIfAbsent(store.db, row(x));
    await repo.claimJob(store.db, x, { ...A, ttlMs: 1 }); // A claims with a tiny lease, then "dies"
    await lapsed(store, x);
    expect(await repo.claimJob(store.db, x, B)).toMatchObject({ state: 'issuing' });
    expect(
      await repo.moveJob(store.db, x, { state: 'issuing', lease: A.owner }, { state: 'delivering' }),
    ).toBe(false);
    expect((await repo.getJob(store.db, x))?.state).toBe('issuing');
  });

  it("a runner takes over a dead holder's job once its lease lapses, and steps it once", async () => {
    await repo.insertJobIfAbsent(store.db, row('x'));
    // The dead process claimed it with a short lease and will never renew it.
    expect(await repo.claimJob(store.db, 'x', { owner: 'dead/9/z', ttlMs: 300 })).toBeDefined();
    const steps: { id: string; owner: string | null | undefined }[] = [];
    const runner = new JobRunner({
      store,
      lease: B,
      pollMs: 20,
      jobs: {
        async step(id): Promise<StepOutcome> {
          const r = await repo.getJob(store.db, id);
          steps.push({ id, owner: r?.lease_owner });
          const ok = await repo.moveJob(
            store.db,
            id,
            { state: 'issuing', lease: B.owner },
            { state: 'done', active: 0 },
          );
          return { advanced: ok };
        },
        failed: async () => {},
      },
    });
    await runner.start();
    for (;;) {
      if ((await repo.getJob(store.db, 'x'))?.state === 'done') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await runner.stop();
    expect(steps).toEqual([{ id: 'x', owner: B.owner }]);
    // The run ended and gave the lease up.
    expect(await repo.getJob(store.db, 'x')).toMatchObject({ lease_owner: null, lease_until: null });
  });
});
