/** The worker pool gives the same answers as in-thread crypto, in request order, across chunk boundaries. */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { hashToCurve } from '../core/crypto/nut00.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { inThreadCrypto } from './crypto.js';
import { createCryptoPool } from './crypto-pool.js';

const curve = defaultCurve();
const pool = createCryptoPool({ size: 2 });
afterAll(() => pool.close());

describe('crypto pool', () => {
  it('verifies and signs like in-thread crypto, keeping order over 50 items', async () => {
    const k = randomScalar();
    const verify = Array.from({ length: 50 }, (_, i) => {
      const secret = bytesToHex(randomBytes(16));
      const C = curve.mul(hashToCurve(curve, utf8(secret)), i % 7 === 0 ? randomScalar() : k);
      return { secret, C, k };
    });
    const local = inThreadCrypto(curve);
    const pooled = await pool.verifyInputs(verify);
    expect(pooled).toEqual(await local.verifyInputs(verify));
    expect(pooled.filter((r) => !r.ok)).toHaveLength(8); // every 7th was signed with another key

    const sign = Array.from({ length: 50 }, (_, i) => ({
      // x = 2^256 − 1 is beyond the field prime: not a point.
      B_: i === 3 ? Uint8Array.from([2, ...new Uint8Array(32).fill(0xff)]) : curve.mulG(randomScalar()),
      k,
    }));
    const signed = await pool.signOutputs(sign);
    expect(signed.map((r) => ('C_' in r ? r.C_ : 'bad'))).toEqual(
      (await local.signOutputs(sign)).map((r) => ('C_' in r ? r.C_ : 'bad')),
    );
    expect(signed[3]).toHaveProperty('error');
  });

  it('refuses work after close', async () => {
    const p = createCryptoPool({ size: 1 });
    await p.close();
    await expect(p.verifyInputs([{ secret: 'a', C: new Uint8Array(33), k: randomScalar() }])).rejects.toThrow(
      /closed/,
    );
  });
});
