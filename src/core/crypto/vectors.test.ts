/**
 * The Cashu spec's test vectors (`../shared/vectors/`, extracted from cashubtc/nuts tests/*.md) on both
 * curve backends: NUT-00 BDHKE, NUT-01 keys, NUT-02 keyset ids, NUT-12 DLEQ, NUT-13 secrets.
 * A missing or empty vector file fails the run; nothing is skipped.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { mnemonicToSeedSync } from '@scure/bip39';
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../bytes.js';
import { isLancashError } from '../errors.js';
import { loadNativeCurve } from './native.js';
import { nobleCurve } from './noble.js';
import { blindMessage, hashToCurve, signBlinded } from './nut00.js';
import { keysetIdV1, keysetIdV2, parseKeys } from './nut02.js';
import { createDleq, hashE, verifyDleq, verifyProofDleq } from './nut12.js';
import { deriveSecret, deriveSecretV1, deriveSecretV2, keysetIdInt } from './nut13.js';

type Hex = string;
type Keys = Record<string, Hex>;

interface Vectors {
  nut00: {
    hash_to_curve: { message_hex: Hex; point_hex: Hex }[];
    blinded_messages: { x_hex: Hex; r_hex: Hex; B_hex: Hex }[];
    blind_signatures: { k_hex: Hex; B_hex: Hex; C_hex: Hex }[];
  };
  nut01: { invalid_keysets: { reason: string; keys: Keys }[]; valid_keysets: { keys: Keys }[] };
  nut02: {
    keyset_id_v1: { expected_id: string; keys: Keys }[];
    keyset_id_v2: {
      expected_id: string;
      keys: Keys;
      unit: string;
      input_fee_ppk: number;
      final_expiry: number | null;
    }[];
  };
  nut12: {
    hash_e: { R1: Hex; R2: Hex; K: Hex; C_: Hex; expected_hash: Hex }[];
    deterministic_nonce: { a: Hex; A: Hex; B_: Hex; C_: Hex; e: Hex; s: Hex }[];
    blind_signature_dleq: { A: Hex; B_: Hex; blind_signature: { C_: Hex; dleq: { e: Hex; s: Hex } } }[];
    proof_dleq: { A: Hex; proof: { secret: string; C: Hex; dleq: { e: Hex; s: Hex; r: Hex } } }[];
  };
  nut13: {
    v1_keyset_id_int: { keyset_id: string; keyset_id_int: number }[];
    v1_secret_derivation: Derivation[];
    v2_secret_derivation: Derivation[];
  };
}

interface Derivation {
  mnemonic: string;
  keyset_id: string;
  vectors: { counter: number; secret: Hex; r: Hex }[];
}

/** The `cases` of one vector file; the repo root is the cwd, `/work/shared` sits beside it. */
function load<K extends keyof Vectors>(name: K): Vectors[K] {
  const path = resolve(process.cwd(), '../shared/vectors', `${name}.json`);
  const file = JSON.parse(readFileSync(path, 'utf8')) as { cases: Vectors[K] };
  for (const [section, cases] of Object.entries(file.cases)) {
    if (!Array.isArray(cases) || cases.length === 0)
      throw new TypeError(`${name}.json: section ${section} is empty`);
  }
  return file.cases;
}

const vectors = {
  nut00: load('nut00'),
  nut01: load('nut01'),
  nut02: load('nut02'),
  nut12: load('nut12'),
  nut13: load('nut13'),
};

const native = loadNativeCurve();
it('loads the native backend (libsecp256k1)', () => {
  expect(native, 'the secp256k1 native binding must load for these tests').toBeDefined();
});

const h = hexToBytes;
const toMap = (keys: Keys): Map<number, Uint8Array> =>
  new Map(Object.entries(keys).map(([amount, K]) => [Number(amount), h(K)]));

