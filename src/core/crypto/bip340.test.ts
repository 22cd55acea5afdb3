/**
 * BIP-340 verification on both curve backends against noble's `schnorr.verify` (the reference): on
 * random keys and messages, valid signatures and every kind of tampering (a flipped bit anywhere, r
 * ≥ p, s ≥ n, s = 0, a key that is no curve point, wrong lengths), plus the NUT-11 vectors' signatures.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messageDigest, xOnly } from '../conditions/sign.js';
import { verifyBip340 } from './bip340.js';
import type { Curve } from './curve.js';
import { loadNativeCurve } from './native.js';
import { nobleCurve } from './noble.js';
import { N, numberToBytes32 } from './scalar.js';

const native = loadNativeCurve();
const BACKENDS: Curve[] = [nobleCurve, native!];

const reference = (sig: Uint8Array, msg: Uint8Array, x: Uint8Array): boolean => {
  try {
    return schnorr.verify(sig, msg, x);
  } catch {
    return false;
  }
};

describe.each(BACKENDS)('BIP-340 verify on the $name backend', (curve) => {
  it('agrees with noble on valid signatures and on each flipped bit', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(64 + 32 + 32 - 1),
        fc.nat(7),
        (msg, at, bit) => {
          const sk = schnorr.utils.randomSecretKey();
          const x = schnorr.getPublicKey(sk);
          const sig = schnorr.sign(msg, sk);
          expect(verifyBip340(curve, sig, msg, x)).toBe(true);
          // One bit flipped in the signature, the message or the key.
          const all = new Uint8Array([...sig, ...msg, ...x]);
          all[at]! ^= 1 << bit;
          const [s2, m2, x2] = [all.subarray(0, 64), all.subarray(64, 96), all.subarray(96)];
          expect(verifyBip340(curve, s2, m2, x2)).toBe(reference(s2, m2, x2));
          expect(verifyBip340(curve, s2, m2, x2)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses r ≥ p, s ≥ n, s = 0, a key off the curve and wrong lengths', () => {
    const sk = schnorr.utils.randomSecretKey();
    const x = schnorr.getPublicKey(sk);
    const msg = new Uint8Array(32).fill(7);
    const sig = schnorr.sign(msg, sk);
    const r = sig.subarray(0, 32);
    const s = sig.subarray(32);
    const bad = [
      new Uint8Array([...new Uint8Array(32).fill(0xff), ...s]), // r ≥ p
      new Uint8Array([...r, ...numberToBytes32(N)]), // s = n
      new Uint8Array([...r, ...new Uint8Array(32)]), // s = 0
    ];
    for (const b of bad) {
      expect(verifyBip340(curve, b, msg, x)).toBe(false);
      expect(reference(b, msg, x)).toBe(false);
    }
    // x = 5 is not the x-coordinate of a curve point (5³ + 7 = 132 is no square mod p).
    const offCurve = numberToBytes32(5n);
    expect(verifyBip340(curve, sig, msg, offCurve)).toBe(false);
    expect(verifyBip340(curve, sig.subarray(0, 63), msg, x)).toBe(false);
    expect(verifyBip340(curve, sig, msg, x.subarray(1))).toBe(false);
  });

  it("verifies the NUT-11 vectors' SIG_INPUTS signatures", () => {
    const file = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/vectors/nut11.json'), 'utf8')) as {
      cases: { proofs: { name: string; proof: { secret: string; witness?: string } }[] };
    };
    const v = file.cases.proofs.find((p) => p.name === 'sig_inputs_valid_signature')!;
    const [sig] = (JSON.parse(v.proof.witness!) as { signatures: string[] }).signatures;
    const key = (JSON.parse(v.proof.secret) as [string, { data: string }])[1].data;
    const msg = messageDigest(v.proof.secret);
    expect(verifyBip340(curve, hexToBytes(sig!), msg, hexToBytes(xOnly(key)))).toBe(true);
    expect(
      verifyBip340(curve, hexToBytes(sig!), messageDigest(`${v.proof.secret} `), hexToBytes(xOnly(key))),
    ).toBe(false);
  });
});
