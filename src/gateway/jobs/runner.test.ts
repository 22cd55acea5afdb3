/**
 * The job runner on its own, over the real journal table (SQLite) with a scripted stepper: it drives
 * every due job and never more than `concurrency` at once, resumes jobs scheduled for later at start,
 * schedules a failed step by the backoff and the injected clock (nothing runs before it is due), and
 * `stop` waits for the steps in flight. A run hands each step the job the previous one left, and a job
 * offered at intake starts from the job as written. Money steps and deliveries run in lanes of their
 * own, one destination holds at most `perDestination` deliveries, and a job moved to a busy destination
 * waits in the journal. A run that ends with nothing left waiting does not look at the journal again,
 * and work left waiting for room starts as runs end, without the timer. The backoff is exponential,
 * capped, and its jitter bounded.
 */
import fc from 'fast-check';
import type { KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshStore, type TestStore } from '../../test-support/dialects.js';
import { jobRow } from '../../test-support/jobs.js';
import type { Job } from './model.js';
import * as repo from './repository.js';
import { exponentialBackoff, JobRunner, type JobStepper, type StepOutcome } from './runner.js';

const row = (id: string, nextAttemptAt: number) => jobRow(id, { next_attempt_at: nextAttemptAt });

/** The job of `row(id, 0)` as a step would carry it, in `state`. */
function job(id: string, state: Job['state']): Job {
  return {
    id,
    kind: 'transfer',
    ref: null,
    direction: 'lan-to-wan',
    state,
    senderKey: 'aa'.repeat(32),
    requestHash: 'bb'.repeat(32),
    destination: 'wan1…',
    destinationKey: 'cc'.repeat(32),
    replyTo: null,
    amount: 1,
    journal: { outputs: [] },
    notice: 'none',
    refusal: null,
    attempts: 0,
    nextAttemptAt: 0,
    lastError: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

/** A stepper whose steps finish a job (`active = 0`) unless the script says to fail it `fails` times. */
function scripted(store: TestStore, clock: () => number, fails: Record<string, number> = {}) {
  const steps: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const stepper: JobStepper = {
    async step(id): Promise<StepOutcome> {
      if ((await repo.getJob(store.db, id))?.state === 'done') return { advanced: false };
      steps.push(id);
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      try {
        await new Promise((r) => setTimeout(r, 5));
        if ((fails[id] ?? 0) > 0) {
          fails[id]! -= 1;
          throw new Error(`step of ${id} failed`);
        }
        await repo.moveJob(store.db, id, { state: 'issuing' }, { state: 'done', active: 0 });
        return { advanced: true };
      } finally {
        running -= 1;
      }
    },
    async failed(id, _error, delayMs) {
      const job = await repo.getJob(store.db, id);
      const attempts = (job?.attempts ?? 0) + 1;
      await repo.moveJob(
        store.db,
        id,
        { state: 'issuing' },
        { attempts, next_attempt_at: clock() + delayMs(attempts) },
      );
    },
  };
  return { stepper, steps, maxRunning: () => maxRunning };
}

describe('JobRunner', () => {
  let store: TestStore;
  let now: number;
  const clock = () => now;

  beforeEach(async () => {
    store = await freshStore('sqlite');
    now = 1_000_000;
  });
  afterEach(async () => {
    await store.close();
  });

  it('drives every due job once, never more than `concurrency` at a time', async () => {
    for (let i = 0; i < 20; i++) await repo.insertJobIfAbsent(store.db, row(`j${i}`, now));
    const s = scripted(store, clock);
    const runner = new JobRunner({ jobs: s.stepper, store, concurrency: 3, clock });
    await runner.settle();
    expect([...s.steps].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `j${i}`).sort());
    expect(s.maxRunning()).toBe(3);
    expect(await repo.dueJobs(store.db, now, 100)).toEqual([]);
  });

  it('start resumes jobs scheduled for later; a failed step waits for its backoff on the clock', async () => {
    await repo.insertJobIfAbsent(store.db, row('later', now + 60_000));
    await repo.insertJobIfAbsent(store.db, row('flaky', now));
    const s = scripted(store, clock, { flaky: 2 });
    const backoff = exponentialBackoff({ baseMs: 100, capMs: 150, jitter: 0 });
    const runner = new JobRunner({ jobs: s.stepper, store, clock, backoff, pollMs: 60_000 });
    expect(await runner.start()).toBe(1);
    await runner.settle();
    expect(s.steps.filter((id) => id === 'later')).toEqual(['later']);
    expect(s.steps.filter((id) => id === 'flaky')).toEqual(['flaky']);
    expect(await repo.getJob(store.db, 'flaky')).toMatchObject({
      attempts: 1,
      next_attempt_at: now + 100,
      active: 1,
    });
    now += 99;
    await runner.settle();
    expect(s.steps.filter((id) => id === 'flaky')).toHaveLength(1);
    now += 1;
    await runner.settle();
    expect(await repo.getJob(store.db, 'flaky')).toMatchObject({ attempts: 2, next_attempt_at: now + 150 });
    now += 150;
    await runner.settle();
    expect(await repo.getJob(store.db, 'flaky')).toMatchObject({ state: 'done', active: 0 });
    expect(s.steps.filter((id) => id === 'flaky')).toHaveLength(3);
    await runner.stop();
  });

  it('hands each step the job the previous step left, and none after a step that could not say', async () => {
    await repo.insertJobIfAbsent(store.db, row('c', now));
    const delivering = job('c', 'delivering');
    const outcomes: StepOutcome[] = [
      { advanced: true, job: delivering },
      { advanced: true }, // e.g. a lost race: the next step reads the journal
      { advanced: true, job: job('c', 'done') },
      { advanced: false },
    ];
    const known: (Job | undefined)[] = [];
    const stepper: JobStepper = {
      async step(_id, k) {
        known.push(k);
        const next = outcomes.shift() ?? { advanced: false };
        if (!next.advanced) await repo.moveJob(store.db, 'c', { state: 'issuing' }, { active: 0 });
        return next;
      },
      failed: async () => {},
    };
    await new JobRunner({ jobs: stepper, store, clock }).settle();
    expect(known.map((k) => k?.state)).toEqual([undefined, 'delivering', undefined, 'done']);
    expect(known[1]).toBe(delivering);
  });

  it('starts an offered job at once from the job as given, or leaves it to the journal when full', async () => {
    for (const id of ['a', 'b']) await repo.insertJobIfAbsent(store.db, row(id, now));
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const calls: { id: string; known: Job | undefined }[] = [];
    const stepper: JobStepper = {
      async step(id, known) {
        calls.push({ id, known });
        if (id === 'a') await held;
        await repo.moveJob(store.db, id, { state: 'issuing' }, { state: 'done', active: 0 });
        return { advanced: false };
      },
      failed: async () => {},
    };
    const runner = new JobRunner({ jobs: stepper, store, concurrency: 1, clock, pollMs: 60_000 });
    runner.offer(job('a', 'issuing')); // not running yet: ignored
    expect(calls).toEqual([]);
    await runner.start();
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.id)).toEqual(['a']);
    const offered = job('b', 'issuing');
    runner.offer(offered); // no room: b waits for the journal to be looked at
    expect(calls.map((c) => c.id)).toEqual(['a']);
    release();
    await runner.settle();
    expect(calls.map((c) => [c.id, c.known === undefined])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    await repo.insertJobIfAbsent(store.db, row('c', now));
    const c = job('c', 'issuing');
    runner.offer(c);
    expect(calls.at(-1)).toEqual({ id: 'c', known: c });
    await runner.stop();
  });

  it('money steps never wait behind deliveries; one destination holds at most `perDestination` of them', async () => {
    for (let i = 0; i < 6; i++) {
      await repo.insertJobIfAbsent(store.db, {
        ...row(`slow${i}`, now),
        state: 'delivering',
        destination: 'slow',
      });
    }
    await repo.insertJobIfAbsent(store.db, {
      ...row('fast', now + 1),
      state: 'delivering',
      destination: 'fast',
    });
    await repo.insertJobIfAbsent(store.db, row('money', now + 2));
    let release: () => void = () => {};
    const hang = new Promise<void>((r) => {
      release = r;
    });
    const started: string[] = [];
    const finished: string[] = [];
    const stepper: JobStepper = {
      async step(id) {
        started.push(id);
        if (id.startsWith('slow')) await hang;
        const state = (await repo.getJob(store.db, id))!.state;
        await repo.moveJob(store.db, id, { state }, { state: 'done', active: 0 });
        finished.push(id);
        return { advanced: false };
      },
      failed: async () => {},
    };
    const runner = new JobRunner({
      jobs: stepper,
      store,
      clock,
      concurrency: 1,
      deliveryConcurrency: 3,
      perDestination: 2,
      pollMs: 60_000,
    });
    await runner.start();
    while (!(finished.includes('money') && finished.includes('fast'))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    // The slow destination's two deliveries hang; the third waits although the lane has room.
    expect(started.filter((id) => id.startsWith('slow'))).toEqual(['slow0', 'slow1']);
    release();
    await runner.settle();
    expect(finished).toHaveLength(8);
    await runner.stop();
  });

  it('a job whose money step moves it to a busy destination waits for the journal, then delivers', async () => {
    await repo.insertJobIfAbsent(store.db, { ...row('busy', now), state: 'delivering', destination: 'd' });
    await repo.insertJobIfAbsent(store.db, row('m', now + 1));
    let release: () => void = () => {};
    const hang = new Promise<void>((r) => {
      release = r;
    });
    const calls: { id: string; state: string | undefined }[] = [];
    const stepper: JobStepper = {
      async step(id, known) {
        const current = known ?? toJobLike(await repo.getJob(store.db, id));
        calls.push({ id, state: current.state });
        if (current.state === 'issuing') {
          await repo.moveJob(store.db, id, { state: 'issuing' }, { state: 'delivering', destination: 'd' });
          return { advanced: true, job: { ...job(id, 'delivering'), destination: 'd' } };
        }
        if (id === 'busy') await hang;
        await repo.moveJob(store.db, id, { state: 'delivering' }, { state: 'done', active: 0 });
        return { advanced: false };
      },
      failed: async () => {},
    };
    const runner = new JobRunner({ jobs: stepper, store, clock, perDestination: 1, pollMs: 60_000 });
    await runner.start();
    while (!calls.some((c) => c.id === 'm' && c.state === 'issuing'))
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    // m moved to `delivering` for d, which is at its bound: it did not go on.
    expect(calls.filter((c) => c.id === 'm').map((c) => c.state)).toEqual(['issuing']);
    release();
    await runner.settle();
    expect(calls.filter((c) => c.id === 'm').map((c) => c.state)).toEqual(['issuing', 'delivering']);
    expect(await repo.dueJobs(store.db, now + 10, 10)).toEqual([]);
    await runner.stop();
  });

  it('a run that ends looks at the journal again only when work waits; waiting work starts as runs end', async () => {
    let queries = 0;
    const counter: KyselyPlugin = {
      transformQuery: (args) => {
        queries++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    // The runner's own reads are counted; the stepper writes through the plain store.
    const counted: TestStore = Object.create(store, { db: { value: store.db.withPlugin(counter) } });
    for (let i = 0; i < 5; i++) await repo.insertJobIfAbsent(store.db, row(`q${i}`, now));
    const s = scripted(store, clock);
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 1));
    };
    const roomy = new JobRunner({ jobs: s.stepper, store: counted, clock, pollMs: 60_000 });
    await roomy.start();
    // The first look (synchronous SQLite under promises) is over before any step's timer fires.
    await new Promise((r) => setImmediate(r));
    const firstLook = queries;
    while ((await repo.dueJobs(store.db, now, 10)).length > 0) await turns(1);
    await turns(20);
    // Every due job started at the first look: their ends find nothing waiting and read nothing.
    expect(s.steps.filter((id) => id < 'q5')).toHaveLength(5);
    expect(queries).toBe(firstLook);
    await roomy.stop();
    // One at a time and the timer far away: each end starts the next waiting job.
    for (let i = 5; i < 8; i++) await repo.insertJobIfAbsent(store.db, row(`q${i}`, now));
    const narrow = new JobRunner({ jobs: s.stepper, store: counted, clock, concurrency: 1, pollMs: 60_000 });
    await narrow.start();
    while ((await repo.dueJobs(store.db, now, 10)).length > 0) await turns(1);
    expect(s.steps.filter((id) => id >= 'q5')).toHaveLength(3);
    await narrow.stop();
  });

  it('stop waits for the steps in flight and takes no new work', async () => {
    for (let i = 0; i < 4; i++) await repo.insertJobIfAbsent(store.db, row(`s${i}`, now));
    const s = scripted(store, clock);
    const runner = new JobRunner({ jobs: s.stepper, store, concurrency: 2, clock });
    await runner.start();
    await runner.stop();
    const seen = s.steps.length;
    expect(seen).toBeLessThanOrEqual(2);
    await repo.insertJobIfAbsent(store.db, row('after', now));
    runner.kick(); // a stopped runner starts nothing, not even a look at the journal
    await new Promise((r) => setImmediate(r));
    expect(s.steps).toHaveLength(seen);
    expect(await repo.dueJobs(store.db, now, 10)).toContain('after');
  });
});

describe('exponentialBackoff', () => {
  it('doubles from the base up to the cap, within the jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.integer({ min: 1, max: 80 }),
        (baseMs, capMs, jitter, r, attempt) => {
          const plain = Math.min(capMs, baseMs * 2 ** (attempt - 1));
          const d = exponentialBackoff({ baseMs, capMs, jitter, random: () => r }).delayMs(attempt);
          expect(d).toBeGreaterThanOrEqual(Math.floor(plain * (1 - jitter)));
          expect(d).toBeLessThanOrEqual(Math.ceil(plain * (1 + jitter)));
          const flat = exponentialBackoff({ baseMs, capMs, jitter: 0 });
          expect(flat.delayMs(attempt + 1)).toBeGreaterThanOrEqual(flat.delayMs(attempt));
          expect(flat.delayMs(attempt)).toBeLessThanOrEqual(capMs);
        },
      ),
    );
  });
});

/** The fields of a journal row a scripted step looks at. */
function toJobLike(r: repo.JobRow | undefined): { state: string } {
  return { state: r?.state ?? 'missing' };
}
