/**
 * The small interface both HPKE backends implement for envelopes (docs/design.md §3): RFC 9180 single-shot auth
 * mode for our one suite, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, written once in
 * `rfc9180.ts`. `portable.ts` runs it on the noble libraries (pure JavaScript, no `crypto.subtle`, so it
 * runs in the browser wallet on any origin); `native.ts` on synchronous `node:crypto` (the servers' hot
 * path). Keys are raw 32-byte X25519 strings; `enc` is the 32-byte ephemeral public key, `ct` the
 * ciphertext followed by its 16-byte tag.
 */
import type { BackendName } from '../native-or-portable.js';
import type { EncryptionKeyPair } from './keys.js';

export type HpkeBackendName = BackendName;

export interface HpkeSealArgs {
  /** The recipient's public key. */
  pkR: Uint8Array;
  /** The sender's key pair (auth mode); callers have checked that its halves belong together. */
  sender: EncryptionKeyPair;
  info: Uint8Array;
  aad: Uint8Array;
  pt: Uint8Array;
  /**
   * Tests only: input keying material for the ephemeral key (RFC 9180 §7.1.3 DeriveKeyPair), so the
   * Appendix A vectors can be reproduced. Omitted, the ephemeral key is fresh and random.
   */
  ikmE?: Uint8Array;
}

export interface HpkeOpenArgs {
  enc: Uint8Array;
  /** The recipient's key pair; callers have checked that its halves belong together. */
  recipient: EncryptionKeyPair;
  /** The sender's public key (auth mode). */
  pkS: Uint8Array;
  info: Uint8Array;
  aad: Uint8Array;
  ct: Uint8Array;
}

export interface HpkeBackend {
  readonly name: HpkeBackendName;
  /** RFC 9180 §6.1 SealAuth. Rejects when the recipient key is unusable (§7.1.4). */
  sealAuth(a: HpkeSealArgs): Promise<{ enc: Uint8Array; ct: Uint8Array }>;
  /** RFC 9180 §6.1 OpenAuth. Rejects when anything fails to authenticate; callers map that to one error. */
  openAuth(a: HpkeOpenArgs): Promise<Uint8Array>;
}
