/**
 * The gateway acting as a wallet (docs/design.md §5): it makes the blinded outputs of the notes it asks for
 * (wide notes from the issue server in job 1, local notes from its own mint in job 2), journals their
 * secrets and blinding factors `r` before any request leaves, and unblinds the signatures that come
 * back, checking each one's NUT-12 DLEQ proof so that only notes the mint truly signed are passed on.
 * Outputs for a destination whose address carries a lock key get NUT-11 P2PK secrets locked to it, so
 * the notes are the destination's alone from the moment they exist (docs/gateway.md, "Locked deliveries").
 * It also checks the DLEQ proofs that travel with the wide notes a WAN terminal hands in, as one job of
 * the crypto workers, so a large request never holds the main thread.
 */
import { decodeAddress } from '../core/address/index.js';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { p2pkSecret } from '../core/conditions/index.js';
import type { Curve } from '../core/crypto/curve.js';
import { blindMessage, hashToCurve } from '../core/crypto/nut00.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { fail } from '../core/errors.js';
import { type Amount, splitAmount } from '../core/money.js';
import type { BlindedMessage, BlindSignature, Proof } from '../core/protocol/cashu.js';
import { randomBytes } from '../core/random.js';
import {
  type DleqJob,
  type MintCrypto,
  runUnblindJob,
  type UnblindAnswer,
  type UnblindJob,
} from '../mint/crypto.js';

/** One output the gateway asked to be signed, with what it needs to unblind the answer. */
export interface JournalOutput {
  amount: number;
  /** Keyset id. */
  id: string;
  /** Hex of the blinded message. */
  B_: string;
  secret: string;
  /** Hex of the blinding factor. */
  r: string;
}

/** The public keys of one keyset, as a wallet sees them. */
export interface KeysetKeys {
  id: string;
  unit: string;
  keys: ReadonlyMap<number, Uint8Array>;
}

/**
 * Outputs worth `amount` on `keysetId`, split into powers of two (NUT-00), fresh secrets and `r`.
 * With `lockKey` (a destination's 33-byte secp256k1 key) every secret is a NUT-11 P2PK secret locked
 * to it (SIG_INPUTS, a random nonce): only that key's signature spends the notes.
 */
export function makeOutputs(
  curve: Curve,
  keysetId: string,
  amount: Amount,
  lockKey?: Uint8Array,
): JournalOutput[] {
  return splitAmount(amount).map((a) => {
    // NUT-00: a random secret; 32 bytes of hex, as Cashu wallets make them.
    const secret =
      lockKey === undefined
        ? bytesToHex(randomBytes(32))
        : p2pkSecret({ pubkey: bytesToHex(lockKey), sigflag: 'SIG_INPUTS' });
    const r = randomScalar();
    const { B_ } = blindMessage(curve, utf8(secret), r);
    return { amount: a, id: keysetId, B_: bytesToHex(B_), secret, r: bytesToHex(r) };
  });
}

/** The lock key of a destination address: version 1 carries one; version 0 none (deliveries unlocked). */
export function lockKeyOf(address: string): Uint8Array | undefined {
  return decodeAddress(address).lockKey;
}

/** The blinded messages of journaled outputs, as a mint reads them. */
export function blindedMessages(outputs: readonly JournalOutput[]): BlindedMessage[] {
  return outputs.map((o) => ({ amount: o.amount, id: o.id, B_: o.B_ }));
}

/**
 * Unblinds the mint's signatures of `outputs` (NUT-00 C = C_ − r·K) after checking that each one
 * answers its output (amount, keyset) and that its DLEQ proof verifies (NUT-12); the notes keep the
 * proof with `r`, so their next holder can check them too. Throws `DleqInvalid` naming the index.
 * In-thread on `curve`; a server uses `unblindInPool`, which does the same off the main thread.
 */
export function unblindChecked(
  curve: Curve,
  outputs: readonly JournalOutput[],
  signatures: readonly BlindSignature[],
  keyset: (id: string) => KeysetKeys,
): Proof[] {
  const job = unblindJob(outputs, signatures, keyset);
  return unblindedProofs(outputs, signatures, runUnblindJob(curve, job));
}

/**
 * `unblindChecked` with the curve work as ONE job of `crypto` (the worker pool on a server): what is
 * cheap (counts, amounts, keysets, a proof at all) is checked here first.
 */
export async function unblindInPool(
  crypto: MintCrypto,
  outputs: readonly JournalOutput[],
  signatures: readonly BlindSignature[],
  keyset: (id: string) => KeysetKeys,
): Promise<Proof[]> {
  const job = unblindJob(outputs, signatures, keyset);
  return unblindedProofs(outputs, signatures, await crypto.unblind(job));
}

