/**
 * The worker pool answers exactly like in-thread crypto, in request order, whether a job goes whole to
 * one worker or in chunks over all of them; a forged input stops the job before any signing. DLEQ jobs
 * (notes of another mint) too: their `Y`s in order, the first bad note by index, wherever it lies;
 * and unblind jobs (a mint's signatures of our outputs): the unblinded `C`s, the first bad one by index.
 * Jobs posted together travel to each worker as one message; each comes back as soon as it is done.
 * Whole jobs fill the first worker up to `FILL_UP_TO` notes before the next gets any.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { blindMessage, hashToCurve, unblind } from '../core/crypto/nut00.js';
import { createDleq } from '../core/crypto/nut12.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { type CryptoJob, type DleqJob, inThreadCrypto, type UnblindJob } from './crypto.js';
import { createCryptoPool, FILL_UP_TO, fillingSlot } from './crypto-pool.js';

const curve = defaultCurve();
const local = inThreadCrypto(curve);
const pool = createCryptoPool({ size: 2 });
afterAll(() => pool.close());

const keys = [randomScalar(), randomScalar()];
// x = 2^256 − 1 is beyond the field prime: not a point.
const NOT_A_POINT = `02${'ff'.repeat(32)}`;

/** `ins` inputs and `outs` outputs over two keys; inputs in `forged` are signed with a third key. */
function job(ins: number, outs: number, o: { forged?: number[]; invalid?: number[] } = {}): CryptoJob {
  const inputs = Array.from({ length: ins }, (_, i) => {
    const secret = bytesToHex(randomBytes(16));
    const k = o.forged?.includes(i) ? randomScalar() : keys[i % 2]!;
    return { secret, C: bytesToHex(curve.mul(hashToCurve(curve, utf8(secret)), k)), key: i % 2 };
  });
  const outputs = Array.from({ length: outs }, (_, i) => ({
    B_: o.invalid?.includes(i) ? NOT_A_POINT : bytesToHex(curve.mulG(randomScalar())),
    key: (i + 1) % 2,
  }));
  return {
    keys,
    inputs: { secret: inputs.map((x) => x.secret), C: inputs.map((x) => x.C), key: inputs.map((x) => x.key) },
    outputs: { B_: outputs.map((x) => x.B_), key: outputs.map((x) => x.key) },
  };
}

/** `count` notes signed with DLEQ proofs under two keys; notes in `forged` carry a proof for another `C`. */
function dleqJob(count: number, forged: number[] = []): DleqJob {
  const notes = Array.from({ length: count }, (_, i) => {
    const k = keys[i % 2]!;
    const secret = bytesToHex(randomBytes(16));
    const r = randomScalar();
    const { B_ } = blindMessage(curve, utf8(secret), r);
    const C_ = curve.mul(B_, k);
    const { e, s } = createDleq(curve, k, B_, C_);
    const C = forged.includes(i) ? curve.mulG(randomScalar()) : unblind(curve, C_, r, curve.mulG(k));
    return { secret, C: bytesToHex(C), e: bytesToHex(e), s: bytesToHex(s), r: bytesToHex(r), key: i % 2 };
  });
  const column = <K extends keyof (typeof notes)[number]>(name: K) => notes.map((n) => n[name]);
  return {
    keys: keys.map((k) => curve.mulG(k)),
    notes: {
      secret: column('secret'),
      C: column('C'),
      e: column('e'),
      s: column('s'),
      r: column('r'),
      key: column('key'),
    },
  };
}

/** `count` outputs signed with DLEQ proofs under two keys, and the notes they unblind to; `forged` carry another mint's `C_`. */
function unblindJob(count: number, forged: number[] = []): { job: UnblindJob; C: string[] } {
  const outs = Array.from({ length: count }, (_, i) => {
    const k = keys[i % 2]!;
    const r = randomScalar();
    const { B_ } = blindMessage(curve, utf8(bytesToHex(randomBytes(16))), r);
    const C_ = curve.mul(B_, forged.includes(i) ? randomScalar() : k);
    const { e, s } = createDleq(curve, k, B_, C_);
    const C = unblind(curve, C_, r, curve.mulG(k));
    return { B_, r, C_, e, s, C, key: i % 2 };
  });
  const column = (name: 'B_' | 'r' | 'C_' | 'e' | 's') => outs.map((o) => bytesToHex(o[name]));
  return {
    job: {
      keys: keys.map((k) => curve.mulG(k)),
      outputs: {
        B_: column('B_'),
        r: column('r'),
        C_: column('C_'),
        e: column('e'),
        s: column('s'),
        key: outs.map((o) => o.key),
      },
    },
    C: outs.map((o) => bytesToHex(o.C)),
  };
}

