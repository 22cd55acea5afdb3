/**
 * The native HPKE backend: RFC 9180 single-shot auth mode written directly for our one suite,
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, on synchronous `node:crypto` (X25519,
 * HMAC-SHA256, chacha20-poly1305). `@hpke/core` makes every DH and HKDF step an async WebCrypto call
 * through libuv's thread pool; here a seal + open is five X25519 operations and fourteen HMACs on the
 * calling thread. Checked against RFC 9180 Appendix A.2.3 and, both ways, against `portable.ts`.
 */
import type * as NodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { concatBytes, equalBytes, utf8 } from '../bytes.js';
import { fail } from '../errors.js';
import type { HpkeBackend } from './hpke.js';
import type { EncryptionKeyPair } from './keys.js';

type Crypto = typeof NodeCrypto;

/** The native backend plus the RFC 9180 steps the Appendix A vectors check one by one. */
export interface NativeHpke extends HpkeBackend {
  /** RFC 9180 §4.1 AuthDecap: the KEM shared secret. */
  authDecap(enc: Uint8Array, recipient: EncryptionKeyPair, pkS: Uint8Array): Uint8Array;
  /** RFC 9180 §5.1 KeySchedule for mode_auth (psk and psk_id empty): the AEAD key and base nonce. */
  keySchedule(shared_secret: Uint8Array, info: Uint8Array): { key: Uint8Array; base_nonce: Uint8Array };
}

const i2osp2 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);

// RFC 9180 §7.1–7.3: kem_id 0x0020, kdf_id 0x0001, aead_id 0x0003 and their sizes.
const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const N_SECRET = 32;
const N_SK = 32;
const N_K = 32;
const N_N = 12;
const N_T = 16;
const N_H = 32;
// RFC 9180 §5: mode_auth.
const MODE_AUTH = 0x02;
// RFC 9180 §4.1: the KEM's suite_id; §5.1: the key schedule's.
const KEM_SUITE = concatBytes(utf8('KEM'), i2osp2(KEM_ID));
const HPKE_SUITE = concatBytes(utf8('HPKE'), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(AEAD_ID));
const HPKE_V1 = utf8('HPKE-v1');
const EMPTY = new Uint8Array(0);
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

