/**
 * The worker pool answers exactly like in-thread crypto, in request order, whether a job goes whole to
 * one worker or in chunks over all of them; a forged input stops the job before any signing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { hashToCurve } from '../core/crypto/nut00.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { type CryptoJob, inThreadCrypto } from './crypto.js';
import { createCryptoPool } from './crypto-pool.js';

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

  it('refuses work after close', async () => {
    const p = createCryptoPool({ size: 1 });
    await p.close();
    await expect(p.run(job(1, 1))).rejects.toThrow(/closed/);
  });
});
