/**
 * Settling notes that left the wallet, from what the mint says. The one rule: a note that may be in
 * someone else's hands (sent, handed out in a token, given to the gateway) only becomes the wallet's
 * again through a swap at the mint (a "reclaim"), which the mint decides atomically: either the
 * wallet gets fresh notes, or the other side had already spent them. Nothing is released on a guess.
 */
import type { WalletContext } from './context.js';
import type { Operation, OperationState, StoredNote } from './store.js';
import { withState } from './store.js';
import { byRole, executeSwap, planSwap, recoverSwap, type SwapOutcome, toStored } from './swap.js';

/** The operation with a new state (and reason), stamped now. */
export function advanced(
  ctx: WalletContext,
  op: Operation,
  state: OperationState,
  patch: Partial<Operation> = {},
): Operation {
  return { ...op, ...patch, state, updatedAt: ctx.now() };
}

/** The notes an operation holds pending. */
export function heldNotes(ctx: WalletContext, op: Operation): Promise<StoredNote[]> {
  return ctx.store.notes({ operation: op.id, state: 'pending' });
}

/**
 * Takes back the notes `op` holds by swapping them for fresh ones. If the other side spent them
 * first, the operation is `done` when that spend was the point of it (a payment claimed), else
 * `failed` (`takenMeans`). Journals the reclaim swap first, so a crash resumes the same swap.
 */
export async function reclaim(
  ctx: WalletContext,
  op: Operation,
  reason: string,
  takenMeans: 'done' | 'failed' = 'done',
): Promise<Operation> {
  const held = await heldNotes(ctx, op);
  if (held.length === 0) {
    const settled = advanced(ctx, op, 'failed', { reason });
    await ctx.store.commit({ operation: settled });
    return settled;
  }
  let current = op;
  // A reclaim journaled before is resumed as it is: its outputs may already be signed.
  if (!op.data.reclaim) {
    const plan = await planSwap(
      ctx,
      held.map((n) => n.proof),
      0,
    );
    current = advanced(ctx, op, 'reclaiming', { reason, data: { ...op.data, reclaim: plan } });
    await ctx.store.commit({ operation: current });
    ctx.step(`wallet:${op.kind}:after-reclaim-journal`);
  }
  const plan = current.data.reclaim!;
  const outcome = await executeSwap(ctx, plan);
  if (outcome.kind === 'unclear') {
    const waiting = advanced(ctx, current, 'reclaiming', { reason: `taking back: ${outcome.reason}` });
    await ctx.store.commit({ operation: waiting });
    return waiting;
  }
  if (outcome.kind === 'done') {
    const settled = advanced(ctx, current, 'failed', { reason: `${reason}; the notes were taken back` });
    await ctx.store.commit({
      notes: [
        ...withState(held, 'spent', op.id),
        ...toStored(ctx, byRole(plan, outcome.proofs).keep, 'unspent'),
      ],
      operation: settled,
    });
    return settled;
  }
  // Not done: the notes someone else spent are gone; any left unspent were refused for another reason.
  const spent = new Set(outcome.spent);
  const taken = held.filter((n) => spent.has(n.proof.secret));
  const state = taken.length === held.length ? takenMeans : 'failed';
  const why =
    taken.length === held.length
      ? takenMeans === 'done'
        ? undefined
        : `${reason}; the notes were spent elsewhere`
      : `${reason}; taking back refused: ${outcome.refusal?.message ?? 'unknown'}`;
  const settled = advanced(ctx, current, state, why === undefined ? {} : { reason: why });
  await ctx.store.commit({
    notes: [
      ...withState(taken, 'spent', op.id),
      ...withState(
        held.filter((n) => !spent.has(n.proof.secret)),
        'pending',
        op.id,
      ),
    ],
    operation: settled,
  });
  return settled;
}

/**
 * Settles notes that left by their NUT-07 state: spent ones are gone (the operation is done when all
 * are); unspent ones are waited for (`wait`, a token not yet redeemed) or reclaimed (`reclaim`).
 */
export async function settleByState(
  ctx: WalletContext,
  op: Operation,
  whenUnspent: 'wait' | 'reclaim',
): Promise<Operation> {
  const held = await heldNotes(ctx, op);
  let states: Awaited<ReturnType<typeof ctx.mint.checkState>>;
  try {
    states = await ctx.mint.checkState(held.map((n) => n.Y));
  } catch {
    return op; // the mint will answer another time
  }
  const spent = held.filter((_, i) => states[i] === 'SPENT');
  const next = spent.length === held.length ? advanced(ctx, op, 'done') : op;
  if (spent.length > 0) await ctx.store.commit({ notes: withState(spent, 'spent', op.id), operation: next });
  const waiting = states.includes('PENDING');
  if (next.state === 'done' || waiting || whenUnspent === 'wait') return next;
  return reclaim(ctx, next, 'released by the other side', 'done');
}

/**
 * Rolls back an operation interrupted before anything left: its journaled swap either happened
 * (then every new note is the wallet's, none had left) or not (then the inputs are released, but
 * any the mint says someone else spent are gone). `outcome` when the caller already asked the mint.
 */
export async function rollBack(
  ctx: WalletContext,
  op: Operation,
  reason: string,
  known?: SwapOutcome,
): Promise<Operation> {
  const outcome = known ?? (await recoverSwap(ctx, op.data.swap!));
  if (outcome.kind === 'unclear') return op;
  const inputs = await ctx.store.notes({ operation: op.id });
  const settled = advanced(ctx, op, 'failed', { reason });
  const spent = new Set(outcome.kind === 'done' ? inputs.map((n) => n.proof.secret) : outcome.spent);
  await ctx.store.commit({
    notes: [
      ...withState(
        inputs.filter((n) => spent.has(n.proof.secret)),
        'spent',
        op.id,
      ),
      ...withState(
        inputs.filter((n) => !spent.has(n.proof.secret)),
        'unspent',
      ),
      ...(outcome.kind === 'done' ? toStored(ctx, outcome.proofs, 'unspent') : []),
    ],
    operation: settled,
  });
  return settled;
}