describe('crypto pool', () => {
  it('answers like in-thread crypto, in order, whole or in chunks, small and large', async () => {
    // The first job finds both workers idle and is cut; the others queue behind it and go whole;
    // the last is larger than a whole job may be.
    const jobs = [job(50, 50), job(64, 64), job(64, 64), job(3, 5), job(200, 150)];
    const answers = await Promise.all(jobs.map((j) => pool.run(j)));
    for (const [i, j] of jobs.entries()) {
      const expected = await local.run(j);
      expect(expected.C_).toHaveLength(j.outputs.B_.length);
      expect(answers[i]).toEqual(expected);
    }
  });

  it('a forged input ends the job with its index and nothing signed, in any chunk', async () => {
    for (const forged of [[7, 30], [40]]) {
      const j = job(48, 48, { forged });
      const answer = await pool.run(j);
      expect(answer.forged).toBe(forged[0]);
      expect(answer.C_).toEqual([]);
      expect(await local.run(j)).toMatchObject({ forged: forged[0], C_: [] });
    }
  });

  it('a B_ that is not a point is refused with its index, in any chunk', async () => {
    for (const invalid of [[3], [45]]) {
      const j = job(4, 48, { invalid });
      expect((await pool.run(j)).invalid).toBe(invalid[0]);
      expect((await local.run(j)).invalid).toBe(invalid[0]);
    }
  });

  it('checks DLEQ proofs like in-thread crypto: Ys in order, the first bad note by index', async () => {
    const good = [dleqJob(3), dleqJob(300)];
    for (const j of good) {
      const answer = await pool.verifyDleq(j);
      expect(answer).toEqual(await local.verifyDleq(j));
      expect(answer.bad).toBe(-1);
      expect(answer.Y).toEqual(j.notes.secret.map((x) => bytesToHex(hashToCurve(curve, utf8(x)))));
    }
    for (const forged of [[2], [70, 100], [299]]) {
      const j = dleqJob(300, forged);
      expect(await pool.verifyDleq(j)).toMatchObject({
        bad: forged[0],
        reason: 'DLEQ proof does not verify',
      });
      expect((await local.verifyDleq(j)).bad).toBe(forged[0]);
    }
    // A C that is no point is a bad note, not a broken job.
    const j = dleqJob(5);
    j.notes.C[4] = NOT_A_POINT;
    expect(await pool.verifyDleq(j)).toMatchObject({ bad: 4 });
  });

  it('checks DLEQ proofs on the Ys a caller hashed already, whole or in chunks, and no others', async () => {
    for (const count of [3, 300]) {
      const j = dleqJob(count);
      const Y = j.notes.secret.map((x) => bytesToHex(hashToCurve(curve, utf8(x))));
      const answer = await pool.verifyDleq({ ...j, notes: { ...j.notes, Y } });
      expect(answer).toEqual({ Y, bad: -1, reason: '' });
      expect(await local.verifyDleq({ ...j, notes: { ...j.notes, Y } })).toEqual(answer);
      // The proofs are checked on the Ys given: another note's Y fails that note (in any chunk).
      const wrong = [...Y];
      wrong[count - 1] = Y[0]!;
      expect(await pool.verifyDleq({ ...j, notes: { ...j.notes, Y: wrong } })).toMatchObject({
        bad: count - 1,
      });
    }
  });

  it('checks and unblinds signatures like in-thread crypto: Cs in order, the first bad one by index', async () => {
    for (const count of [3, 300]) {
      const { job: j, C } = unblindJob(count);
      const answer = await pool.unblind(j);
      expect(answer).toEqual({ C, bad: -1, reason: '' });
      expect(await local.unblind(j)).toEqual(answer);
    }
    for (const forged of [[0], [70, 100], [299]]) {
      const { job: j } = unblindJob(300, forged);
      expect(await pool.unblind(j)).toMatchObject({ bad: forged[0], reason: 'DLEQ proof does not verify' });
      expect((await local.unblind(j)).bad).toBe(forged[0]);
    }
    // A C_ that is no point is a bad output, not a broken job.
    const { job: j } = unblindJob(5);
    j.outputs.C_[3] = NOT_A_POINT;
    expect(await pool.unblind(j)).toMatchObject({ bad: 3 });
  });

  it('fills the first worker up to FILL_UP_TO notes before the next, then the least busy', () => {
    expect(FILL_UP_TO).toBe(32);
    expect(fillingSlot([0, 0])).toBe(0);
    expect(fillingSlot([31, 0])).toBe(0);
    expect(fillingSlot([32, 0])).toBe(1);
    expect(fillingSlot([32, 31, 0])).toBe(1);
    expect(fillingSlot([40, 32])).toBe(1);
    expect(fillingSlot([32, 40])).toBe(0);
    expect(fillingSlot([50, 40, 40])).toBe(1);
    expect(fillingSlot([7])).toBe(0);
  });

  it('sends the jobs posted together as one message to the first worker while it holds few notes', async () => {
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      // Eight small jobs of all three kinds in one turn, 29 notes: each goes whole, even the first,
      // which finds the workers idle (a small job's answer would wait for every chunk's thread), and
      // all to the first worker (under FILL_UP_TO), so one thread wakes.
      const runs = [job(3, 4), job(2, 2), job(1, 3)];
      const dleqs = [dleqJob(4), dleqJob(2)];
      const unblinds = [unblindJob(4), unblindJob(3), unblindJob(1)];
      const answers = await Promise.all([
        Promise.all(runs.map((j) => pool.run(j))),
        Promise.all(dleqs.map((j) => pool.verifyDleq(j))),
        Promise.all(unblinds.map((u) => pool.unblind(u.job))),
      ]);
      expect(sent.mock.calls.length).toBe(1);
      expect(sent.mock.calls[0]![0]).toHaveLength(8);
      expect(answers[0]).toEqual(await Promise.all(runs.map((j) => local.run(j))));
      expect(answers[1]).toEqual(await Promise.all(dleqs.map((j) => local.verifyDleq(j))));
      expect(answers[2].map((a) => a.C)).toEqual(unblinds.map((u) => u.C));
    } finally {
      sent.mockRestore();
    }
  });

  it('sends whole jobs to the next worker once the first holds FILL_UP_TO notes', async () => {
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      // Five jobs of 10 notes in one turn: the first worker takes four (it holds 30 before the fourth),
      // the second the fifth. One message each.
      const runs = Array.from({ length: 5 }, () => job(5, 5));
      const answers = await Promise.all(runs.map((j) => pool.run(j)));
      expect(sent.mock.calls.map(([jobs]) => (jobs as unknown[]).length).sort()).toEqual([1, 4]);
      expect(answers).toEqual(await Promise.all(runs.map((j) => local.run(j))));
    } finally {
      sent.mockRestore();
    }
  });

  it('answers each job of a message as soon as it is done, not with the jobs after it', async () => {
    const one = createCryptoPool({ size: 1 });
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    const received = vi.spyOn(Worker.prototype, 'emit');
    try {
      // A small job, then a large one, in one message to the only worker.
      const [smallJob, largeJob] = [job(1, 1), job(40, 40)];
      const small = one.run(smallJob);
      const large = one.run(largeJob);
      let largeDone = false;
      void large.then(() => {
        largeDone = true;
      });
      const smallAnswer = await small;
      const answersSoFar = received.mock.calls.filter(([name]) => name === 'message').length;
      expect(largeDone).toBe(false);
      expect(await large).toEqual(await local.run(largeJob));
      expect(smallAnswer).toEqual(await local.run(smallJob));
      expect(sent.mock.calls.length).toBe(1);
      // The small job's answer came alone, before the large one's.
      expect(answersSoFar).toBe(1);
      expect(received.mock.calls.filter(([name]) => name === 'message').length).toBe(2);
    } finally {
      sent.mockRestore();
      received.mockRestore();
      await one.close();
    }
  });

  it('rejects the jobs still in flight when it closes', async () => {
    const p = createCryptoPool({ size: 1 });
    // Each expectation is attached before the close, so no rejection goes unhandled meanwhile.
    const sent = expect(p.run(job(8, 8))).rejects.toThrow(/closed/);
    const gathered = expect(p.run(job(1, 1))).rejects.toThrow(/closed/);
    await p.close();
    await sent;
    await gathered;
  });

  it('refuses work after close', async () => {
    const p = createCryptoPool({ size: 1 });
    await p.close();
    await expect(p.run(job(1, 1))).rejects.toThrow(/closed/);
  });
});
