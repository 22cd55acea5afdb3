/**
 * The bench's own BIP-340 signer (`benchSignBip340`, for locked inputs made by the thousand) against
 * two verifiers: noble's `schnorr.verify` (the reference) and the mint's `verifyBip340` on both
 * backends. Many random keys and nonces, so both parities of P and R are met (each half the time).
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { messageDigest } from '../conditions/sign.js';
import { checkLock, planLocks } from '../conditions/verify.js';
import { benchSignBip340, lockedSecret } from './bench.js';
import { verifyBip340 } from './bip340.js';
import type { Curve } from './curve.js';
import { loadNativeCurve } from './native.js';
import { nobleCurve } from './noble.js';
import { randomScalar } from './scalar.js';

const BACKENDS: Curve[] = [nobleCurve, loadNativeCurve()!];

describe.each(BACKENDS)('benchSignBip340 on the $name backend', (curve) => {
  it('signs what noble and the mint verify, and nothing else', () => {
    const parities = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const key = randomScalar();
      const P = curve.mulG(key);
      const x = P.subarray(1);
      const message = messageDigest(`message ${i}`);
      const signature = benchSignBip340(curve, message, key);
      parities.add(`P ${P[0]}`);
      expect(schnorr.verify(signature, message, x)).toBe(true);
      expect(verifyBip340(curve, signature, message, x)).toBe(true);
      // Another message, or the signature altered, does not verify.
      expect(schnorr.verify(signature, messageDigest(`other ${i}`), x)).toBe(false);
      const altered = signature.slice();
      altered[40]! ^= 1;
      expect(verifyBip340(curve, altered, message, x)).toBe(false);
    }
    // Both key parities were signed for (the chance of missing one in 24 keys: 2^-23); a wrong
    // negation of the nonce fails half the signatures, so 24 of them meet it too.
    expect(parities).toEqual(new Set(['P 2', 'P 3']));
  });

  it("makes locked secrets whose witness passes the mint's lock check", () => {
    for (let i = 0; i < 4; i++) {
      const { secret, witness } = lockedSecret(curve);
      const [lock] = planLocks([{ secret, witness, C: '02'.padEnd(66, '1') }], { now: 0 });
      expect(lock).toBeDefined();
      expect(checkLock(curve, lock!)).toBeUndefined();
    }
  });
});
