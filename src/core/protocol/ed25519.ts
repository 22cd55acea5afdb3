/**
 * Ed25519 (RFC 8032) for the wide bank's signed receipts: native `node:crypto` where the runtime has
 * it (the servers: ≈80 µs to sign and ≈160 µs to verify on the dev machine), `@noble/curves` elsewhere
 * (the browser; ≈1 ms and ≈2 ms). Chosen once, on first use, like the envelopes' HPKE backend. Ed25519
 * is deterministic, so both sign the same bytes; both verify strictly (RFC 8032 §5.1.7: S below L,
 * canonical point encodings), so they agree on every signature, not only on honest ones.
 */
import type * as NodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, equalBytes, hex } from '../bytes.js';
import { fail } from '../errors.js';
import { type BackendName, nativeOrPortable } from '../native-or-portable.js';

export type Ed25519BackendName = BackendName;

export interface Ed25519Backend {
  readonly name: Ed25519BackendName;
  /** RFC 8032 §5.1.6: the 64-byte signature of `message` by the 32-byte secret key. */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** RFC 8032 §5.1.7; false for a bad signature or an unusable key, never throws. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** noble, with ZIP-215's leniency off so it accepts exactly what OpenSSL accepts. */
const portable: Ed25519Backend = {
  name: 'portable',
  sign: (message, secretKey) => ed25519.sign(message, secretKey),
  verify(signature, message, publicKey) {
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

type Crypto = typeof NodeCrypto;

/** Keys imported at most this many at a time (a process verifies with one or two bank keys). */
const KEY_CACHE_SIZE = 16;

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');

/** The backend on `c` (exported for tests). Keys cross into OpenSSL as JWK (RFC 8037), imported once each. */
export function buildNativeEd25519(c: Crypto): Ed25519Backend {
  // A secret key is cached by its array, with a copy of its bytes: a caller that reuses the array for
  // another key gets the other key, not a stale one. Public keys are cached by their hex.
  const secrets = new WeakMap<Uint8Array, { bytes: Uint8Array; key: KeyObject }>();
  const publics = new Map<string, KeyObject>();
  const secretKeyOf = (sk: Uint8Array): KeyObject => {
    const hit = secrets.get(sk);
    if (hit !== undefined && equalBytes(hit.bytes, sk)) return hit.key;
    if (sk.length !== 32) {
      fail(
        'InvalidInput',
        { argument: 'secretKey', expected: '32 bytes', received: `${sk.length} bytes` },
        `secretKey: expected 32 bytes, got ${sk.length}`,
      );
    }
    // Node derives the public half from `d`; `x` is required by the JWK shape only.
    const key = c.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64(sk), x: '' }, format: 'jwk' });
    secrets.set(sk, { bytes: sk.slice(), key });
    return key;
  };
  const publicKeyOf = (pk: Uint8Array): KeyObject => {
    const id = bytesToHex(pk);
    let key = publics.get(id);
    if (key === undefined) {
      key = c.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(pk) }, format: 'jwk' });
      if (publics.size >= KEY_CACHE_SIZE) publics.delete(publics.keys().next().value as string);
      publics.set(id, key);
    }
    return key;
  };
  return {
    name: 'native',
    sign(message, secretKey) {
      const s = c.sign(null, message, secretKeyOf(secretKey));
      return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
    },
    verify(signature, message, publicKey) {
      try {
        if (signature.length !== 64 || publicKey.length !== 32) return false;
        return c.verify(null, message, publicKeyOf(publicKey), signature);
      } catch {
        // An encoding that is not a point is not a key that verifies anything.
        return false;
      }
    },
  };
}

/** True when `c` signs RFC 8032 §7.1 TEST 1 as the RFC does (Node's OpenSSL has Ed25519). */
function usable(c: Crypto | undefined): c is Crypto {
  try {
    if (c === undefined) return false;
    const sk = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'sk', 32);
    const sig = buildNativeEd25519(c).sign(new Uint8Array(0), sk);
    return (
      bytesToHex(sig) ===
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
    );
  } catch {
    return false;
  }
}

const choice = nativeOrPortable<Ed25519Backend>({
  what: 'Ed25519',
  needs: 'Ed25519',
  portable: () => portable,
  native: (c) => (usable(c) ? buildNativeEd25519(c) : undefined),
});

/** The named backend, or with no name the one receipts use (native when it loads, else portable). */
export const ed25519Backend = (name?: Ed25519BackendName): Ed25519Backend => choice.get(name);
