/**
 * Keyset ids (NUT-02, versions 1 and 2) and the validation of a mint's published keys (NUT-01). The id
 * is what a note carries to say which keyset signed it, so wallets recompute it from the keys and
 * refuse a keyset whose id does not match.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8 } from '../bytes.js';
import { describe, fail, isLancashError, LancashError } from '../errors.js';
import type { Curve } from './curve.js';
import { pointFromHex } from './nut00.js';

/** Largest denomination a Cashu keyset may list: 2^63 (NUT-01 vectors include it). */
const MAX_AMOUNT = 1n << 63n;
const DECIMAL = /^[1-9][0-9]{0,18}$/;

/** The entries of `keys` in ascending amount order (NUT-02: "sort keyset by amount"). */
function sorted(keys: ReadonlyMap<number, Uint8Array>): [number, Uint8Array][] {
  return [...keys.entries()].sort(([a], [b]) => a - b);
}

/** Exact decimal of an amount, also above 2^53 (powers of two are exact doubles; `String` would round). */
const decimal = (amount: number): string => BigInt(amount).toString();

/** NUT-02 v1 id: "00" ‖ first 14 hex chars of SHA256(compressed keys concatenated in amount order). */
export function keysetIdV1(keys: ReadonlyMap<number, Uint8Array>): string {
  const digest = sha256(concatBytes(...sorted(keys).map(([, K]) => K)));
  return `00${bytesToHex(digest).slice(0, 14)}`;
}

function nonNegativeInteger(value: number, argument: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    fail(
      'InvalidInput',
      { argument, expected: 'a non-negative integer', received: describe(value) },
      `${argument}: expected a non-negative integer, got ${describe(value)}`,
    );
  }
}

/**
 * NUT-02 v2 id: "01" ‖ hex SHA256 of "amount:key_hex" pairs in amount order joined by ",", then
 * "|unit:<unit>", "|input_fee_ppk:<n>" only when n ≠ 0, "|final_expiry:<t>" only when given.
 */
export function keysetIdV2(
  keys: ReadonlyMap<number, Uint8Array>,
  unit: string,
  inputFeePpk = 0,
  finalExpiry?: number,
): string {
  if (typeof unit !== 'string' || unit.length === 0) {
    fail(
      'InvalidInput',
      { argument: 'unit', expected: 'a non-empty string', received: describe(unit) },
      `unit: expected a non-empty string, got ${describe(unit)}`,
    );
  }
  nonNegativeInteger(inputFeePpk, 'inputFeePpk');
  let preimage = sorted(keys)
    .map(([amount, K]) => `${decimal(amount)}:${bytesToHex(K)}`)
    .join(',');
  preimage += `|unit:${unit}`;
  if (inputFeePpk !== 0) preimage += `|input_fee_ppk:${inputFeePpk}`;
  if (finalExpiry !== undefined) {
    nonNegativeInteger(finalExpiry, 'finalExpiry');
    preimage += `|final_expiry:${finalExpiry}`;
  }
  return `01${bytesToHex(sha256(utf8(preimage)))}`;
}

function invalidKeyset(reason: string, cause?: unknown): never {
  throw new LancashError('InvalidKeyset', { reason }, `keys: ${reason}`, { cause });
}

/**
 * Decodes a NUT-01 keys object `{ "<amount>": "<compressed point hex>" }` into a map in ascending
 * amount order. Amounts must be powers of two from 1 to 2^63 in canonical decimal; every key must be a
 * compressed point on the curve. Anything else is `InvalidKeyset` saying which entry and why. The
 * curve is the caller's (no default): a browser wallet passes noble, a Node server its native backend.
 */
export function parseKeys(value: unknown, curve: Curve): Map<number, Uint8Array> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalidKeyset(`expected an object of amount → public key, got ${describe(value)}`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) invalidKeyset('no keys');
  const parsed: [number, Uint8Array][] = [];
  for (const [amountText, keyHex] of entries) {
    const amount = DECIMAL.test(amountText) ? BigInt(amountText) : 0n;
    // A power of two has exactly one bit set.
    if (amount === 0n || amount > MAX_AMOUNT || (amount & (amount - 1n)) !== 0n) {
      invalidKeyset(`amount ${describe(amountText)} is not a power of two from 1 to 2^63`);
    }
    try {
      parsed.push([Number(amount), pointFromHex(curve, keyHex, `keys[${amountText}]`)]);
    } catch (error) {
      if (!isLancashError(error)) throw error;
      invalidKeyset(error.message, error);
    }
  }
  return new Map(parsed.sort(([a], [b]) => a - b));
}
