/**
 * RFC 9180 single-shot auth mode for our one suite, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20-Poly1305, written once for both HPKE backends: the suite ids, LabeledExtract/Expand, the
 * KEM's ExtractAndExpand, AuthEncap/AuthDecap, DeriveKeyPair (for the Appendix A vectors), the
 * KeySchedule and the all-zero DH refusal. A backend hands in its primitives (HMAC-SHA256, X25519, the
 * AEAD): `native.ts` on `node:crypto` for the servers, `portable.ts` on the noble libraries for the
 * browser wallet, which may run where WebCrypto's `crypto.subtle` is missing (plain http on a LAN).
 */
import { bytesToHex, concatBytes, equalBytes, utf8 } from '../bytes.js';
import { fail } from '../errors.js';
import { lruGet } from '../lru.js';
import type { HpkeBackend, HpkeBackendName } from './hpke.js';
import type { EncryptionKeyPair } from './keys.js';

/** An HPKE backend plus the RFC 9180 steps the Appendix A vectors check one by one. */
export interface SuiteHpke extends HpkeBackend {
  /** RFC 9180 §4.1 AuthDecap: the KEM shared secret. */
  authDecap(enc: Uint8Array, recipient: EncryptionKeyPair, pkS: Uint8Array): Uint8Array;
  /** RFC 9180 §5.1 KeySchedule for mode_auth (psk and psk_id empty): the AEAD key and base nonce. */
  keySchedule(shared_secret: Uint8Array, info: Uint8Array): { key: Uint8Array; base_nonce: Uint8Array };
}

/** HMAC-SHA256 (RFC 2104) of the parts, in order, under `key`. */
export type HmacSha256 = (key: Uint8Array, ...parts: Uint8Array[]) => Uint8Array;

/**
 * What a backend supplies. `K` is its form of an X25519 private key (raw bytes, or an imported key it
 * keeps, so the import is paid once per long-term pair); `P` its form of a public key.
 */
