/**
 * The wallet's blinded outputs (NUT-00) and their unblinding. Notes the wallet keeps take NUT-13
 * deterministic secrets from reserved counters, so a restore from the seed finds them; notes that
 * leave (payments, tokens) take random secrets, journaled before the swap, so a restore never
 * brings back money already given away.
 */
import { bytesToHex, hex, utf8 } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { blindMessage, hashToCurve, unblind } from '../core/crypto/nut00.js';
import { verifyDleq } from '../core/crypto/nut12.js';
import { deriveSecret } from '../core/crypto/nut13.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { fail } from '../core/errors.js';
import type { BlindedMessage, BlindSignature, Proof } from '../core/protocol/cashu.js';
import type { PlannedOutput } from './store.js';

/** NUT-13 outputs for `amounts` from counters `first`, `first + 1`, … (already reserved). */
export function deterministicOutputs(
  curve: Curve,
  seed: Uint8Array,
  keysetId: string,
  first: number,
  amounts: readonly number[],
): PlannedOutput[] {
  return amounts.map((amount, i) => {
    const { secret, r } = deriveSecret(seed, keysetId, first + i);
    return planned(curve, amount, secret, r, 'keep', first + i);
  });
}

/**
 * Outputs with fresh random secrets, for notes that leave the wallet; `secretOf` makes each secret
 * instead (a NUT-11 P2PK secret with its own random nonce, for a locked payment).
 */
export function randomOutputs(
  curve: Curve,
  amounts: readonly number[],
  secretOf: () => string = () => bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
): PlannedOutput[] {
  return amounts.map((amount) => {
    const secret = secretOf();
    return planned(curve, amount, secret, randomScalar(), 'send');
  });
}

function planned(
  curve: Curve,
  amount: number,
  secret: string,
  r: Uint8Array,
  role: PlannedOutput['role'],
  counter?: number,
): PlannedOutput {
  // NUT-00: B_ = Y + r·G with Y = hash_to_curve(secret).
  const { B_ } = blindMessage(curve, utf8(secret), r);
  const out: PlannedOutput = { amount, secret, r: bytesToHex(r), B_: bytesToHex(B_), role };
  if (counter !== undefined) out.counter = counter;
  return out;
}

/** What the mint is asked to sign, in the plan's order. */
export function blindedMessages(keysetId: string, outputs: readonly PlannedOutput[]): BlindedMessage[] {
  return outputs.map((o) => ({ amount: o.amount, id: keysetId, B_: o.B_ }));
}

/** NUT-07 identity of a note, hex. */
export function noteY(curve: Curve, secret: string): string {
  return bytesToHex(hashToCurve(curve, utf8(secret)));
}

/**
 * Unblinds the mint's signatures into notes (C = C_ − r·K), after checking each one answers its
 * output and, when the mint sent one, its DLEQ proof (NUT-12); the notes carry `r` in their DLEQ so
 * others can check them offline.
 */
export function unblindOutputs(
  curve: Curve,
  keyset: { id: string; keys: ReadonlyMap<number, Uint8Array> },
  outputs: readonly PlannedOutput[],
  signatures: readonly BlindSignature[],
): Proof[] {
  if (signatures.length !== outputs.length) {
    fail(
      'ProofVerificationFailed',
      { reason: 'signature count' },
      `mint answered ${signatures.length} signatures for ${outputs.length} outputs`,
    );
  }
  const keysetId = keyset.id;
  return outputs.map((o, index) => {
    const sig = signatures[index]!;
    if (sig.amount !== o.amount || sig.id !== keysetId) {
      fail(
        'ProofVerificationFailed',
        { index, reason: 'amount or keyset differs from the output' },
        `signature ${index}: amount ${sig.amount} of keyset ${sig.id}, expected ${o.amount} of ${keysetId}`,
      );
    }
    const K = keyset.keys.get(o.amount);
    if (!K)
      return fail(
        'InvalidDenomination',
        { amount: o.amount, keyset: keysetId },
        `keyset ${keysetId} has no key for ${o.amount}`,
      );
    const r = hex(o.r, 'r', 32);
    const C_ = hex(sig.C_, 'C_', 33);
    const proof: Proof = {
      amount: o.amount,
      id: keysetId,
      secret: o.secret,
      C: bytesToHex(unblind(curve, C_, r, K)),
    };
    if (sig.dleq) {
      const e = hex(sig.dleq.e, 'dleq.e', 32);
      const s = hex(sig.dleq.s, 'dleq.s', 32);
      // NUT-12: the mint proves C_ was made with the key behind K.
      if (!verifyDleq(curve, K, hex(o.B_, 'B_', 33), C_, e, s)) {
        fail(
          'DleqInvalid',
          { index, reason: 'mint signature' },
          `signature ${index}: DLEQ proof does not verify`,
        );
      }
      proof.dleq = { e: sig.dleq.e, s: sig.dleq.s, r: o.r };
    }
    return proof;
  });
}
