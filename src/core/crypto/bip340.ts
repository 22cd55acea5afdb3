/**
 * BIP-340 Schnorr verification on either curve backend, for the mint's NUT-11/14 checks: on the
 * native backend it costs two libsecp256k1 multiplications (tens of µs) instead of noble's pure
 * JavaScript verify (~3 ms on a loaded core), which dominated a locked swap. Portable: it only uses
 * the `Curve` it is handed and noble's SHA-256. Signing stays with noble (`conditions/sign.ts`).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, utf8 } from '../bytes.js';
import type { Curve } from './curve.js';
import { bytesToNumber, N, numberToBytes32 } from './scalar.js';

/** The field prime p of secp256k1 (SEC 2 §2.4.1), as 32 big-endian bytes. */
const P_BYTES = numberToBytes32(2n ** 256n - 0x1000003d1n);
const N_BYTES = numberToBytes32(N);

/** SHA256("BIP0340/challenge"), twice, the prefix of the challenge's tagged hash. */
export const CHALLENGE_TAG = sha256(utf8('BIP0340/challenge'));

/** `prefix || x`: with 02, the point with x-coordinate `x` and even y (BIP-340 lift_x). */
const withPrefix = (prefix: 0x02 | 0x03, x: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(prefix), x);

/** a < b for 32-byte big-endian values (public data: no need for constant time). */
function below(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

const isZero = (a: Uint8Array): boolean => a.every((byte) => byte === 0);

/**
 * True when `signature` (64 bytes, r || s) is a valid BIP-340 signature of `message` by the x-only
 * public key `x` (32 bytes). Never throws on bad input: anything malformed simply does not verify.
 */
export function verifyBip340(
  curve: Curve,
  signature: Uint8Array,
  message: Uint8Array,
  x: Uint8Array,
): boolean {
  if (signature.length !== 64 || x.length !== 32) return false;
  const r = signature.subarray(0, 32);
  const s = signature.subarray(32);
  // BIP-340 Verify: fail if r ≥ p or s ≥ n.
  if (!below(r, P_BYTES) || !below(s, N_BYTES)) return false;
  // lift_x: the key with even y; the backends refuse an x that is no curve point's (InvalidPoint).
  const pub = withPrefix(0x02, x);
  const e = bytesToNumber(sha256(concatBytes(CHALLENGE_TAG, CHALLENGE_TAG, r, x, message))) % N;
  // R = s·G − e·P = s·G + (n − e)·P, in as few native calls as the zero cases allow (the backends
  // take scalars in [1, n − 1]).
  let R: Uint8Array;
  try {
    if (e === 0n) {
      if (!curve.isPoint(pub) || isZero(s)) return false; // with s = 0, R is the point at infinity
      R = curve.mulG(s);
    } else {
      const minusEP = curve.mul(pub, numberToBytes32(N - e));
      R = isZero(s) ? minusEP : curve.add(curve.mulG(s), minusEP);
    }
  } catch {
    return false; // x is no curve point's x-coordinate, or R is the point at infinity
  }
  // BIP-340: fail unless R has even y (prefix 02) and x(R) = r.
  return R[0] === 0x02 && equalBytes(R.subarray(1), r);
}
