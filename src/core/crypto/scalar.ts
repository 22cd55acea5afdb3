/**
 * Scalars of the secp256k1 group as the rest of lancash sees them: 32-byte big-endian values in
 * [1, n−1]. Arithmetic mod n happens here in bigint, independent of the curve backend, so the
 * noble and native backends share one validation and one set of error messages.
 */
import { describe, fail } from '../errors.js';
import { randomBytes } from '../random.js';

/** The order n of the secp256k1 group (SEC 2 §2.4.1). */
export const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const TWO_256 = 1n << 256n;

/**
 * The unsigned big-endian integer of `b` (any length; empty is 0). Eight bytes a step: a byte a step
 * made 64 intermediate bigints (≈ 3 KB) for a 32-byte scalar, the crypto workers' second allocation.
 */
export function bytesToNumber(b: Uint8Array): bigint {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const head = b.length % 8;
  let n = 0n;
  for (let i = 0; i < head; i++) n = (n << 8n) | BigInt(b[i]!);
  for (let i = head; i < b.length; i += 8) n = (n << 64n) | view.getBigUint64(i);
  return n;
}

/** The 32-byte big-endian encoding of `n`, which must lie in [0, 2^256). */
export function numberToBytes32(n: bigint): Uint8Array {
  if (n < 0n || n >= TWO_256) {
    fail(
      'InvalidScalar',
      { argument: 'n', reason: 'outside [0, 2^256)' },
      `n: expected an integer in [0, 2^256), got ${describe(n)}`,
    );
  }
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  // Eight bytes a step, as `bytesToNumber` reads them.
  for (let i = 24, rest = n; i >= 0; i -= 8, rest >>= 64n) view.setBigUint64(i, BigInt.asUintN(64, rest));
  return out;
}

/**
 * Checks that `value` is a scalar k with 0 < k < n and returns its 32-byte encoding; throws
 * `InvalidScalar` naming `argument` otherwise. Bytes must be exactly 32 long (no silent padding).
 */
export function toScalar(value: Uint8Array | bigint, argument: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== 32) {
      fail(
        'InvalidScalar',
        { argument, reason: `expected 32 bytes, got ${value.length}` },
        `${argument}: expected a 32-byte scalar, got ${describe(value)}`,
      );
    }
    if (!inRange(value)) rangeFailure(bytesToNumber(value), argument);
    return value;
  }
  if (typeof value !== 'bigint') {
    fail(
      'InvalidScalar',
      { argument, reason: 'not bytes or bigint' },
      `${argument}: expected a scalar, got ${describe(value)}`,
    );
  }
  if (value <= 0n || value >= N) rangeFailure(value, argument);
  return numberToBytes32(value);
}

const N_BYTES = numberToBytes32(N);

/** 0 < b < n for 32 bytes, without bigint and without a data-dependent early exit (b may be a key). */
function inRange(b: Uint8Array): boolean {
  let lt = 0;
  let gt = 0;
  let nonzero = 0;
  for (let i = 0; i < 32; i++) {
    const x = b[i]!;
    const y = N_BYTES[i]!;
    const undecided = 1 ^ (lt | gt);
    lt |= undecided & ((x - y) >>> 31);
    gt |= undecided & ((y - x) >>> 31);
    nonzero |= x;
  }
  return lt === 1 && nonzero !== 0;
}

function rangeFailure(k: bigint, argument: string): never {
  const reason = k === 0n ? 'zero' : k < 0n ? 'negative' : 'not below the group order n';
  return fail(
    'InvalidScalar',
    { argument, reason },
    `${argument}: expected a scalar in [1, n-1], got ${reason}`,
  );
}

/** A uniformly random scalar in [1, n−1] by rejection sampling; `rng` is injectable for tests. */
export function randomScalar(rng: (n: number) => Uint8Array = randomBytes): Uint8Array {
  // n is within 2^-128 of 2^256: a rejection is practically never needed, but keeps the draw uniform.
  for (let attempt = 0; attempt < 1024; attempt++) {
    const candidate = rng(32);
    if (candidate.length !== 32) {
      fail(
        'Internal',
        { reason: `rng returned ${candidate.length} bytes, expected 32` },
        'randomScalar: rng must return the requested number of bytes',
      );
    }
    if (inRange(candidate)) return Uint8Array.from(candidate);
  }
  return fail('Internal', { reason: 'rng never produced a scalar in [1, n-1]' }, 'randomScalar: broken rng');
}

/** (a + b) mod n. */
export const addMod = (a: bigint, b: bigint): bigint => (((a + b) % N) + N) % N;
/** (a · b) mod n. */
export const mulMod = (a: bigint, b: bigint): bigint => (((a * b) % N) + N) % N;
