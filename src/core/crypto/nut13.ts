/**
 * Deterministic secrets and blinding factors (NUT-13), so a wallet can restore its notes from its seed:
 * v1 (keyset ids "00…") by BIP32 paths, v2 (keyset ids "01…") by HMAC-SHA256. `secret` is the hex
 * string the note carries; `r` the 32-byte blinding scalar.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HDKey } from '@scure/bip32';
import { bytesToHex, concatBytes, hex, utf8 } from '../bytes.js';
import { describe, fail } from '../errors.js';
import { bytesToNumber, N, numberToBytes32 } from './scalar.js';

export interface DeterministicSecret {
  secret: string;
  r: Uint8Array;
}

const KDF_DOMAIN = utf8('Cashu_KDF_HMAC_SHA256');
const BIP32_MODULUS = 2n ** 31n - 1n;

function invalid(argument: string, expected: string, received: unknown): never {
  return fail(
    'InvalidInput',
    { argument, expected, received: describe(received) },
    `${argument}: expected ${expected}, got ${describe(received)}`,
  );
}

function checkSeed(seed: Uint8Array): void {
  // BIP32 accepts 16–64 byte seeds; a BIP39 seed is 64.
  if (!(seed instanceof Uint8Array) || seed.length < 16 || seed.length > 64)
    invalid('seed', '16 to 64 bytes', seed);
}

function checkCounter(counter: number, max: number): void {
  if (!Number.isSafeInteger(counter) || counter < 0 || counter > max) {
    invalid('counter', `an integer from 0 to ${max}`, counter);
  }
}

/** The keyset id's bytes, requiring the version prefix and its length (8 bytes for 00, 33 for 01). */
function keysetIdBytes(keysetId: string, version: '00' | '01'): Uint8Array {
  const bytes = hex(keysetId, 'keysetId', version === '00' ? 8 : 33);
  if (bytes[0] !== Number.parseInt(version, 16))
    invalid('keysetId', `a keyset id starting ${version}`, keysetId);
  return bytes;
}

/**
 * NUT-13 keyset id → integer for the v1 BIP32 path: the id's bytes big-endian mod 2^31 − 1 (a v2 id is
 * cut to its first 8 bytes first). Deprecated by the spec for its small range; kept for old keysets.
 */
export function keysetIdInt(keysetId: string): number {
  const version = typeof keysetId === 'string' ? keysetId.slice(0, 2) : '';
  if (version !== '00' && version !== '01') invalid('keysetId', 'a keyset id of version 00 or 01', keysetId);
  const bytes = keysetIdBytes(keysetId, version).subarray(0, 8);
  return Number(bytesToNumber(bytes) % BIP32_MODULUS);
}

/**
 * NUT-13 v1 (legacy): secret and r are the BIP32 private keys at m/129372'/0'/{id_int}'/{counter}'/0
 * and …/1, id_int = keyset id as an integer mod 2^31 − 1.
 */
export function deriveSecretV1(seed: Uint8Array, keysetId: string, counter: number): DeterministicSecret {
  checkSeed(seed);
  keysetIdBytes(keysetId, '00');
  const idInt = keysetIdInt(keysetId);
  // Hardened indices stop at 2^31 − 1.
  checkCounter(counter, 2 ** 31 - 1);
  const parent = HDKey.fromMasterSeed(seed).derive(`m/129372'/0'/${idInt}'/${counter}'`);
  const [secret, r] = [0, 1].map((i) => parent.deriveChild(i).privateKey);
  if (!secret || !r)
    return fail('Internal', { reason: 'BIP32 gave no private key' }, 'deriveSecretV1 failed');
  return { secret: bytesToHex(secret), r };
}

/**
 * NUT-13 v2: message = "Cashu_KDF_HMAC_SHA256" ‖ keyset id bytes ‖ counter (u64 BE) ‖ type byte;
 * secret = HMAC-SHA256(seed, message ‖ 00), r = HMAC-SHA256(seed, message ‖ 01) mod n, r ≠ 0.
 */
export function deriveSecretV2(seed: Uint8Array, keysetId: string, counter: number): DeterministicSecret {
  checkSeed(seed);
  const id = keysetIdBytes(keysetId, '01');
  checkCounter(counter, Number.MAX_SAFE_INTEGER);
  const counterBytes = new Uint8Array(8);
  new DataView(counterBytes.buffer).setBigUint64(0, BigInt(counter), false);
  const base = concatBytes(KDF_DOMAIN, id, counterBytes);
  const secret = hmac(sha256, seed, concatBytes(base, Uint8Array.of(0x00)));
  const r = bytesToNumber(hmac(sha256, seed, concatBytes(base, Uint8Array.of(0x01)))) % N;
  if (r === 0n)
    return fail('Internal', { reason: 'derived r is 0' }, 'deriveSecretV2: r == 0, use the next counter');
  return { secret: bytesToHex(secret), r: numberToBytes32(r) };
}

/** NUT-13: the derivation the keyset id's version calls for ("00" → v1, "01" → v2). */
export function deriveSecret(seed: Uint8Array, keysetId: string, counter: number): DeterministicSecret {
  const version = typeof keysetId === 'string' ? keysetId.slice(0, 2) : '';
  if (version === '00') return deriveSecretV1(seed, keysetId, counter);
  if (version === '01') return deriveSecretV2(seed, keysetId, counter);
  return invalid('keysetId', 'a keyset id of version 00 or 01', keysetId);
}
