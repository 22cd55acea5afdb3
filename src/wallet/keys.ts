/**
 * A terminal's keys, all from one BIP39 seed: the NUT-13 deterministic secrets of its own notes, its
 * X25519 encryption key (envelopes, inbox ownership) and its secp256k1 lock key (deliveries to it are
 * P2PK-locked to it, NUT-11). Because both keys derive from the seed too, a terminal restored from its
 * words keeps its address, its mailbox and the power to spend notes locked to it.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { encodeAddress, type Network } from '../core/address/index.js';
import { utf8 } from '../core/bytes.js';
import { bytesToNumber, N, numberToBytes32 } from '../core/crypto/scalar.js';
import { type EncryptionKeyPair, keyPairFromPrivate } from '../core/envelope/index.js';
import { describe, fail } from '../core/errors.js';

const KEY_SALT = utf8('lancash');
const KEY_INFO = utf8('lancash/terminal/x25519/v1');
const LOCK_KEY_INFO = utf8('lancash/terminal/p2pk/v1');

/** The terminal's secp256k1 key pair that deliveries are P2PK-locked to (NUT-11). */
export interface LockKeyPair {
  /** 32-byte scalar in [1, n−1]. */
  privateKey: Uint8Array;
  /** 33-byte compressed point. */
  publicKey: Uint8Array;
}

/** Fresh 12 English words (128 bits of entropy, BIP39). */
export function newMnemonic(): string {
  return generateMnemonic(wordlist, 128);
}

/** The 64-byte BIP39 seed of `words`; `InvalidInput` when they are not a valid English mnemonic. */
export function seedFromMnemonic(words: unknown): Uint8Array {
  const normalized = typeof words === 'string' ? words.trim().toLowerCase().split(/\s+/).join(' ') : '';
  if (!validateMnemonic(normalized, wordlist)) {
    // Never echo the words: they are the wallet.
    const count = normalized === '' ? 0 : normalized.split(' ').length;
    fail(
      'InvalidInput',
      { argument: 'seed', expected: '12 or 24 BIP39 English words', received: `${count} words` },
      `seed: expected 12 or 24 BIP39 English words with a valid checksum, got ${typeof words === 'string' ? `${count} words` : describe(words)}`,
    );
  }
  return mnemonicToSeedSync(normalized);
}

/** The terminal's X25519 key pair: HKDF-SHA256 (RFC 5869) of the seed, used as an RFC 7748 private key. */
export function terminalKeyPair(seed: Uint8Array): Promise<EncryptionKeyPair> {
  return keyPairFromPrivate(hkdf(sha256, seed, KEY_SALT, KEY_INFO, 32));
}

/**
 * The terminal's P2PK lock key: 48 bytes of HKDF-SHA256 of the seed (its own info string) reduced to
 * [1, n−1] as FIPS 186-5 A.2.1 does (mod n−1, plus 1), so the bias is below 2^-128 and every seed
 * gives a valid key.
 */
export function terminalLockKey(seed: Uint8Array): LockKeyPair {
  const wide = bytesToNumber(hkdf(sha256, seed, KEY_SALT, LOCK_KEY_INFO, 48));
  const privateKey = numberToBytes32((wide % (N - 1n)) + 1n);
  return { privateKey, publicKey: secp256k1.getPublicKey(privateKey, true) };
}

/**
 * The terminal's address (version 1): its network, encryption key and lock key (no inbox URL: it
 * uses its network's mailbox).
 */
export function terminalAddress(network: Network, keys: EncryptionKeyPair, lock: LockKeyPair): string {
  return encodeAddress({ network, publicKey: keys.publicKey, lockKey: lock.publicKey });
}
