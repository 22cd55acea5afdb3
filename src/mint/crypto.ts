/**
 * The mint's crypto work as one job per request: verify the inputs (NUT-00 `C == k·hash_to_curve(secret)`)
 * and, only when every input verified, sign the outputs (NUT-00 `C_ = k·B_` plus the NUT-12 DLEQ proof).
 * Inputs locked by NUT-11/14 spending conditions carry their Schnorr work (`LockCheck`) in the same job.
 * One job function serves both the in-thread implementation (small callers, tests) and the worker pool
 * (servers, all cores; see `crypto-pool.ts`). Jobs are columns of strings and one list of keys, so a
 * job crosses to a worker thread as a handful of arrays instead of two objects per note.
 * A second kind of job checks the NUT-12 DLEQ proofs notes of ANOTHER mint carry (the gateway's job-2
 * intake checks the wide bank's notes this way), so that work never runs on a server's main thread.
 * A third kind checks and unblinds the signatures a mint gave the gateway for its own outputs (NUT-12
 * DLEQ on the blinded form, then NUT-00 C = C_ − r·K), off the main thread for the same reason.
 */
import { bytesToHex, hex, utf8 } from '../core/bytes.js';
import { checkLock, type LockCheck } from '../core/conditions/verify.js';
import type { Curve } from '../core/crypto/curve.js';
import { hashToCurve, signBlinded, unblind, verifySignature } from '../core/crypto/nut00.js';
import { createDleq, verifyDleq, verifyProofDleqOfY } from '../core/crypto/nut12.js';
import { fail, isLancashError } from '../core/errors.js';

/** One request's crypto: the private keys it needs once, then per-note columns indexing into them. */
export interface CryptoJob {
  /** The keysets' private keys for the notes' amounts, each once. */
  keys: Uint8Array[];
  /**
   * Inputs to verify: secret, `C` (compressed point hex, already schema-checked), index into `keys`;
   * `lock`: per input, the NUT-11/14 Schnorr work its spending condition needs (null: none).
   */
  inputs: { secret: string[]; C: string[]; key: number[]; lock?: (LockCheck | null)[] };
  /** Outputs to sign: `B_` (compressed point hex, already schema-checked), index into `keys`. */
  outputs: { B_: string[]; key: number[] };
}

/**
 * The job's outcome. Work stops at the first refusal: after a forged input nothing is signed (forged
 * inputs buy no signing work), after a `B_` that is not a point nothing more is signed.
 */
export interface CryptoAnswer {
  /** `Y = hash_to_curve(secret)` per input, hex (complete when `forged` is -1). */
  Y: string[];
  /** Index of the first input whose signature does not verify, or -1. */
  forged: number;
  /** Index of the first input whose spending condition is not met, or -1; `lockReason` says why. */
  locked: number;
  lockReason: string;
  /** Index of the first `B_` that is not a point on the curve, or -1. */
  invalid: number;
  /** `C_`, `e`, `s` per output, hex (complete when `forged` and `invalid` are -1). */
  C_: string[];
  e: string[];
  s: string[];
}

/**
 * NUT-12 checks of notes a wallet hands over (Carol's side): per note its mint's public key `K` for
 * the amount, the secret, `C` and the DLEQ proof `(e, s, r)`, all as strings already schema-checked.
 * `Y`, when the caller computed `hash_to_curve(secret)` already (hex, as `noteYs` makes it: the
 * gateway's intake needs the Ys at once for its NUT-07 call), is used instead of hashing again.
 */
export interface DleqJob {
  /** The public keys `K` (compressed points), each once. */
  keys: Uint8Array[];
  notes: {
    secret: string[];
    C: string[];
    e: string[];
    s: string[];
    r: string[];
    key: number[];
    Y?: string[];
  };
}

/** A DLEQ job's outcome; work stops at the first note that fails. */
export interface DleqAnswer {
  /** `Y = hash_to_curve(secret)` per note, hex (complete when `bad` is -1). */
  Y: string[];
  /** Index of the first note whose proof does not verify (or is not made of points and scalars), or -1. */
  bad: number;
  /** Why `bad` failed. */
  reason: string;
}

/**
 * Signatures a mint gave for a wallet's outputs (Alice's side): per output the mint's public key `K`
 * for its amount, `B_`, the blinding factor `r`, the signature `C_` and its DLEQ proof `(e, s)`, all
 * hex strings (the mint's answer is untrusted: a bad one fails the output, not the job).
 */
export interface UnblindJob {
  /** The public keys `K` (compressed points), each once. */
  keys: Uint8Array[];
  outputs: { B_: string[]; r: string[]; C_: string[]; e: string[]; s: string[]; key: number[] };
}

/** An unblind job's outcome; work stops at the first output that fails. */
export interface UnblindAnswer {
  /** The unblinded `C` per output, hex (complete when `bad` is -1). */
  C: string[];
  /** Index of the first output whose proof does not verify (or is not made of points and scalars), or -1. */
  bad: number;
  /** Why `bad` failed. */
  reason: string;
}

/** What the mint engine needs of crypto; implemented in-thread and by the worker pool. */
export interface MintCrypto {
  /** Verifies every input, then signs the outputs only if all verified: forged inputs buy no signing work. */
  run(job: CryptoJob): Promise<CryptoAnswer>;
  /** Checks notes' DLEQ proofs against their mint's keys; answers their `Y`s. */
  verifyDleq(job: DleqJob): Promise<DleqAnswer>;
  /** Checks the DLEQ proofs of a mint's signatures of our outputs and unblinds them; answers the `C`s. */
  unblind(job: UnblindJob): Promise<UnblindAnswer>;
  close(): Promise<void>;
}

