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
/** HKDF-Expand's first block counter, T(1) = HMAC(PRK, info ‖ 0x01) (RFC 5869 §2.3). */
const ONE = new Uint8Array([1]);

/**
 * The fixed head of a labeled input (RFC 9180 §4), built once instead of on every call: LabeledExtract
 * hashes "HPKE-v1" ‖ suite_id ‖ label ‖ ikm, LabeledExpand I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖
 * info; the head and the variable parts go to the HMAC as separate parts, so nothing is concatenated.
 */
const extractHead = (suite: Uint8Array, label: string) => concatBytes(HPKE_V1, suite, utf8(label));
const expandHead = (suite: Uint8Array, label: string, L: number) =>
  concatBytes(i2osp2(L), HPKE_V1, suite, utf8(label));
// The labels of RFC 9180 §4.1, §5.1 and §7.1.3 with their suites (and output lengths).
const HEAD = {
  eae_prk: extractHead(KEM_SUITE, 'eae_prk'),
  shared_secret: expandHead(KEM_SUITE, 'shared_secret', N_SECRET),
  psk_id_hash: extractHead(HPKE_SUITE, 'psk_id_hash'),
  info_hash: extractHead(HPKE_SUITE, 'info_hash'),
  secret: extractHead(HPKE_SUITE, 'secret'),
  key: expandHead(HPKE_SUITE, 'key', N_K),
  base_nonce: expandHead(HPKE_SUITE, 'base_nonce', N_N),
  dkp_prk: extractHead(KEM_SUITE, 'dkp_prk'),
  sk: expandHead(KEM_SUITE, 'sk', N_SK),
};

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

  // RFC 9180 §4 LabeledExtract and LabeledExpand over RFC 5869 HKDF-Extract and HKDF-Expand with
  // HMAC-SHA256 (an empty salt is HashLen zeros to HMAC); `head` is the label's fixed part (`HEAD`),
  // `ikm` and `info` the variable parts in order. Every length this suite asks is one block or less.
  const labeledExtract = (head: Uint8Array, salt: Uint8Array, ...ikm: Uint8Array[]): Uint8Array =>
    hmac(salt, head, ...ikm);
  function labeledExpand(head: Uint8Array, prk: Uint8Array, L: number, ...info: Uint8Array[]): Uint8Array {
    if (L > N_H) fail('Internal', { reason: `HKDF-Expand of ${L} bytes: this suite needs one block` });
    const t = hmac(prk, head, ...info, ONE);
    return L === N_H ? t : t.subarray(0, L);
  }

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

  // RFC 9180 §4.1 ExtractAndExpand, dh = dh1 ‖ dh2 and kem_context = enc ‖ pkR ‖ pkS given in parts.
  function extractAndExpand(
    dh: [Uint8Array, Uint8Array],
    kem_context: [Uint8Array, Uint8Array, Uint8Array],
  ): Uint8Array {
    const eae_prk = labeledExtract(HEAD.eae_prk, EMPTY, ...dh);
    return labeledExpand(HEAD.shared_secret, eae_prk, N_SECRET, ...kem_context);
  }

  // RFC 9180 §5.1: key_schedule_context = mode ‖ psk_id_hash ‖ info_hash depends on info alone (psk_id
  // is empty), and envelopes use one info, so the last one is kept.
  let lastContext: { info: Uint8Array; key_schedule_context: Uint8Array } | undefined;
  function contextOf(info: Uint8Array): Uint8Array {
    if (lastContext === undefined || !equalBytes(lastContext.info, info)) {
      const psk_id_hash = labeledExtract(HEAD.psk_id_hash, EMPTY, EMPTY);
      const info_hash = labeledExtract(HEAD.info_hash, EMPTY, info);
      const key_schedule_context = concatBytes(new Uint8Array([MODE_AUTH]), psk_id_hash, info_hash);
      lastContext = { info: info.slice(), key_schedule_context };
    }
    return lastContext.key_schedule_context;
  }

  // RFC 9180 §5.1 KeySchedule with mode_auth, psk = "" and psk_id = "" (no exporter: single-shot).
  function keySchedule(shared_secret: Uint8Array, info: Uint8Array) {
    const key_schedule_context = contextOf(info);
    const secret = labeledExtract(HEAD.secret, shared_secret, EMPTY);
    return {
      key: labeledExpand(HEAD.key, secret, N_K, key_schedule_context),
      base_nonce: labeledExpand(HEAD.base_nonce, secret, N_N, key_schedule_context),
    };
  }

  // RFC 9180 §7.1.3 DeriveKeyPair for X25519 (tests only), else GenerateKeyPair.
  function ephemeral(ikmE: Uint8Array | undefined): { skE: K; enc: Uint8Array } {
    if (ikmE === undefined) return p.ephemeral(p.randomSecret());
    const dkp_prk = labeledExtract(HEAD.dkp_prk, EMPTY, ikmE);
    return p.ephemeral(labeledExpand(HEAD.sk, dkp_prk, N_SK, EMPTY));
  }

  // RFC 9180 §4.1 AuthDecap: dh = DH(skR, pkE) ‖ DH(skR, pkS); kem_context = enc ‖ pkR ‖ pkS.
  function authDecap(enc: Uint8Array, recipient: EncryptionKeyPair, pkS: Uint8Array): Uint8Array {
    const skR = p.pairKey(recipient);
    return extractAndExpand(
      [
        dh(skR, p.publicKey(enc, 'enc', false), 'enc'),
        staticDh(recipient, pkS, () => p.publicKey(pkS, 'pkS', true), 'pkS'),
      ],
      [enc, recipient.publicKey, pkS],
    );
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
      const shared_secret = extractAndExpand(
        [dh(skE, pkRKey, 'pkR'), staticDh(sender, pkR, () => pkRKey, 'pkR')],
        [enc, pkR, sender.publicKey],
      );
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