/** A Uint8Array view of a Buffer, so callers and tests see the same type from both backends. */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** The backend on `c` (exported for tests, which pass an instrumented `node:crypto`). */
export function buildNativeHpke(c: Crypto): NativeHpke {
  const privateKeys = new WeakMap<EncryptionKeyPair, KeyObject>();

  const privateKey = (sk: Uint8Array): KeyObject => privateKeyOn(c, sk);
  const publicKey = (pk: Uint8Array): KeyObject =>
    c.createPublicKey({
      key: {
        kty: 'OKP',
        crv: 'X25519',
        x: Buffer.from(pk.buffer, pk.byteOffset, pk.length).toString('base64url'),
      },
      format: 'jwk',
    });
  const rawPublic = (pk: KeyObject): Uint8Array =>
    plain(Buffer.from(pk.export({ format: 'jwk' }).x ?? '', 'base64url'));

  function pairKey(pair: EncryptionKeyPair): KeyObject {
    let k = privateKeys.get(pair);
    if (k === undefined) {
      k = privateKey(pair.privateKey);
      privateKeys.set(pair, k);
    }
    return k;
  }

  // RFC 5869 HKDF-Extract and HKDF-Expand with HMAC-SHA256 (an empty salt is HashLen zeros to HMAC).
  const extract = (salt: Uint8Array, ikm: Uint8Array): Uint8Array =>
    plain(c.createHmac('sha256', salt).update(ikm).digest());
  function expand(prk: Uint8Array, info: Uint8Array, L: number): Uint8Array {
    const okm = new Uint8Array(Math.ceil(L / N_H) * N_H);
    let t: Uint8Array = EMPTY;
    for (let i = 1; (i - 1) * N_H < L; i++) {
      t = plain(
        c
          .createHmac('sha256', prk)
          .update(t)
          .update(info)
          .update(new Uint8Array([i]))
          .digest(),
      );
      okm.set(t, (i - 1) * N_H);
    }
    return okm.subarray(0, L);
  }
  // RFC 9180 §4: LabeledExtract and LabeledExpand, domain-separated by "HPKE-v1" and the suite_id.
  const labeledExtract = (suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array) =>
    extract(salt, concatBytes(HPKE_V1, suite, utf8(label), ikm));
  const labeledExpand = (suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, L: number) =>
    expand(prk, concatBytes(i2osp2(L), HPKE_V1, suite, utf8(label), info), L);

  function dh(sk: KeyObject, pk: Uint8Array, argument: string): Uint8Array {
    const z = c.diffieHellman({ privateKey: sk, publicKey: publicKey(pk) });
    let any = 0;
    for (const byte of z) any |= byte;
    // RFC 9180 §7.1.4 / RFC 7748 §6.1: an all-zero DH output means a low-order public key; refuse it.
    // (OpenSSL 3 already fails such a derivation; the check keeps the rule from resting on that.)
    if (any === 0) {
      fail(
        'InvalidInput',
        { argument, expected: 'an X25519 public key not of low order', received: 'a low-order key' },
        `${argument}: a low-order X25519 key gives an all-zero shared secret`,
      );
    }
    return plain(z);
  }

  // RFC 9180 §4.1 ExtractAndExpand.
  function extractAndExpand(dhBytes: Uint8Array, kem_context: Uint8Array): Uint8Array {
    const eae_prk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dhBytes);
    return labeledExpand(KEM_SUITE, eae_prk, 'shared_secret', kem_context, N_SECRET);
  }

  // RFC 9180 §5.1: key_schedule_context = mode ‖ psk_id_hash ‖ info_hash depends on info alone (psk_id
  // is empty), and envelopes use one info, so the last one is kept.
  let lastContext: { info: Uint8Array; key_schedule_context: Uint8Array } | undefined;
  function contextOf(info: Uint8Array): Uint8Array {
    if (lastContext === undefined || !equalBytes(lastContext.info, info)) {
      const psk_id_hash = labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY);
      const info_hash = labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', info);
      const key_schedule_context = concatBytes(new Uint8Array([MODE_AUTH]), psk_id_hash, info_hash);
      lastContext = { info: info.slice(), key_schedule_context };
    }
    return lastContext.key_schedule_context;
  }

  // RFC 9180 §5.1 KeySchedule with mode_auth, psk = "" and psk_id = "" (no exporter: single-shot).
  function keySchedule(shared_secret: Uint8Array, info: Uint8Array) {
    const key_schedule_context = contextOf(info);
    const secret = labeledExtract(HPKE_SUITE, shared_secret, 'secret', EMPTY);
    return {
      key: labeledExpand(HPKE_SUITE, secret, 'key', key_schedule_context, N_K),
      base_nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', key_schedule_context, N_N),
    };
  }

  // RFC 9180 §7.1.3 DeriveKeyPair for X25519 (tests only), else GenerateKeyPair.
  function ephemeral(ikmE: Uint8Array | undefined): { skE: KeyObject; enc: Uint8Array } {
    // RFC 7748 §5: any 32 random bytes are an X25519 private key. Never `generateKeyPair*`: on Node 20
    // a keygen job collected by GC while `export({format:'jwk'})` of its key holds the key's mutex
    // locks that mutex again, and the process hangs for good (seen in CI; gdb: ~KeyGenJob under
    // ExportJWKEdKey). Keys imported from bytes have no job to collect.
    let sk: Uint8Array;
    if (ikmE === undefined) {
      sk = plain(c.randomBytes(N_SK));
    } else {
      const dkp_prk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikmE);
      sk = labeledExpand(KEM_SUITE, dkp_prk, 'sk', EMPTY, N_SK);
    }
    const skE = privateKey(sk);
    return { skE, enc: rawPublic(c.createPublicKey(skE)) };
  }

  // RFC 9180 §4.1 AuthDecap: dh = DH(skR, pkE) ‖ DH(skR, pkS); kem_context = enc ‖ pkR ‖ pkS.
  function authDecap(enc: Uint8Array, recipient: EncryptionKeyPair, pkS: Uint8Array): Uint8Array {
    const skR = pairKey(recipient);
    const dhBytes = concatBytes(dh(skR, enc, 'enc'), dh(skR, pkS, 'pkS'));
    return extractAndExpand(dhBytes, concatBytes(enc, recipient.publicKey, pkS));
  }

  return {
    name: 'native',
    authDecap,
    keySchedule,
    async sealAuth({ pkR, sender, info, aad, pt, ikmE }) {
      // RFC 9180 §4.1 AuthEncap: dh = DH(skE, pkR) ‖ DH(skS, pkR); kem_context = enc ‖ pkR ‖ pkS.
      const { skE, enc } = ephemeral(ikmE);
      const dhBytes = concatBytes(dh(skE, pkR, 'pkR'), dh(pairKey(sender), pkR, 'pkR'));
      const shared_secret = extractAndExpand(dhBytes, concatBytes(enc, pkR, sender.publicKey));
      const { key, base_nonce } = keySchedule(shared_secret, info);
      // RFC 9180 §5.2: the single-shot message has seq 0, so its nonce is base_nonce.
      const cipher = c.createCipheriv('chacha20-poly1305', key, base_nonce, { authTagLength: N_T });
      cipher.setAAD(aad, { plaintextLength: pt.length });
      return { enc, ct: plain(Buffer.concat([cipher.update(pt), cipher.final(), cipher.getAuthTag()])) };
    },
    async openAuth({ enc, recipient, pkS, info, aad, ct }) {
      if (ct.length < N_T) {
        fail(
          'InvalidInput',
          { argument: 'ct', expected: `at least ${N_T} bytes`, received: `${ct.length} bytes` },
          `ct: expected at least the ${N_T}-byte tag, got ${ct.length} bytes`,
        );
      }
      const { key, base_nonce } = keySchedule(authDecap(enc, recipient, pkS), info);
      const decipher = c.createDecipheriv('chacha20-poly1305', key, base_nonce, { authTagLength: N_T });
      decipher.setAuthTag(ct.subarray(ct.length - N_T));
      decipher.setAAD(aad, { plaintextLength: ct.length - N_T });
      // final() throws when the tag does not verify; the text update() gave is then discarded.
      return plain(Buffer.concat([decipher.update(ct.subarray(0, ct.length - N_T)), decipher.final()]));
    },
  };
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
