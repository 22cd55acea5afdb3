/**
 * Long-term X25519 encryption keys (docs/design.md §3): every party publishes one public key and seals and opens
 * envelopes with the pair. Keys travel as raw 32-byte strings (RFC 7748), which is what addresses carry.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { describe, fail } from '../errors.js';

export interface EncryptionKeyPair {
  /** Raw X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Raw X25519 private key, 32 bytes (RFC 7748 clamps it when used). */
  privateKey: Uint8Array;
}

export const X25519_KEY_BYTES = 32;

/** A fresh key pair from the platform's secure random source. */
export async function generateEncryptionKeyPair(): Promise<EncryptionKeyPair> {
  return keyPairFromPrivate(x25519.utils.randomSecretKey());
}

/** The key pair of a stored private key. */
export async function keyPairFromPrivate(privateKey: Uint8Array): Promise<EncryptionKeyPair> {
  const sk = keyBytes(privateKey, 'privateKey');
  return { publicKey: x25519.getPublicKey(sk), privateKey: sk.slice() };
}

/** The public key `privateKey` gives, for checking that a pair handed in belongs together. */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(keyBytes(privateKey, 'privateKey'));
}

/** Checks that `value` is a 32-byte key; throws `InvalidInput` naming `argument` otherwise. */
export function keyBytes(value: unknown, argument: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== X25519_KEY_BYTES) {
    fail(
      'InvalidInput',
      { argument, expected: `${X25519_KEY_BYTES} bytes`, received: describe(value) },
      `${argument}: expected an X25519 key of ${X25519_KEY_BYTES} bytes, got ${describe(value)}`,
    );
  }
  return value;
}
