/**
 * The mint's crypto work in batches: verify inputs (NUT-00 `C == k·hash_to_curve(secret)`) and sign
 * outputs (NUT-00 `C_ = k·B_` plus the NUT-12 DLEQ proof). One pair of batch functions serves both
 * the in-thread implementation (browser, small callers, tests) and the worker pool (servers, all
 * cores); see `crypto-pool.ts`.
 */
import { bytesToHex, utf8 } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { hashToCurve, signBlinded, verifySignature } from '../core/crypto/nut00.js';
import { createDleq } from '../core/crypto/nut12.js';
import { isLancashError } from '../core/errors.js';

export interface VerifyItem {
  secret: string;
  C: Uint8Array;
  /** The keyset's private key for the note's amount. */
  k: Uint8Array;
}

/** `Y` is hex; `ok` is false for a bad signature or a malformed point (the caller names the index). */
export interface VerifyResult {
  Y: string;
  ok: boolean;
}

export interface SignItem {
  B_: Uint8Array;
  k: Uint8Array;
}

/** `C_`, `e`, `s` as hex; `error` is set when `B_` is not a valid point. */
export type SignResult = { C_: string; e: string; s: string } | { error: string };

/** What the mint engine needs of crypto; implemented in-thread and by the worker pool. */
export interface MintCrypto {
  verifyInputs(items: readonly VerifyItem[]): Promise<VerifyResult[]>;
  signOutputs(items: readonly SignItem[]): Promise<SignResult[]>;
  close(): Promise<void>;
}

export function verifyBatch(curve: Curve, items: readonly VerifyItem[]): VerifyResult[] {
  return items.map(({ secret, C, k }) => {
    // NUT-00: a note's identity is Y = hash_to_curve(secret), its encoding never counts.
    const Y = hashToCurve(curve, utf8(secret));
    let ok: boolean;
    try {
      ok = curve.isPoint(C) && verifySignature(curve, k, Y, C);
    } catch (e) {
      if (!isLancashError(e)) throw e;
      ok = false;
    }
    return { Y: bytesToHex(Y), ok };
  });
}

export function signBatch(curve: Curve, items: readonly SignItem[]): SignResult[] {
  return items.map(({ B_, k }) => {
    // NUT-00: B_ must be a valid point; signing the identity or garbage would leak k.
    if (!curve.isPoint(B_)) return { error: 'B_ is not a valid secp256k1 point' };
    const C_ = signBlinded(curve, k, B_);
    const { e, s } = createDleq(curve, k, B_, C_);
    return { C_: bytesToHex(C_), e: bytesToHex(e), s: bytesToHex(s) };
  });
}

/** In-thread crypto on the given curve (no workers). */
export function inThreadCrypto(curve: Curve): MintCrypto {
  return {
    verifyInputs: async (items) => verifyBatch(curve, items),
    signOutputs: async (items) => signBatch(curve, items),
    close: async () => {},
  };
}
