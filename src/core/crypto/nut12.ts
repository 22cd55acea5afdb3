/**
 * Discrete-log equality proofs, NUT-12: the mint proves that the key behind its public key K also made
 * the blind signature C_, so wallets and the gateway can check a note offline, without the mint.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, equalBytes, utf8 } from '../bytes.js';
import { describe, fail, isLancashError } from '../errors.js';
import type { Curve } from './curve.js';
import { nobleCurve } from './noble.js';
import { hashToCurve } from './nut00.js';
import { addMod, bytesToNumber, mulMod, N, numberToBytes32, toScalar } from './scalar.js';

const NONCE_DOMAIN = utf8('Cashu_DLEQ_R_v1');

const HEX_DIGITS = utf8('0123456789abcdef');

/** The challenge over points already in uncompressed form. */
function challenge(uncompressed: Uint8Array[]): Uint8Array {
  // NUT-12 hash_e: SHA256 of the concatenated 130-character lowercase hex of each uncompressed point,
  // written as ASCII straight into one array (no string per point, none joined, none encoded again).
  let size = 0;
  for (const P of uncompressed) size += 2 * P.length;
  const text = new Uint8Array(size);
  let at = 0;
  for (const P of uncompressed) {
    for (let i = 0; i < P.length; i++) {
      text[at++] = HEX_DIGITS[P[i]! >> 4]!;
      text[at++] = HEX_DIGITS[P[i]! & 15]!;
    }
  }
  return sha256(text);
}

/** NUT-12 hash_e(R1, R2, K, C_) over compressed points (decompressed with noble; any backend agrees). */
export function hashE(...points: Uint8Array[]): Uint8Array {
  return challenge(points.map((P) => nobleCurve.uncompressed(P)));
}

/**
 * NUT-12 deterministic nonce: r = HMAC-SHA256(key = k, "Cashu_DLEQ_R_v1" ‖ K ‖ B_ ‖ C_ ‖ ctr) over
 * uncompressed points, ctr one byte from 0, retried while r is 0 or ≥ n (at most 256 tries).
 */
function deterministicNonce(k: Uint8Array, message: Uint8Array): Uint8Array {
  const input = concatBytes(message, new Uint8Array(1));
  for (let ctr = 0; ctr < 256; ctr++) {
    input[input.length - 1] = ctr;
    const r = hmac(sha256, k, input);
    const value = bytesToNumber(r);
    if (value > 0n && value < N) return r;
  }
  return fail('Internal', { reason: 'no DLEQ nonce in 256 tries' }, 'createDleq: nonce derivation failed');
}

/**
 * K = k·G in uncompressed form, remembered by key: a mint signs many notes with few keys, and k·G
 * would otherwise be a quarter of the proof's cost. Keyed by content, because keys reach a worker
 * thread as fresh copies; bounded, and simply cleared when full.
 */
const publicKeys = new Map<string, Uint8Array>();
const MAX_CACHED_KEYS = 4096;
function publicKeyOf(curve: Curve, k: Uint8Array): Uint8Array {
  const id = bytesToHex(k);
  let Ku = publicKeys.get(id);
  if (Ku === undefined) {
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear();
    // Both backends give the same bytes, so the cache need not know which one made them.
    Ku = curve.uncompressed(curve.mulG(k));
    publicKeys.set(id, Ku);
  }
  return Ku;
}

/**
 * The mint's DLEQ proof (e, s) that C_ = k·B_ and K = k·G share k (NUT-12). The nonce is the NUT-12
 * deterministic one unless `nonce` is given (tests; never reuse a nonce: it leaks k).
 */
export function createDleq(
  curve: Curve,
  k: Uint8Array,
  B_: Uint8Array,
  C_: Uint8Array,
  nonce?: Uint8Array,
): { e: Uint8Array; s: Uint8Array } {
  const Ku = publicKeyOf(curve, toScalar(k, 'k'));
  const B_u = curve.uncompressed(B_);
  const C_u = curve.uncompressed(C_);
  const r =
    nonce === undefined
      ? deterministicNonce(k, concatBytes(NONCE_DOMAIN, Ku, B_u, C_u))
      : toScalar(nonce, 'nonce');
  const R1 = curve.mulG(r);
  const R2 = curve.mul(B_, r);
  const e = challenge([curve.uncompressed(R1), curve.uncompressed(R2), Ku, C_u]);
  // NUT-12: s = r + e·k mod n.
  const s = addMod(bytesToNumber(r), mulMod(bytesToNumber(e), bytesToNumber(k)));
  return { e, s: numberToBytes32(s) };
}

