/**
 * Mint-side keysets: the private and public key of every denomination, derived from the mint's seed so
 * a restart or a second process over the same seed yields the same keys and the same id (NUT-01/02).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../bytes.js';
import { describe, fail } from '../errors.js';
import type { Curve } from './curve.js';
import { keysetIdV2 } from './nut02.js';
import { bytesToNumber, N, numberToBytes32 } from './scalar.js';

export interface MintKeyset {
  id: string;
  unit: string;
  active: boolean;
  inputFeePpk: number;
  privateKeys: ReadonlyMap<number, Uint8Array>;
  publicKeys: ReadonlyMap<number, Uint8Array>;
}

export interface DeriveKeysetOptions {
  /** The mint's master seed, at least 32 bytes. */
  seed: Uint8Array;
  /** Which keyset of this seed and unit (rotation bumps it). */
  derivationIndex: number;
  unit: string;
  /** Denominations 2^0 … 2^(maxOrder−1); default 32 (up to 2^31, the largest note). */
  maxOrder?: number;
  inputFeePpk?: number;
  active?: boolean;
}

function invalid(argument: string, expected: string, received: unknown): never {
  return fail(
    'InvalidInput',
    { argument, expected, received: describe(received) },
    `${argument}: expected ${expected}, got ${describe(received)}`,
  );
}

/**
 * The private key of one denomination: HMAC-SHA256(seed, label) reduced mod n. The label separates
 * lancash's purpose, the index, the unit and the amount, so no two keys of one seed coincide; an
 * attempt counter rejects the (2^-128-likely) zero.
 */
function privateKey(seed: Uint8Array, index: number, unit: string, amount: bigint): Uint8Array {
  for (let attempt = 0; attempt < 256; attempt++) {
    const label = `lancash/keyset/v1|index:${index}|unit:${unit}|amount:${amount}|attempt:${attempt}`;
    const k = bytesToNumber(hmac(sha256, seed, utf8(label))) % N;
    if (k !== 0n) return numberToBytes32(k);
  }
  return fail(
    'Internal',
    { reason: 'no nonzero key in 256 attempts' },
    'deriveKeyset: key derivation failed',
  );
}

/** Derives a keyset (keys for 2^0 … 2^(maxOrder−1)) and its NUT-02 v2 id. */
export function deriveKeyset(curve: Curve, o: DeriveKeysetOptions): MintKeyset {
  const { seed, derivationIndex, unit, maxOrder = 32, inputFeePpk = 0, active = true } = o;
  if (!(seed instanceof Uint8Array) || seed.length < 32) invalid('seed', 'at least 32 bytes', seed);
  if (!Number.isSafeInteger(derivationIndex) || derivationIndex < 0) {
    invalid('derivationIndex', 'a non-negative integer', derivationIndex);
  }
  // "|" separates the label's fields; a unit containing it could collide with another label.
  if (typeof unit !== 'string' || !/^[a-z0-9_-]{1,32}$/i.test(unit))
    invalid('unit', 'a short unit name', unit);
  if (!Number.isInteger(maxOrder) || maxOrder < 1 || maxOrder > 64)
    invalid('maxOrder', 'an integer 1..64', maxOrder);
  if (!Number.isSafeInteger(inputFeePpk) || inputFeePpk < 0)
    invalid('inputFeePpk', 'a non-negative integer', inputFeePpk);

  const privateKeys = new Map<number, Uint8Array>();
  const publicKeys = new Map<number, Uint8Array>();
  for (let i = 0; i < maxOrder; i++) {
    const amount = 1n << BigInt(i);
    const k = privateKey(seed, derivationIndex, unit, amount);
    privateKeys.set(Number(amount), k);
    publicKeys.set(Number(amount), curve.mulG(k));
  }
  return {
    id: keysetIdV2(publicKeys, unit, inputFeePpk),
    unit,
    active,
    inputFeePpk,
    privateKeys,
    publicKeys,
  };
}
