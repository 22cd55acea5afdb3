/**
 * The two curve backends side by side: on random input, noble and libsecp256k1 must give the same
 * bytes, or fail with the same typed error naming the same argument. Then the malformed-input cases
 * (bad hex, off-curve points, the point at infinity, out-of-range scalars) on each backend.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../bytes.js';
import { isLancashError } from '../errors.js';
import { cryptoWork, prepareCryptoWork } from './bench.js';
import type { Curve } from './curve.js';
import { loadNativeCurve } from './native.js';
import { nobleCurve } from './noble.js';
import { blindMessage, hashToCurve, pointFromHex, signBlinded, unblind, verifySignature } from './nut00.js';
import { createDleq, hashE, verifyDleq, verifyProofDleq } from './nut12.js';
import { N, numberToBytes32 } from './scalar.js';

const native = loadNativeCurve();
it('loads the native backend (libsecp256k1)', () => {
  expect(native, 'the secp256k1 native binding must load for these tests').toBeDefined();
});
const BACKENDS: Curve[] = [nobleCurve, native!];

/** The bytes an operation gives, or the code and argument of the typed error it throws. */
function outcome(op: () => Uint8Array | boolean): string {
  try {
    const value = op();
    return typeof value === 'boolean' ? String(value) : bytesToHex(value);
  } catch (error) {
    if (!isLancashError(error)) throw error;
    const argument = (error.info as { argument?: string }).argument;
    return `${error.kind}(${argument ?? ''}): ${JSON.stringify(error.info)}`;
  }
}

/** Asserts `op` throws the named lancash error, naming `argument` when given. */
function expectError(op: () => unknown, kind: string, argument?: string): void {
  let caught: unknown;
  try {
    op();
  } catch (error) {
    caught = error;
  }
  expect(isLancashError(caught) && caught.kind, String(caught)).toBe(kind);
  if (argument !== undefined && isLancashError(caught)) {
    expect((caught.info as { argument?: string }).argument).toBe(argument);
  }
}