/** The cheap checks of a mint's answer, then its curve work as one job (each key once). */
function unblindJob(
  outputs: readonly JournalOutput[],
  signatures: readonly BlindSignature[],
  keyset: (id: string) => KeysetKeys,
): UnblindJob {
  if (signatures.length !== outputs.length) {
    fail(
      'DleqInvalid',
      { reason: `${signatures.length} signatures for ${outputs.length} outputs` },
      `${signatures.length} signatures for ${outputs.length} outputs`,
    );
  }
  const job: UnblindJob = { keys: [], outputs: { B_: [], r: [], C_: [], e: [], s: [], key: [] } };
  const indexOf = new Map<Uint8Array, number>();
  for (const [i, o] of outputs.entries()) {
    const s = signatures[i]!;
    if (s.amount !== o.amount || s.id.toLowerCase() !== o.id.toLowerCase()) {
      bad(i, `signature is for ${s.amount} on ${s.id}, the output asked ${o.amount} on ${o.id}`);
    }
    const K = keyset(o.id).keys.get(o.amount);
    if (K === undefined) bad(i, `keyset ${o.id} has no key for ${o.amount}`);
    if (s.dleq === undefined) bad(i, 'signature carries no DLEQ proof');
    let k = indexOf.get(K);
    if (k === undefined) {
      k = job.keys.push(K) - 1;
      indexOf.set(K, k);
    }
    const x = job.outputs;
    x.B_.push(o.B_);
    x.r.push(o.r);
    x.C_.push(s.C_);
    x.e.push(s.dleq.e);
    x.s.push(s.dleq.s);
    x.key.push(k);
  }
  return job;
}

/** The notes of checked outputs; throws `DleqInvalid` for the first output that failed. */
function unblindedProofs(
  outputs: readonly JournalOutput[],
  signatures: readonly BlindSignature[],
  answer: UnblindAnswer,
): Proof[] {
  if (answer.bad >= 0) bad(answer.bad, answer.reason);
  return outputs.map((o, i) => {
    const s = signatures[i]!;
    return {
      amount: o.amount,
      id: s.id,
      secret: o.secret,
      C: answer.C[i]!,
      // Checked in `unblindJob`: every signature carries its proof.
      dleq: { e: s.dleq!.e, s: s.dleq!.s, r: o.r },
    };
  });
}

/**
 * Each note's `Y = hash_to_curve(secret)` (NUT-00), hex, in this thread: what a NUT-07 `checkstate`
 * asks about. `checkProofsDleq` takes them back so the pool does not hash the secrets again.
 */
export function noteYs(curve: Curve, proofs: readonly Proof[]): string[] {
  return proofs.map((p) => bytesToHex(hashToCurve(curve, utf8(p.secret))));
}

/**
 * Checks the DLEQ proof carried by each note (NUT-12, Carol's side) against its keyset's key, so a
 * note whose signature the mint never made is refused before anything is journaled. What is cheap is
 * checked here first (a key for the amount, a proof at all); the curve work runs as ONE job of
 * `crypto` (the worker pool on a server). Answers each note's `Y = hash_to_curve(secret)`, hex:
 * `Ys` when the caller computed them already (`noteYs`), else the pool's.
 */
export async function checkProofsDleq(
  crypto: MintCrypto,
  proofs: readonly Proof[],
  keyset: (id: string) => KeysetKeys,
  Ys?: readonly string[],
): Promise<string[]> {
  const job: DleqJob = {
    keys: [],
    notes: { secret: [], C: [], e: [], s: [], r: [], key: [], ...(Ys !== undefined ? { Y: [...Ys] } : {}) },
  };
  const indexOf = new Map<Uint8Array, number>();
  for (const [i, p] of proofs.entries()) {
    const K = keyset(p.id).keys.get(p.amount);
    if (K === undefined) {
      fail(
        'InvalidDenomination',
        { amount: p.amount, keyset: p.id },
        `proofs[${i}]: no key for ${p.amount} on ${p.id}`,
      );
    }
    if (p.dleq === undefined) bad(i, 'note carries no DLEQ proof (NUT-12)');
    let k = indexOf.get(K);
    if (k === undefined) {
      k = job.keys.push(K) - 1;
      indexOf.set(K, k);
    }
    const n = job.notes;
    n.secret.push(p.secret);
    n.C.push(p.C);
    n.e.push(p.dleq.e);
    n.s.push(p.dleq.s);
    n.r.push(p.dleq.r);
    n.key.push(k);
  }
  const answer = await crypto.verifyDleq(job);
  if (answer.bad >= 0) bad(answer.bad, answer.reason);
  return answer.Y;
}

function bad(index: number, reason: string): never {
  return fail('DleqInvalid', { index, reason }, `note ${index}: ${reason}`);
}
