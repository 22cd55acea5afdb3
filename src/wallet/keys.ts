/**
 * A terminal's keys, all from one BIP39 seed: the NUT-13 deterministic secrets of its own notes and
 * its X25519 encryption key (envelopes, inbox ownership). Because the encryption key derives from the
 * seed too, a terminal restored from its words keeps its address, and with it its mailbox.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { encodeAddress, type Network } from '../core/address/index.js';
import { utf8 } from '../core/bytes.js';
import { type EncryptionKeyPair, keyPairFromPrivate } from '../core/envelope/index.js';
import { describe, fail } from '../core/errors.js';

const KEY_SALT = utf8('lancash');
const KEY_INFO = utf8('lancash/terminal/x25519/v1');

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

/** The terminal's address: its network and encryption key (no inbox URL: it uses its network's mailbox). */
export function terminalAddress(network: Network, keys: EncryptionKeyPair): string {
  return encodeAddress({ network, publicKey: keys.publicKey });
}
