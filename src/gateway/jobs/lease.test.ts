/**
 * Job leases on PostgreSQL (docs/gateway.md, "Running several gateway processes"), over the real
 * journal table: two processes claiming at once take disjoint jobs; a job another holds cannot be
 * claimed, renewed, given up or moved by anyone else; a lapsed lease is taken over, and the old
 * holder's commit then changes nothing. A runner with a lease takes over the job of a holder that died
 * (no more renewals) once its lease lapses, and steps it once. With the real steps: a gateway whose
 * lease is taken while its bank call is out commits nothing (the local notes stay held, nothing
 * journaled), and the new holder finishes the job with one request at the bank and one payment.
 * PostgreSQL only: SQLite is one process.
 */
import { type KyselyPlugin, RawNode, sql, UpdateQueryNode } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { finish, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { jobRow } from '../../test-support/jobs.js';
import { randomId, Terminal } from '../../test-support/terminal.js';
import { jobOf } from './reads.js';
import * as repo from './repository.js';
import { JobRunner, type StepOutcome } from './runner.js';
import { moveJob } from './steps.js';

const row = (id: string) => jobRow(id);

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

  it('a renewal skips the rows a step holds instead of waiting for them', async () => {
    for (const id of ['held', 'free']) {
      await repo.insertJobIfAbsent(store.db, row(id));
      await repo.claimJob(store.db, id, A);
    }
    let renewed: number | undefined;
    // A step's transaction holds `held`'s row while the renewal runs: the renewal must not wait for it.
    await store.transaction(async (trx) => {
      await repo.moveJob(trx, 'held', { state: 'issuing', lease: A.owner }, { attempts: 1 });
      renewed = await repo.renewLeases(store.db, ['held', 'free'], A);
    });
    expect(renewed).toBe(1);
    expect(await repo.renewLeases(store.db, ['held', 'free'], A)).toBe(2);
  });

  it("a job born leased at intake is its owner's; a move that settles it gives the lease up", async () => {
    await repo.insertJobIfAbsent(store.db, row('born'), A);
    expect((await repo.getJob(store.db, 'born'))?.lease_owner).toBe(A.owner);
    expect(await repo.claimJob(store.db, 'born', B)).toBeUndefined();
    expect(await repo.claimDueMoney(store.db, 1, 10, B)).toEqual([]);
    const job = (await jobOf(store.db, 'born'))!;
    // A move that leaves work to do keeps the lease; the one that settles the job gives it up.
    const next = (await moveJob(store.db, job, 'delivering', 1, {}, 'x', A.owner))!;
    expect((await repo.getJob(store.db, 'born'))?.lease_owner).toBe(A.owner);
    expect(await moveJob(store.db, next, 'done', 2, { active: 0 }, 'y', A.owner)).toBeDefined();
    expect(await repo.getJob(store.db, 'born')).toMatchObject({ lease_owner: null, lease_until: null });
  });

  it('a runner drives a job offered leased without claiming it, and gives up no lease a settling write gave up', async () => {
    await repo.insertJobIfAbsent(store.db, row('offered'), B);
    const leaseCalls: string[] = [];
    // Sees the runner's lease statements: the one-job claim (`claimJob`) and the release.
    const spy: KyselyPlugin = {
      transformQuery: ({ node }) => {
        if (RawNode.is(node) && node.sqlFragments.join('').includes('returning state, updated_at'))
          leaseCalls.push('claim');
        if (UpdateQueryNode.is(node) && JSON.stringify(node.updates).includes('"lease_owner"'))
          leaseCalls.push('release');
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const owners: (string | null | undefined)[] = [];
    const runner = new JobRunner({
      store: { ...store, db: store.db.withPlugin(spy) } as TestStore,
      lease: B,
      pollMs: 20,
      jobs: {
        async step(id, known): Promise<StepOutcome> {
          if (known === undefined || known.state !== 'issuing') return { advanced: false };
          owners.push((await repo.getJob(store.db, id))?.lease_owner);
          return {
            advanced: true,
            job: await moveJob(store.db, known, 'done', 5, { active: 0 }, 'z', B.owner),
          };
        },
        failed: async () => {},
      },
    });
    await runner.start();
    runner.offer((await jobOf(store.db, 'offered'))!, true);
    await runner.settle();
    await runner.stop();
    expect(owners).toEqual([B.owner]);
    expect(leaseCalls).toEqual([]);
    expect(await repo.getJob(store.db, 'offered')).toMatchObject({ state: 'done', lease_owner: null });
  });

  it('a job offered leased that the runner cannot start has its lease given up at once', async () => {
    await repo.insertJobIfAbsent(store.db, row('later'), B);
    const runner = new JobRunner({
      store,
      lease: B,
      jobs: { step: async () => ({ advanced: false }), failed: async () => {} },
    });
    // Not running: it cannot start the job, so any process may take it at once.
    runner.offer((await jobOf(store.db, 'later'))!, true);
    for (let i = 0; i < 100 && (await repo.getJob(store.db, 'later'))?.lease_owner !== null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await repo.claimJob(store.db, 'later', A)).toMatchObject({ state: 'issuing' });
  });
});

describe.skipIf(!DIALECTS.includes('postgres'))('a step whose lease was taken, on postgres', () => {
  let net: TestNet | undefined;

  afterEach(async () => {
    if (net !== undefined) expect(await net.audit()).toEqual([]);
    await net?.close();
    net = undefined;
  });

  it('commits nothing; the new holder finishes the job once', async () => {
    /** The job whose lease another process takes while this one's issue call is out. */
    let steal: string | undefined;
    const retried: { state: string; journaled: boolean; held: number }[] = [];
    const started = await startNet('postgres', {
      bank: (real) =>
        wrapBank(real, {
          issue: async (...a) => {
            const [id] = a;
            const db = started.gwStore.db;
            if (steal === id) {
              steal = undefined;
              await sql`update gateway_jobs set lease_owner = 'another/1/x',
                lease_until = (extract(epoch from clock_timestamp()) * 1000)::bigint + 500
                where id = ${id}`.execute(db);
            } else {
              const r = await repo.getJob(db, id);
              const held = await db
                .selectFrom('mint_proofs')
                .select('y')
                .where('operation', '=', `job1:${id}`)
                .where('state', '=', 'pending')
                .execute();
              if (r !== undefined && r.direction === 'lan-to-wan') {
                retried.push({
                  state: r.state,
                  journaled: (await jobOf(db, id))?.journal.wideProofs !== undefined,
                  held: held.length,
                });
              }
            }
            return real.issue(...a);
          },
        }),
    });
    net = started;
    const { bankUrl, lanUrl, wanUrl } = started;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 20);
    const j2 = await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    expect((await finish(started, j2.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);
    const proofs = l.takeAll(lanUrl);

    const id = randomId();
    steal = id;
    const w2 = await Terminal.create('wan');
    await l.sendJob(lanUrl, 'lan-to-wan', { proofs, destination: w2.address, transferId: id });
    expect((await finish(started, id)).state).toBe('done');

    // The first holder's commit did nothing: the new holder found the job where intake left it.
    expect(steal).toBeUndefined();
    expect(retried).toEqual([{ state: 'issuing', journaled: false, held: proofs.length }]);
    const requests = await started.bankStore.db.selectFrom('bank_requests').select(['key', 'kind']).execute();
    expect(requests.filter((r) => r.key.endsWith(id)).map((r) => r.kind)).toEqual(['issue']);
    const events = await started.gwStore.db
      .selectFrom('gateway_job_events')
      .select('to_state')
      .where('job_id', '=', id)
      .orderBy('seq')
      .execute();
    expect(events.map((e) => e.to_state)).toEqual(['issuing', 'delivering', 'done']);
    const messages = await w2.drainInbox(bankUrl);
    expect(messages.map((m) => m.transferId)).toEqual([id]);
    await w2.accept(messages[0]!);
    expect(w2.balance(bankUrl)).toBe(20);
    expect(await started.reserve()).toBe(0);
    expect(await started.localOutstanding()).toBe(0);
  });
});
