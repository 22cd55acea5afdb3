/**
 * Swaps at the wallet's mint (NUT-03), the step under every send, receipt and reclaim. A swap is
 * planned whole (inputs, outputs with their secrets and blinding factors) and journaled before it is
 * sent; its outcome is then always decidable from the mint: the inputs' states (NUT-07) and the
 * signatures it gave our outputs (NUT-09). That is what makes a crash at any point recoverable.
 */
import { isLancashError, type LancashError } from '../core/errors.js';
import { isUnclear } from '../core/http/client.js';
import { type Amount, splitAmount, sub, toAmount } from '../core/money.js';
import type { BlindSignature, Proof } from '../core/protocol/cashu.js';
import { messageOf, type WalletContext } from './context.js';
import { type Lock, lockedSecret, withWitnesses } from './locks.js';
import { blindedMessages, deterministicOutputs, noteY, randomOutputs, unblindOutputs } from './outputs.js';
import type { NoteState, PlannedOutput, StoredNote, SwapPlan } from './store.js';

/**
 * How a swap ended: `done` with the new notes (aligned with the plan's outputs); `not-done` (the
 * mint signed nothing; `spent` lists inputs that someone else had spent); `unclear` (inputs pending
 * at the mint, or the mint did not answer): ask again later. An `unclear` swap with `notSent` never
 * reached the mint (no connection could be made): a send may release its inputs at once, while a
 * receipt still keeps the payment to try again.
 */
export type SwapOutcome =
  | { kind: 'done'; proofs: Proof[] }
  | { kind: 'not-done'; spent: string[]; refusal?: LancashError }
  | { kind: 'unclear'; reason: string; notSent?: true };

/**
 * Plans a swap of `inputs` into `send` (random secrets, they leave; P2PK secrets locked by `lock`
 * when given) and the rest, less the input fee, as notes the wallet keeps (NUT-13 secrets from
 * counters reserved durably here, before any output can reach the mint). `send` is an amount, or the
 * exact notes to send (e.g. notes that also pay the gateway intake's input fee, `notesAfterFee`).
 */
export async function planSwap(
  ctx: WalletContext,
  inputs: Proof[],
  send: number | readonly Amount[],
  lock?: Lock,
): Promise<SwapPlan> {
  const sendNotes = typeof send === 'number' ? (send > 0 ? splitAmount(toAmount(send)) : []) : send;
  const keyset = await ctx.mint.activeKeyset();
  const value = toAmount(
    inputs.reduce((n, p) => n + p.amount, 0),
    { argument: 'inputs' },
  );
  const fee = toAmount(await ctx.mint.fee(inputs), { argument: 'fee', allowZero: true });
  const sent = toAmount(
    sendNotes.reduce((n, a) => n + a, 0),
    { argument: 'amount', allowZero: true },
  );
  const keep = sub(sub(value, fee), sent);
  const keepAmounts = splitAmount(keep);
  const first = keepAmounts.length ? await ctx.store.reserveCounters(keyset.id, keepAmounts.length) : 0;
  const outputs: PlannedOutput[] = [
    ...(sendNotes.length > 0
      ? randomOutputs(ctx.curve, sendNotes, lock === undefined ? undefined : () => lockedSecret(lock))
      : []),
    ...deterministicOutputs(ctx.curve, ctx.seed, keyset.id, first, keepAmounts),
  ];
  // NUT-03: outputs in ascending amount order, so their order tells nothing about which are kept.
  outputs.sort((a, b) => a.amount - b.amount);
  return { keyset: keyset.id, inputs, outputs };
}

/**
 * Sends a journaled swap (inputs locked to this wallet's key signed as they leave); on a refusal or a
 * lost answer, asks the mint what happened.
 */
