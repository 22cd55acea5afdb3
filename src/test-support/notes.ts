/**
 * Test wallet helpers: make blinded outputs, unblind signatures into proofs, and mint fresh notes into
 * a mint the way an issuer does (prepare + commit in one transaction), so mint tests start from real
 * notes (with random secrets, or given ones); ask a running mint for notes' NUT-07 states.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hex, utf8 } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { defaultCurve } from '../core/crypto/index.js';
import { blindMessage, hashToCurve, unblind } from '../core/crypto/nut00.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { call } from '../core/http/client.js';
import type { BlindedMessage, BlindSignature, Proof } from '../core/protocol/cashu.js';
import type { Mint } from '../mint/mint.js';

export interface PendingOutput {
  message: BlindedMessage;
  secret: string;
  r: Uint8Array;
}

/** Blinded outputs for the given note amounts on a keyset. */
export function makeOutputs(curve: Curve, keysetId: string, amounts: readonly number[]): PendingOutput[] {
  return amounts.map((amount) => {
    const secret = bytesToHex(randomBytes(32));
    const r = randomScalar();
    const { B_ } = blindMessage(curve, utf8(secret), r);
    return { message: { amount, id: keysetId, B_: bytesToHex(B_) }, secret, r };
  });
}

/** Unblinds the mint's signatures into proofs (NUT-00 C = C_ − rK). */
export function toProofs(
  curve: Curve,
  mint: Mint,
  outputs: readonly PendingOutput[],
  sigs: readonly BlindSignature[],
): Proof[] {
  return outputs.map((o, i) => {
    const sig = sigs[i]!;
    const K = mint.keysets.get(sig.id).publicKeys.get(sig.amount)!;
    const C = unblind(curve, hex(sig.C_, 'C_', 33), o.r, K);
    return { amount: sig.amount, id: sig.id, secret: o.secret, C: bytesToHex(C) };
  });
}

/** Issues fresh notes of the given amounts, as an issuer that has accounted for the value would. */
export async function issue(curve: Curve, mint: Mint, amounts: readonly number[]): Promise<Proof[]> {
  const outputs = makeOutputs(curve, mint.keysets.current().id, amounts);
  const prepared = await mint.prepareOutputs(outputs.map((o) => o.message));
  const sigs = await mint.store.transaction((trx) =>
    mint.commitOutputs(trx, prepared, `test-issue:${randomUUID()}`),
  );
  return toProofs(curve, mint, outputs, sigs);
}

/**
 * Issues notes of `amount` whose secrets are the given ones (NUT-10 locked secrets, say), blind-signed
 * as any issued note is: the mint cannot see what it signs.
 */
export async function issueSecrets(
  curve: Curve,
  mint: Mint,
  secrets: readonly string[],
  amount = 4,
): Promise<Proof[]> {
  const id = mint.keysets.current().id;
  const outputs = secrets.map((secret) => {
    const r = randomScalar();
    return { secret, r, message: { amount, id, B_: bytesToHex(blindMessage(curve, utf8(secret), r).B_) } };
  });
  const prepared = await mint.prepareOutputs(outputs.map((o) => o.message));
  const sigs = await mint.store.transaction((trx) =>
    mint.commitOutputs(trx, prepared, `test-issue:${randomUUID()}`),
  );
  return toProofs(curve, mint, outputs, sigs);
}

function randomUUID(): string {
  return bytesToHex(randomBytes(16));
}

/** NUT-07 states of notes at the mint at `mint` (its base URL), in order. */
export async function stateOf(mint: string, proofs: readonly Proof[]): Promise<string[]> {
  const curve = defaultCurve();
  const Ys = proofs.map((p) => bytesToHex(hashToCurve(curve, utf8(p.secret))));
  const r = (await call({ base: mint, method: 'POST', path: '/v1/checkstate', body: { Ys } })) as {
    states: { state: string }[];
  };
  return r.states.map((s) => s.state);
}
