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
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { finish, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { jobRow } from '../../test-support/jobs.js';
import { randomId, Terminal } from '../../test-support/terminal.js';
import * as repo from './repository.js';
import { JobRunner, type StepOutcome } from './runner.js';

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
                  journaled: (JSON.parse(r.journal) as { wideProofs?: unknown }).wideProofs !== undefined,
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