export async function executeSwap(ctx: WalletContext, plan: SwapPlan): Promise<SwapOutcome> {
  let signatures: Awaited<ReturnType<typeof ctx.mint.swap>>;
  try {
    const inputs = withWitnesses(plan.inputs, ctx.lock);
    signatures = await ctx.mint.swap(inputs, blindedMessages(plan.keyset, plan.outputs));
  } catch (e) {
    // No connection to the mint: the swap is not there, and asking after it could not reach it either.
    if (isUnclear(e) && e.notSent) return { kind: 'unclear', reason: messageOf(e), notSent: true };
    const outcome = await recoverSwap(ctx, plan);
    if (outcome.kind === 'not-done' && isLancashError(e)) return { ...outcome, refusal: e };
    return outcome;
  }
  return { kind: 'done', proofs: await unblindPlan(ctx, plan, signatures) };
}

/**
 * The outcome of a swap sent before (maybe): inputs all unspent → not done; any pending → unclear;
 * spent → the signatures of our outputs (NUT-09) say whether it was our swap that spent them.
 */
export async function recoverSwap(ctx: WalletContext, plan: SwapPlan): Promise<SwapOutcome> {
  try {
    const states = await ctx.mint.checkState(plan.inputs.map((p) => noteY(ctx.curve, p.secret)));
    if (states.includes('PENDING')) return { kind: 'unclear', reason: 'inputs are pending at the mint' };
    const spent = plan.inputs.filter((_, i) => states[i] === 'SPENT').map((p) => p.secret);
    if (spent.length === 0) return { kind: 'not-done', spent };
    const signed = await signedOutputs(ctx, plan);
    if (Array.isArray(signed)) return { kind: 'done', proofs: signed };
    // A swap is atomic at the mint: none of our outputs signed means someone else spent the inputs.
    if (signed === 'none') return { kind: 'not-done', spent };
    return { kind: 'unclear', reason: 'the mint signed only some outputs' };
  } catch (e) {
    // A mint that cannot answer now (or answers nonsense) decides nothing: ask again later.
    return { kind: 'unclear', reason: messageOf(e) };
  }
}

/**
 * NUT-09: the notes of a plan's outputs if the mint signed all of them, `none` if it signed none,
 * `some` otherwise (which an atomic mint never does).
 */
export async function signedOutputs(ctx: WalletContext, plan: SwapPlan): Promise<Proof[] | 'none' | 'some'> {
  const answer = await ctx.mint.restore(plan.outputs.map((o) => ({ id: plan.keyset, B_: o.B_ })));
  const byB_ = new Map(answer.outputs.map((o, i) => [o.B_.toLowerCase(), answer.signatures[i]]));
  const signatures = plan.outputs.flatMap((o) => {
    const sig = byB_.get(o.B_.toLowerCase());
    return sig ? [sig] : [];
  });
  if (signatures.length === plan.outputs.length) return unblindPlan(ctx, plan, signatures);
  return signatures.length === 0 ? 'none' : 'some';
}

async function unblindPlan(
  ctx: WalletContext,
  plan: SwapPlan,
  signatures: readonly BlindSignature[],
): Promise<Proof[]> {
  const keyset = await ctx.mint.keyset(plan.keyset);
  return unblindOutputs(ctx.curve, keyset, plan.outputs, signatures);
}

/** Notes to store for proofs, in `state` under `operation`. */
export function toStored(
  ctx: WalletContext,
  proofs: readonly Proof[],
  state: NoteState,
  operation?: string,
): StoredNote[] {
  return proofs.map((proof) => {
    const note: StoredNote = { proof, Y: noteY(ctx.curve, proof.secret), state, createdAt: ctx.now() };
    if (operation !== undefined) note.operation = operation;
    return note;
  });
}

/** The swap's new notes split by role: `keep` ones are the wallet's, `send` ones leave. */
export function byRole(plan: SwapPlan, proofs: readonly Proof[]): { keep: Proof[]; send: Proof[] } {
  const keep: Proof[] = [];
  const send: Proof[] = [];
  plan.outputs.forEach((o, i) => {
    (o.role === 'keep' ? keep : send).push(proofs[i]!);
  });
  return { keep, send };
}
