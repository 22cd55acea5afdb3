/**
 * The native HPKE backend: the suite of `rfc9180.ts` (RFC 9180 single-shot auth mode,
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305) on synchronous `node:crypto` (X25519,
 * HMAC-SHA256, chacha20-poly1305), the servers' hot path: a seal + open between recurring peers is
 * three X25519 operations (the static-static DHs are kept, `rfc9180.ts`) and fourteen HMACs on the
 * calling thread, where WebCrypto would send each through libuv's thread pool.
 * Checked against RFC 9180 Appendix A.2.3 and, both ways, against `portable.ts` and `@hpke/core`.
 */
import type * as NodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { lruGet } from '../lru.js';
import { randomBytes } from '../random.js';
import type { EncryptionKeyPair } from './keys.js';
import { N_SK, N_T, type SuiteHpke, type SuitePrimitives, suiteHpke } from './rfc9180.js';

type Crypto = typeof NodeCrypto;

/** The native backend plus the RFC 9180 steps the Appendix A vectors check one by one. */
export type NativeHpke = SuiteHpke;

// Keys cross into OpenSSL as JWK (RFC 8037): OpenSSL 3 decodes DER an order of magnitude slower
// (measured ≈900 µs against ≈60 µs for a private key). For a private key Node derives the public
// half from `d` and ignores `x`, so `x` is left empty; `usable` checks that this still holds.
const privateKeyOn = (c: Crypto, sk: Uint8Array): KeyObject =>
  c.createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'X25519',
      d: Buffer.from(sk.buffer, sk.byteOffset, sk.length).toString('base64url'),
      x: '',
    },
    format: 'jwk',
  });

/**
 * How many peers' imported public keys a backend keeps (≈ 9 µs saved per import; senders and recipients
 * are chosen by clients, so the cache is bounded and evicts the least recently used).
 */
export const PUBLIC_KEY_CACHE = 1024;

/** A Uint8Array view of a Buffer, so callers and tests see the same type from both backends. */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * The backend on `c` (exported for tests, which pass an instrumented `node:crypto`); `cacheSize` bounds
 * both the peers' imported public keys and each pair's static DH outputs (`rfc9180.ts`).
 */
export function buildNativeHpke(c: Crypto, cacheSize = PUBLIC_KEY_CACHE): NativeHpke {
  const privateKeys = new WeakMap<EncryptionKeyPair, KeyObject>();
  // Keyed by the key's exact bytes (as the JWK's `x`), least recently used dropped first (`lruGet`).
  const publicKeys = new Map<string, KeyObject>();

  const privateKey = (sk: Uint8Array): KeyObject => privateKeyOn(c, sk);
  const importPublic = (x: string): KeyObject =>
    c.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  function publicKey(pk: Uint8Array, recurs: boolean): KeyObject {
    const x = Buffer.from(pk.buffer, pk.byteOffset, pk.length).toString('base64url');
    if (!recurs) return importPublic(x);
    return lruGet(publicKeys, x, cacheSize, () => importPublic(x));
  }
  const rawPublic = (pk: KeyObject): Uint8Array =>
    plain(Buffer.from(pk.export({ format: 'jwk' }).x ?? '', 'base64url'));

  const primitives: SuitePrimitives<KeyObject, KeyObject> = {
    name: 'native',
    hmac(key, ...parts) {
      const h = c.createHmac('sha256', key);
      for (const part of parts) h.update(part);
      return plain(h.digest());
    },
    // RFC 7748 §5: any 32 random bytes are an X25519 private key. Never `generateKeyPair*`: on Node 20
    // a keygen job collected by GC while `export({format:'jwk'})` of its key holds the key's mutex
    // locks that mutex again, and the process hangs for good (seen in CI; gdb: ~KeyGenJob under
    // ExportJWKEdKey). Keys imported from bytes have no job to collect.
    // From the process's pooled CSPRNG (`core/random.ts`): one call to it per 32 keys, not per key.
    randomSecret: () => randomBytes(N_SK),
    pairKey(pair) {
      let k = privateKeys.get(pair);
      if (k === undefined) {
        k = privateKey(pair.privateKey);
        privateKeys.set(pair, k);
      }
      return k;
    },
    ephemeral(sk) {
      const skE = privateKey(sk);
      return { skE, enc: rawPublic(c.createPublicKey(skE)) };
    },
    publicKey: (pk, _argument, recurs) => publicKey(pk, recurs),
    dh: (sk, pk) => plain(c.diffieHellman({ privateKey: sk, publicKey: pk })),
    seal(key, nonce, aad, pt) {
      const cipher = c.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: N_T });
      cipher.setAAD(aad, { plaintextLength: pt.length });
      return plain(Buffer.concat([cipher.update(pt), cipher.final(), cipher.getAuthTag()]));
    },
    open(key, nonce, aad, ct) {
      const decipher = c.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: N_T });
      decipher.setAuthTag(ct.subarray(ct.length - N_T));
      decipher.setAAD(aad, { plaintextLength: ct.length - N_T });
      // final() throws when the tag does not verify; the text update() gave is then discarded. A
      // stream cipher's final() gives no more text, so the text is not copied again.
      const text = decipher.update(ct.subarray(0, ct.length - N_T));
      const rest = decipher.final();
      return plain(rest.length === 0 ? text : Buffer.concat([text, rest]));
    },
  };
  return suiteHpke(primitives, cacheSize);
}

/** True when `c` has everything this backend calls (Node has; a stripped OpenSSL might not). */
function usable(c: Crypto | undefined): c is Crypto {
  try {
    if (c?.getCiphers().includes('chacha20-poly1305') !== true) return false;
    // RFC 7748 §6.1: Alice's key pair, imported the way every private key is.
    const sk = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const pk = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
    return (
      c.createPublicKey(privateKeyOn(c, sk)).export({ format: 'jwk' }).x ===
      Buffer.from(pk, 'hex').toString('base64url')
    );
  } catch {
    return false;
  }
}

/** The native backend on `c` when it has X25519 and ChaCha20-Poly1305 as this file uses them, else undefined. */
export function nativeHpkeOn(c: Crypto): NativeHpke | undefined {
  return usable(c) ? buildNativeHpke(c) : undefined;
}