// noble needs ~2 ms per multiplication: few runs per property, each comparing many operations.
const RUNS = { numRuns: 25 };
const scalar = fc.bigInt({ min: 1n, max: N - 1n }).map(numberToBytes32);
const point = scalar.map((k) => nobleCurve.mulG(k));
const bytes33 = fc.uint8Array({ minLength: 33, maxLength: 33 });
const x32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('noble and native agree', () => {
  const [a, b] = [nobleCurve, native!];
  const same = (op: (c: Curve) => Uint8Array | boolean): void => {
    expect(outcome(() => op(b))).toBe(outcome(() => op(a)));
  };

  it('mulG, mul, add, sub, uncompressed', () => {
    fc.assert(
      fc.property(scalar, point, point, (k, P, Q) => {
        same((c) => c.mulG(k));
        same((c) => c.mul(P, k));
        same((c) => c.add(P, Q));
        same((c) => c.sub(P, Q));
        same((c) => c.add(P, P));
        same((c) => c.sub(P, P));
        same((c) => c.uncompressed(P));
      }),
      RUNS,
    );
  });

  it('isPoint and the errors of mul/add/sub on random 33-byte strings and random x', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes33,
          x32.map((x) => Uint8Array.of(2 + (x[0]! & 1), ...x)),
        ),
        scalar,
        (P, k) => {
          expect(b.isPoint(P)).toBe(a.isPoint(P));
          same((c) => c.mul(P, k));
          same((c) => c.add(P, c.mulG(k)));
          same((c) => c.sub(c.mulG(k), P));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hashToCurve', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (secret) => {
        same((c) => hashToCurve(c, secret));
      }),
      { numRuns: 300 },
    );
  });

  it('blind → sign → unblind → verify, mixing the backends at every step', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), scalar, scalar, (secret, r, k) => {
        const K = a.mulG(k);
        const wallet = blindMessage(a, secret, r);
        expect(bytesToHex(blindMessage(b, secret, r).B_)).toBe(bytesToHex(wallet.B_));
        const C_ = signBlinded(b, k, wallet.B_);
        expect(bytesToHex(signBlinded(a, k, wallet.B_))).toBe(bytesToHex(C_));
        const C = unblind(a, C_, r, K);
        expect(bytesToHex(unblind(b, C_, r, K))).toBe(bytesToHex(C));
        // NUT-00: the unblinded signature is k·Y.
        expect(bytesToHex(C)).toBe(bytesToHex(b.mul(wallet.Y, k)));
        expect(verifySignature(a, k, wallet.Y, C)).toBe(true);
        expect(verifySignature(b, k, wallet.Y, C)).toBe(true);
        expect(verifySignature(b, k, wallet.Y, wallet.B_)).toBe(false);
      }),
      RUNS,
    );
  });

  it('DLEQ made on one backend verifies on the other, with identical e and s', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        scalar,
        scalar,
        fc.boolean(),
        (secret, r, k, nobleSigns) => {
          const [signer, checker] = nobleSigns ? [a, b] : [b, a];
          const K = signer.mulG(k);
          const { B_ } = blindMessage(checker, secret, r);
          const C_ = signBlinded(signer, k, B_);
          const proof = createDleq(signer, k, B_, C_);
          const other = createDleq(checker, k, B_, C_);
          expect([bytesToHex(other.e), bytesToHex(other.s)]).toEqual([
            bytesToHex(proof.e),
            bytesToHex(proof.s),
          ]);
          expect(verifyDleq(checker, K, B_, C_, proof.e, proof.s)).toBe(true);
          const C = unblind(checker, C_, r, K);
          expect(verifyProofDleq(checker, K, secret, C, { ...proof, r })).toBe(true);
          // Another key's public key (2·K: never K, never infinity; K + r·G is infinity when r = n − k)
          // does not verify the proof.
          expect(verifyDleq(checker, checker.add(K, K), B_, C_, proof.e, proof.s)).toBe(false);
        },
      ),
      // r = n − k once made the "another key" of the last check the point at infinity.
      { ...RUNS, examples: [[new Uint8Array(0), numberToBytes32(N - 21n), numberToBytes32(21n), false]] },
    );
  });

  it('bench work runs on both and counts its notes', () => {
    for (const curve of BACKENDS) expect(cryptoWork(prepareCryptoWork(2, curve))).toBe(2);
    // P2PK-locked inputs: their witnesses verify too.
    for (const curve of BACKENDS) expect(cryptoWork(prepareCryptoWork(2, curve, { locked: true }))).toBe(2);
  });
});

const G = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const P_FIELD = 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f';