describe.each([nobleCurve, native!])('spec vectors on the $name backend', (curve) => {
  describe('NUT-00', () => {
    it.each(vectors.nut00.hash_to_curve)('hash_to_curve($message_hex)', (v) => {
      expect(bytesToHex(hashToCurve(curve, h(v.message_hex)))).toBe(v.point_hex);
    });
    it.each(vectors.nut00.blinded_messages)('B_ = Y + rG for x $x_hex', (v) => {
      const { Y, B_ } = blindMessage(curve, h(v.x_hex), h(v.r_hex));
      expect(bytesToHex(Y)).toBe(bytesToHex(hashToCurve(curve, h(v.x_hex))));
      expect(bytesToHex(B_)).toBe(v.B_hex);
    });
    it.each(vectors.nut00.blind_signatures)('C_ = kB_ for k $k_hex', (v) => {
      expect(bytesToHex(signBlinded(curve, h(v.k_hex), h(v.B_hex)))).toBe(v.C_hex);
    });
  });

  describe('NUT-01 keys', () => {
    it.each(vectors.nut01.valid_keysets)('accepts a valid keyset of $keys.1…', (v) => {
      const keys = parseKeys(v.keys, curve);
      expect([...keys.keys()]).toEqual(Object.keys(v.keys).map(Number));
      expect([...keys.values()].map(bytesToHex)).toEqual(Object.values(v.keys));
    });
    it.each(vectors.nut01.invalid_keysets)('rejects: $reason', (v) => {
      let caught: unknown;
      try {
        parseKeys(v.keys, curve);
      } catch (error) {
        caught = error;
      }
      expect(isLancashError(caught, 'InvalidKeyset')).toBe(true);
    });
  });

  describe('NUT-02 keyset ids', () => {
    it.each(vectors.nut02.keyset_id_v1)('v1 id $expected_id', (v) => {
      expect(keysetIdV1(parseKeys(v.keys, curve))).toBe(v.expected_id);
    });
    it.each(vectors.nut02.keyset_id_v2)('v2 id $expected_id', (v) => {
      const keys = parseKeys(v.keys, curve);
      expect(keysetIdV2(keys, v.unit, v.input_fee_ppk, v.final_expiry ?? undefined)).toBe(v.expected_id);
    });
    it('the NUT-01 valid keysets have the NUT-02 v1 ids', () => {
      const ids = vectors.nut01.valid_keysets.map((v) => keysetIdV1(parseKeys(v.keys, curve)));
      expect(ids).toEqual(vectors.nut02.keyset_id_v1.map((v) => v.expected_id));
      // Building the map without parseKeys gives the same ids (order of insertion does not matter).
      expect(keysetIdV1(new Map([...toMap(vectors.nut01.valid_keysets[0]!.keys)].reverse()))).toBe(ids[0]);
    });
  });

  describe('NUT-12 DLEQ', () => {
    it.each(vectors.nut12.hash_e)('hash_e', (v) => {
      expect(bytesToHex(hashE(h(v.R1), h(v.R2), h(v.K), h(v.C_)))).toBe(v.expected_hash);
    });
    it.each(vectors.nut12.deterministic_nonce)('deterministic nonce gives the spec e and s', (v) => {
      expect(bytesToHex(curve.mulG(h(v.a)))).toBe(v.A);
      expect(bytesToHex(signBlinded(curve, h(v.a), h(v.B_)))).toBe(v.C_);
      const { e, s } = createDleq(curve, h(v.a), h(v.B_), h(v.C_));
      expect([bytesToHex(e), bytesToHex(s)]).toEqual([v.e, v.s]);
      expect(verifyDleq(curve, h(v.A), h(v.B_), h(v.C_), e, s)).toBe(true);
    });
    it.each(vectors.nut12.blind_signature_dleq)(
      'BlindSignature DLEQ verifies; a changed e or s does not',
      (v) => {
        const { C_, dleq } = v.blind_signature;
        expect(verifyDleq(curve, h(v.A), h(v.B_), h(C_), h(dleq.e), h(dleq.s))).toBe(true);
        const bumped = (x: Hex): Uint8Array =>
          h(x.slice(0, 63) + ((Number.parseInt(x[63]!, 16) + 1) % 16).toString(16));
        expect(verifyDleq(curve, h(v.A), h(v.B_), h(C_), bumped(dleq.e), h(dleq.s))).toBe(false);
        expect(verifyDleq(curve, h(v.A), h(v.B_), h(C_), h(dleq.e), bumped(dleq.s))).toBe(false);
        // The same proof for another blinded message does not verify.
        expect(verifyDleq(curve, h(v.A), curve.mulG(h(dleq.s)), h(C_), h(dleq.e), h(dleq.s))).toBe(false);
      },
    );
    it.each(vectors.nut12.proof_dleq)('Proof DLEQ with r verifies; a changed r or secret does not', (v) => {
      const { secret, C, dleq } = v.proof;
      const proof = { e: h(dleq.e), s: h(dleq.s), r: h(dleq.r) };
      expect(verifyProofDleq(curve, h(v.A), utf8(secret), h(C), proof)).toBe(true);
      expect(verifyProofDleq(curve, h(v.A), utf8(`${secret}0`), h(C), proof)).toBe(false);
      expect(verifyProofDleq(curve, h(v.A), utf8(secret), h(C), { ...proof, r: proof.s })).toBe(false);
    });
  });

  describe('NUT-13 deterministic secrets', () => {
    it.each(vectors.nut13.v1_keyset_id_int)('keyset id $keyset_id → $keyset_id_int', (v) => {
      expect(keysetIdInt(v.keyset_id)).toBe(v.keyset_id_int);
    });
    const cases = (version: 1 | 2) =>
      (version === 1 ? vectors.nut13.v1_secret_derivation : vectors.nut13.v2_secret_derivation).flatMap((d) =>
        d.vectors.map((x) => ({ ...x, mnemonic: d.mnemonic, keysetId: d.keyset_id })),
      );
    it.each([
      ...cases(1).map((c) => ({ ...c, version: 1 as const })),
      ...cases(2).map((c) => ({ ...c, version: 2 as const })),
    ])('v$version counter $counter', (v) => {
      const seed = mnemonicToSeedSync(v.mnemonic);
      const derived = (v.version === 1 ? deriveSecretV1 : deriveSecretV2)(seed, v.keysetId, v.counter);
      expect({ secret: derived.secret, r: bytesToHex(derived.r) }).toEqual({ secret: v.secret, r: v.r });
      const picked = deriveSecret(seed, v.keysetId, v.counter);
      expect({ secret: picked.secret, r: bytesToHex(picked.r) }).toEqual({ secret: v.secret, r: v.r });
      // The derived pair blinds on this backend (r is a valid scalar, the secret hashes to a point).
      expect(curve.isPoint(blindMessage(curve, utf8(derived.secret), derived.r).B_)).toBe(true);
    });
  });
});