/** A `CryptoAnswer` with nothing refused and nothing computed yet. */
export function emptyAnswer(): CryptoAnswer {
  return { Y: [], forged: -1, locked: -1, lockReason: '', invalid: -1, C_: [], e: [], s: [] };
}

/** Runs `job` on `curve`: the one implementation behind every `MintCrypto`. */
export function runJob(curve: Curve, job: CryptoJob): CryptoAnswer {
  const answer = emptyAnswer();
  const { secret, C, lock } = job.inputs;
  for (let i = 0; i < secret.length; i++) {
    // NUT-00: a note's identity is Y = hash_to_curve(secret), its encoding never counts.
    const Y = hashToCurve(curve, utf8(secret[i]!));
    // k·Y is always a valid point, so equal bytes also prove that C is one.
    if (!verifySignature(curve, keyOf(job, job.inputs.key[i]), Y, hex(C[i], `inputs[${i}].C`, 33))) {
      answer.forged = i;
      return answer;
    }
    // NUT-11/14: a locked input's witness is checked here too, before any output is signed.
    const l = lock?.[i];
    const refused = l ? checkLock(curve, l) : undefined;
    if (refused !== undefined) {
      answer.locked = i;
      answer.lockReason = refused;
      return answer;
    }
    answer.Y.push(bytesToHex(Y));
  }
  const { B_ } = job.outputs;
  for (let i = 0; i < B_.length; i++) {
    const k = keyOf(job, job.outputs.key[i]);
    const B = hex(B_[i], `outputs[${i}].B_`, 33);
    let C_: Uint8Array;
    try {
      C_ = signBlinded(curve, k, B);
    } catch (e) {
      // NUT-00: B_ must be a valid point (signing garbage would leak k); the curve refuses it.
      if (!isLancashError(e, 'InvalidPoint')) throw e;
      answer.invalid = i;
      return answer;
    }
    const { e, s } = createDleq(curve, k, B, C_);
    answer.C_.push(bytesToHex(C_));
    answer.e.push(bytesToHex(e));
    answer.s.push(bytesToHex(s));
  }
  return answer;
}

/** Runs a DLEQ job on `curve`: the one implementation behind every `MintCrypto.verifyDleq`. */
export function runDleqJob(curve: Curve, job: DleqJob): DleqAnswer {
  const answer: DleqAnswer = { Y: [], bad: -1, reason: '' };
  const { secret, C, e, s, r, key, Y: known } = job.notes;
  for (let i = 0; i < secret.length; i++) {
    const K = keyOf(job, key[i]);
    let ok: boolean;
    let Y: Uint8Array;
    try {
      Y = known !== undefined ? hex(known[i], 'Y', 33) : hashToCurve(curve, utf8(secret[i]!));
      // NUT-12: C_ = C + r·K and B_ = Y + r·G must carry the mint's proof that C_ = k·B_.
      ok = verifyProofDleqOfY(curve, K, Y, hex(C[i], 'C', 33), {
        e: hex(e[i], 'dleq.e', 32),
        s: hex(s[i], 'dleq.s', 32),
        r: hex(r[i], 'dleq.r', 32),
      });
    } catch (err) {
      // A C that is no point, an r that is no scalar: the note is bad, the job is not broken.
      if (!isLancashError(err)) throw err;
      return { ...answer, bad: i, reason: err.message };
    }
    if (!ok) return { ...answer, bad: i, reason: 'DLEQ proof does not verify' };
    answer.Y.push(known !== undefined ? known[i]! : bytesToHex(Y));
  }
  return answer;
}

/** Runs an unblind job on `curve`: the one implementation behind every `MintCrypto.unblind`. */
export function runUnblindJob(curve: Curve, job: UnblindJob): UnblindAnswer {
  const answer: UnblindAnswer = { C: [], bad: -1, reason: '' };
  const { B_, r, C_, e, s, key } = job.outputs;
  for (let i = 0; i < B_.length; i++) {
    const K = keyOf(job, key[i]);
    try {
      const C_i = hex(C_[i], `signatures[${i}].C_`, 33);
      // NUT-12: the mint proves C_ = k·B_ for the k behind K, so the note is good without asking it.
      const ok = verifyDleq(
        curve,
        K,
        hex(B_[i], `outputs[${i}].B_`, 33),
        C_i,
        hex(e[i], `signatures[${i}].dleq.e`, 32),
        hex(s[i], `signatures[${i}].dleq.s`, 32),
      );
      if (!ok) return { ...answer, bad: i, reason: 'DLEQ proof does not verify' };
      answer.C.push(bytesToHex(unblind(curve, C_i, hex(r[i], `outputs[${i}].r`, 32), K)));
    } catch (err) {
      // A C_ that is no point, an e that is no hex: the output is bad, the job is not broken.
      if (!isLancashError(err)) throw err;
      return { ...answer, bad: i, reason: err.message };
    }
  }
  return answer;
}

function keyOf(job: { keys: Uint8Array[] }, index: number | undefined): Uint8Array {
  const k = job.keys[index ?? -1];
  if (k === undefined) fail('Internal', { reason: `crypto job: no key at index ${index}` });
  return k;
}

/** In-thread crypto on the given curve (no workers). */
export function inThreadCrypto(curve: Curve): MintCrypto {
  return {
    run: async (job) => runJob(curve, job),
    verifyDleq: async (job) => runDleqJob(curve, job),
    unblind: async (job) => runUnblindJob(curve, job),
    close: async () => {},
  };
}