export interface SuitePrimitives<K, P> {
  name: HpkeBackendName;
  hmac: HmacSha256;
  /** `N_SK` bytes from a secure random source (RFC 7748 §5: any 32 bytes are an X25519 private key). */
  randomSecret(): Uint8Array;
  /** The private key of a long-term pair, in the backend's form. */
  pairKey(pair: EncryptionKeyPair): K;
  /** An ephemeral private key from raw bytes, with its public key (`enc`). */
  ephemeral(sk: Uint8Array): { skE: K; enc: Uint8Array };
  /**
   * A public key in the backend's form, imported once per use here. `recurs` marks a long-term peer key
   * (pkR, pkS), which the backend may keep in a bounded cache; `enc` is fresh every time and never does.
   */
  publicKey(pk: Uint8Array, argument: string, recurs: boolean): P;
  /** X25519(sk, pk); may refuse a low-order `pk` itself (with `refuseLowOrder(argument)`). */
  dh(sk: K, pk: P, argument: string): Uint8Array;
  /** ChaCha20-Poly1305 encryption: the ciphertext followed by its `N_T`-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array;
  /** ChaCha20-Poly1305 decryption of ciphertext ‖ tag; throws when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array;
}

const i2osp2 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);

// RFC 9180 §7.1–7.3: kem_id 0x0020, kdf_id 0x0001, aead_id 0x0003 and their sizes.
const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const N_SECRET = 32;
export const N_SK = 32;
const N_K = 32;
const N_N = 12;
export const N_T = 16;
const N_H = 32;
// RFC 9180 §5: mode_auth.
const MODE_AUTH = 0x02;
// RFC 9180 §4.1: the KEM's suite_id; §5.1: the key schedule's.
const KEM_SUITE = concatBytes(utf8('KEM'), i2osp2(KEM_ID));
const HPKE_SUITE = concatBytes(utf8('HPKE'), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(AEAD_ID));
const HPKE_V1 = utf8('HPKE-v1');
const EMPTY = new Uint8Array(0);
// The labels of RFC 9180 §4.1, §5.1 and §7.1.3, encoded once rather than on every call.
const labels = <L extends string>(...names: L[]) =>
  Object.fromEntries(names.map((l) => [l, utf8(l)])) as Record<L, Uint8Array>;
const LABEL = labels(
  'eae_prk',
  'shared_secret',
  'psk_id_hash',
  'info_hash',
  'secret',
  'key',
  'base_nonce',
  'dkp_prk',
  'sk',
);

/** Throws `InvalidInput` for a low-order X25519 key given as `argument`. */
export function refuseLowOrder(argument: string): never {
  return fail(
    'InvalidInput',
    { argument, expected: 'an X25519 public key not of low order', received: 'a low-order key' },
    `${argument}: a low-order X25519 key gives an all-zero shared secret`,
  );
}

/**
 * How many peers' static-static DH outputs each long-term pair keeps (≈ 36 µs of X25519 saved per
 * seal or open, native; ≈ 1.1 ms portable). Peers are chosen by clients, so the cache is bounded and
 * evicts the least recently used.
 */
export const STATIC_DH_CACHE = 1024;

/** The suite's HPKE on `p`'s primitives; `staticDhCache` bounds the static DH outputs kept per pair. */
export function suiteHpke<K, P>(p: SuitePrimitives<K, P>, staticDhCache = STATIC_DH_CACHE): SuiteHpke {
  const { hmac } = p;

  // RFC 5869 HKDF-Extract and HKDF-Expand with HMAC-SHA256 (an empty salt is HashLen zeros to HMAC).
  const extract = (salt: Uint8Array, ikm: Uint8Array): Uint8Array => hmac(salt, ikm);
  function expand(prk: Uint8Array, info: Uint8Array, L: number): Uint8Array {
    const okm = new Uint8Array(Math.ceil(L / N_H) * N_H);
    let t: Uint8Array = EMPTY;
    for (let i = 1; (i - 1) * N_H < L; i++) {
      t = hmac(prk, t, info, new Uint8Array([i]));
      okm.set(t, (i - 1) * N_H);
    }
    return okm.subarray(0, L);
  }
  // RFC 9180 §4: LabeledExtract and LabeledExpand, domain-separated by "HPKE-v1" and the suite_id.
  const labeledExtract = (suite: Uint8Array, salt: Uint8Array, label: Uint8Array, ikm: Uint8Array) =>
    extract(salt, concatBytes(HPKE_V1, suite, label, ikm));
  const labeledExpand = (
    suite: Uint8Array,
    prk: Uint8Array,
    label: Uint8Array,
    info: Uint8Array,
    L: number,
  ) => expand(prk, concatBytes(i2osp2(L), HPKE_V1, suite, label, info), L);

  function dh(sk: K, pk: P, argument: string): Uint8Array {
    const z = p.dh(sk, pk, argument);
    let any = 0;
    // An indexed loop: a for-of iterator here cost as much as an HMAC in the profile.
    for (let i = 0; i < z.length; i++) any |= z[i] as number;
    // RFC 9180 §7.1.4 / RFC 7748 §6.1: an all-zero DH output means a low-order public key; refuse it.
    // (OpenSSL 3 and noble already refuse such keys; the check keeps the rule from resting on that.)
    if (any === 0) refuseLowOrder(argument);
    return z;
  }

  // Auth mode's second DH, DH(skS, pkR) when sealing and DH(skR, pkS) when opening, joins two long-term
  // keys, so it is the same every time one pair meets one peer: kept per pair (held weakly, like the
  // pair's imported key) and per peer key's exact bytes. Only a DH that passed the all-zero check is kept.
  const staticShared = new WeakMap<EncryptionKeyPair, Map<string, Uint8Array>>();
  function staticDh(pair: EncryptionKeyPair, pk: Uint8Array, key: () => P, argument: string): Uint8Array {
    let byPeer = staticShared.get(pair);
    if (byPeer === undefined) {
      byPeer = new Map();
      staticShared.set(pair, byPeer);
    }
    return lruGet(byPeer, bytesToHex(pk), staticDhCache, () => dh(p.pairKey(pair), key(), argument));
  }

  // RFC 9180 §4.1 ExtractAndExpand.
  function extractAndExpand(dhBytes: Uint8Array, kem_context: Uint8Array): Uint8Array {
    const eae_prk = labeledExtract(KEM_SUITE, EMPTY, LABEL.eae_prk, dhBytes);
    return labeledExpand(KEM_SUITE, eae_prk, LABEL.shared_secret, kem_context, N_SECRET);
  }

  // RFC 9180 §5.1: key_schedule_context = mode ‖ psk_id_hash ‖ info_hash depends on info alone (psk_id
  // is empty), and envelopes use one info, so the last one is kept.
  let lastContext: { info: Uint8Array; key_schedule_context: Uint8Array } | undefined;
  function contextOf(info: Uint8Array): Uint8Array {
    if (lastContext === undefined || !equalBytes(lastContext.info, info)) {
      const psk_id_hash = labeledExtract(HPKE_SUITE, EMPTY, LABEL.psk_id_hash, EMPTY);
      const info_hash = labeledExtract(HPKE_SUITE, EMPTY, LABEL.info_hash, info);
      const key_schedule_context = concatBytes(new Uint8Array([MODE_AUTH]), psk_id_hash, info_hash);
      lastContext = { info: info.slice(), key_schedule_context };
    }
    return lastContext.key_schedule_context;
  }

  // RFC 9180 §5.1 KeySchedule with mode_auth, psk = "" and psk_id = "" (no exporter: single-shot).
  function keySchedule(shared_secret: Uint8Array, info: Uint8Array) {
    const key_schedule_context = contextOf(info);
    const secret = labeledExtract(HPKE_SUITE, shared_secret, LABEL.secret, EMPTY);
    return {
      key: labeledExpand(HPKE_SUITE, secret, LABEL.key, key_schedule_context, N_K),
      base_nonce: labeledExpand(HPKE_SUITE, secret, LABEL.base_nonce, key_schedule_context, N_N),
    };
  }

  // RFC 9180 §7.1.3 DeriveKeyPair for X25519 (tests only), else GenerateKeyPair.
  function ephemeral(ikmE: Uint8Array | undefined): { skE: K; enc: Uint8Array } {
    if (ikmE === undefined) return p.ephemeral(p.randomSecret());
    const dkp_prk = labeledExtract(KEM_SUITE, EMPTY, LABEL.dkp_prk, ikmE);
    return p.ephemeral(labeledExpand(KEM_SUITE, dkp_prk, LABEL.sk, EMPTY, N_SK));
  }

  // RFC 9180 §4.1 AuthDecap: dh = DH(skR, pkE) ‖ DH(skR, pkS); kem_context = enc ‖ pkR ‖ pkS.
  function authDecap(enc: Uint8Array, recipient: EncryptionKeyPair, pkS: Uint8Array): Uint8Array {
    const skR = p.pairKey(recipient);
    const dhBytes = concatBytes(
      dh(skR, p.publicKey(enc, 'enc', false), 'enc'),
      staticDh(recipient, pkS, () => p.publicKey(pkS, 'pkS', true), 'pkS'),
    );
    return extractAndExpand(dhBytes, concatBytes(enc, recipient.publicKey, pkS));
  }

  return {
    name: p.name,
    authDecap,
    keySchedule,
    // RFC 9180 §6.1 SealAuth and OpenAuth; async only for the interface (the work is synchronous).
    async sealAuth({ pkR, sender, info, aad, pt, ikmE }) {
      // RFC 9180 §4.1 AuthEncap: dh = DH(skE, pkR) ‖ DH(skS, pkR); kem_context = enc ‖ pkR ‖ pkS.
      const { skE, enc } = ephemeral(ikmE);
      const pkRKey = p.publicKey(pkR, 'pkR', true);
      const dhBytes = concatBytes(
        dh(skE, pkRKey, 'pkR'),
        staticDh(sender, pkR, () => pkRKey, 'pkR'),
      );
      const shared_secret = extractAndExpand(dhBytes, concatBytes(enc, pkR, sender.publicKey));
      const { key, base_nonce } = keySchedule(shared_secret, info);
      // RFC 9180 §5.2: the single-shot message has seq 0, so its nonce is base_nonce.
      return { enc, ct: p.seal(key, base_nonce, aad, pt) };
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
      return p.open(key, base_nonce, aad, ct);
    },
  };
}