/** e·P with e a hash (reduced mod n), or undefined when e ≡ 0 (such a proof cannot verify). */
function mulChallenge(curve: Curve, P: Uint8Array, e: bigint): Uint8Array | undefined {
  return e === 0n ? undefined : curve.mul(P, numberToBytes32(e));
}

/** The point `op` computes, or undefined when it is the point at infinity (no proof then verifies). */
function orInfinity(op: () => Uint8Array): Uint8Array | undefined {
  try {
    return op();
  } catch (error) {
    if (isLancashError(error, 'InvalidPoint')) return undefined;
    throw error;
  }
}

function assertPoint(curve: Curve, P: Uint8Array, argument: string): void {
  if (!curve.isPoint(P)) {
    fail(
      'InvalidPoint',
      { argument, reason: 'not a compressed secp256k1 point' },
      `${argument}: not a valid point`,
    );
  }
}

function assert32(value: Uint8Array, argument: string): void {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    fail(
      'InvalidScalar',
      { argument, reason: 'expected 32 bytes' },
      `${argument}: expected 32 bytes, got ${describe(value)}`,
    );
  }
}

/**
 * Checks the DLEQ of a blind signature (NUT-12, Alice's side): R1 = s·G − e·K, R2 = s·B_ − e·C_,
 * e == hash_e(R1, R2, K, C_). Throws on malformed points; returns false when the proof does not verify.
 */
export function verifyDleq(
  curve: Curve,
  K: Uint8Array,
  B_: Uint8Array,
  C_: Uint8Array,
  e: Uint8Array,
  s: Uint8Array,
): boolean {
  assertPoint(curve, K, 'K');
  assertPoint(curve, B_, 'B_');
  assertPoint(curve, C_, 'C_');
  assert32(e, 'e');
  assert32(s, 's');
  const eN = bytesToNumber(e) % N;
  const sN = bytesToNumber(s);
  if (sN === 0n || sN >= N) return false;
  const eK = mulChallenge(curve, K, eN);
  const eC_ = mulChallenge(curve, C_, eN);
  if (eK === undefined || eC_ === undefined) return false;
  const R1 = orInfinity(() => curve.sub(curve.mulG(s), eK));
  const R2 = orInfinity(() => curve.sub(curve.mul(B_, s), eC_));
  if (R1 === undefined || R2 === undefined) return false;
  const expected = challenge([R1, R2, K, C_].map((P) => curve.uncompressed(P)));
  return equalBytes(expected, e);
}

/**
 * Checks the DLEQ carried in a proof (NUT-12, Carol's side): Y = hash_to_curve(secret), C_ = C + r·K,
 * B_ = Y + r·G, then as `verifyDleq`. `secret` is the proof's secret as bytes (UTF-8 of the string).
 */
export function verifyProofDleq(
  curve: Curve,
  K: Uint8Array,
  secret: Uint8Array,
  C: Uint8Array,
  dleq: { e: Uint8Array; s: Uint8Array; r: Uint8Array },
): boolean {
  return verifyProofDleqOfY(curve, K, hashToCurve(curve, secret), C, dleq);
}

/** As `verifyProofDleq`, for a caller that has `Y = hash_to_curve(secret)` already (it keeps Y). */
export function verifyProofDleqOfY(
  curve: Curve,
  K: Uint8Array,
  Y: Uint8Array,
  C: Uint8Array,
  dleq: { e: Uint8Array; s: Uint8Array; r: Uint8Array },
): boolean {
  assertPoint(curve, K, 'K');
  assertPoint(curve, C, 'C');
  const r = toScalar(dleq.r, 'r');
  const C_ = orInfinity(() => curve.add(C, curve.mul(K, r)));
  const B_ = orInfinity(() => curve.add(Y, curve.mulG(r)));
  if (C_ === undefined || B_ === undefined) return false;
  return verifyDleq(curve, K, B_, C_, dleq.e, dleq.s);
}