describe.each(BACKENDS)('malformed input on the $name backend', (curve) => {
  const one = numberToBytes32(1n);
  const Gp = pointFromHex(curve, G, 'G');
  const negG = Uint8Array.of(0x03, ...Gp.subarray(1));

  it('pointFromHex: non-hex, wrong length, non-string → InvalidHex naming the argument', () => {
    expectError(() => pointFromHex(curve, 'zz'.repeat(33), 'B_'), 'InvalidHex', 'B_');
    expectError(() => pointFromHex(curve, G.slice(0, 64), 'B_'), 'InvalidHex', 'B_');
    expectError(() => pointFromHex(curve, `${G}00`, 'B_'), 'InvalidHex', 'B_');
    expectError(() => pointFromHex(curve, '', 'B_'), 'InvalidHex', 'B_');
    expectError(() => pointFromHex(curve, 42, 'B_'), 'InvalidHex', 'B_');
    expectError(() => pointFromHex(curve, bytesToHex(curve.uncompressed(Gp)), 'K'), 'InvalidHex', 'K');
  });

  it('pointFromHex: bad prefix, x off the curve, x ≥ p, "02 ‖ 0…0" → InvalidPoint naming the argument', () => {
    expectError(() => pointFromHex(curve, `04${G.slice(2)}`, 'C'), 'InvalidPoint', 'C');
    expectError(() => pointFromHex(curve, `00${G.slice(2)}`, 'C'), 'InvalidPoint', 'C');
    expectError(() => pointFromHex(curve, `02${'00'.repeat(32)}`, 'C'), 'InvalidPoint', 'C');
    expectError(() => pointFromHex(curve, `02${P_FIELD}`, 'C'), 'InvalidPoint', 'C');
    expectError(() => pointFromHex(curve, `03${'ff'.repeat(32)}`, 'C'), 'InvalidPoint', 'C');
    expect(bytesToHex(pointFromHex(curve, G.toUpperCase(), 'C'))).toBe(G);
  });

  it('a sum or difference at infinity → InvalidPoint', () => {
    expectError(() => curve.add(Gp, negG), 'InvalidPoint', 'P + Q');
    expectError(() => curve.sub(Gp, Gp), 'InvalidPoint', 'P - Q');
    expect(bytesToHex(curve.add(Gp, Gp))).toBe(bytesToHex(curve.mulG(numberToBytes32(2n))));
    // unblind(C_ = r·K) would be infinity: refused, never encoded.
    const K = curve.mulG(numberToBytes32(7n));
    expectError(() => unblind(curve, curve.mul(K, one), one, K), 'InvalidPoint');
  });

  it('points given to the curve ops are checked and named', () => {
    const zeroX = Uint8Array.of(2, ...new Uint8Array(32));
    expectError(() => curve.mul(zeroX, one), 'InvalidPoint', 'P');
    expectError(() => curve.add(Gp, zeroX), 'InvalidPoint', 'Q');
    expectError(() => curve.sub(zeroX, Gp), 'InvalidPoint', 'P');
    expectError(() => curve.mul(Gp.subarray(0, 32), one), 'InvalidPoint', 'P');
    expectError(() => signBlinded(curve, one, zeroX), 'InvalidPoint', 'P');
    expectError(() => hashE(zeroX), 'InvalidPoint');
    expect(curve.isPoint(zeroX)).toBe(false);
    expect(curve.isPoint(new Uint8Array(0))).toBe(false);
  });

  it('scalars 0, n, 2^256 − 1 and wrong lengths → InvalidScalar', () => {
    for (const bad of [new Uint8Array(32), numberToBytes32(N), new Uint8Array(32).fill(0xff)]) {
      expectError(() => curve.mulG(bad), 'InvalidScalar', 'k');
      expectError(() => curve.mul(Gp, bad), 'InvalidScalar', 'k');
      expectError(() => signBlinded(curve, bad, Gp), 'InvalidScalar', 'k');
      expectError(() => blindMessage(curve, utf8('x'), bad), 'InvalidScalar', 'k');
    }
    expectError(() => curve.mulG(one.subarray(1)), 'InvalidScalar', 'k');
    expectError(() => curve.mulG(Uint8Array.of(0, ...one)), 'InvalidScalar', 'k');
    expect(bytesToHex(curve.mulG(numberToBytes32(N - 1n)))).toBe(bytesToHex(negG));
  });

  it('DLEQ: s = 0, s ≥ n, e ≡ 0 are no proof; malformed points throw', () => {
    const k = numberToBytes32(5n);
    const K = curve.mulG(k);
    const B_ = hashToCurve(curve, utf8('secret'));
    const C_ = signBlinded(curve, k, B_);
    const { e, s } = createDleq(curve, k, B_, C_);
    expect(verifyDleq(curve, K, B_, C_, e, s)).toBe(true);
    expect(verifyDleq(curve, K, B_, C_, e, new Uint8Array(32))).toBe(false);
    expect(verifyDleq(curve, K, B_, C_, e, numberToBytes32(N))).toBe(false);
    expect(verifyDleq(curve, K, B_, C_, numberToBytes32(N), s)).toBe(false);
    expect(verifyDleq(curve, K, B_, C_, new Uint8Array(32), s)).toBe(false);
    expectError(() => verifyDleq(curve, K, B_, C_, e, s.subarray(1)), 'InvalidScalar', 's');
    expectError(() => verifyDleq(curve, K.subarray(1), B_, C_, e, s), 'InvalidPoint', 'K');
    expectError(() => verifyDleq(curve, K, B_, negG.subarray(0, 20), e, s), 'InvalidPoint', 'C_');
    expectError(() => createDleq(curve, new Uint8Array(32), B_, C_), 'InvalidScalar', 'k');
    expectError(
      () => verifyProofDleq(curve, K, utf8('secret'), C_, { e, s, r: new Uint8Array(32) }),
      'InvalidScalar',
      'r',
    );
  });
});
