/**
 * The portable HPKE backend (the browser wallet's): the suite of `rfc9180.ts` in pure JavaScript on the
 * audited noble libraries, X25519 from `@noble/curves`, HMAC-SHA256 from `@noble/hashes`,
 * ChaCha20-Poly1305 from `@noble/ciphers`. It needs nothing of WebCrypto but `getRandomValues`, so the
 * wallet sends and receives on an insecure origin too (plain http to a gateway's LAN address), where
 * browsers leave `crypto.subtle` undefined. Checked against RFC 9180 Appendix A.2.3, `native.ts` and,
 * in the tests, `@hpke/core`.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keyBytes } from './keys.js';
import { refuseLowOrder, type SuiteHpke, suiteHpke } from './rfc9180.js';

/** A portable backend (no state to share: keys stay raw bytes, so there is nothing to import). */
export function portableHpke(): SuiteHpke {
  return suiteHpke<Uint8Array, Uint8Array>({
    name: 'portable',
    hmac(key, ...parts) {
      const h = hmac.create(sha256, key);
      for (const part of parts) h.update(part);
      return h.digest();
    },
    // crypto.getRandomValues, which browsers offer on insecure origins too.
    randomSecret: () => x25519.utils.randomSecretKey(),
    pairKey: (pair) => pair.privateKey,
    ephemeral: (sk) => ({ skE: sk, enc: x25519.getPublicKey(sk) }),
    // A wrong length is its own error, not a low-order key.
    publicKey: (pk, argument) => keyBytes(pk, argument),
    dh(sk, pk, argument) {
      try {
        return x25519.getSharedSecret(sk, pk);
      } catch {
        // noble refuses the low-order points before the ladder (RFC 7748 §6.1 allows either).
        return refuseLowOrder(argument);
      }
    },
    seal: (key, nonce, aad, pt) => chacha20poly1305(key, nonce, aad).encrypt(pt),
    // decrypt() throws when the tag does not verify, and then returns no plaintext.
    open: (key, nonce, aad, ct) => chacha20poly1305(key, nonce, aad).decrypt(ct),
  });
}
