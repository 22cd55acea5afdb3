/**
 * Notes of a rotated keyset renewed (docs/mint.md, "Key rotation"): a mint that rotates keeps the old
 * keyset redeemable for a grace period, then refuses its notes (Cashu 12003). A wallet holding such
 * notes swaps them for notes of the active keyset the next time it settles (`Wallet.recover`, which
 * runs by itself when the wallet opens), so a wallet opened now and then within the grace period
 * loses nothing. The swap is an operation of kind `refresh`, journaled before it is sent like every
 * swap; one interrupted is settled by the next recovery (`rollBack`: the mint decides).
 */
import { sum } from '../core/money.js';
import { messageOf, newId, type WalletContext } from './context.js';
import { advanced, rollBack } from './settle.js';
import type { Operation } from './store.js';
import { withState } from './store.js';
import { byRole, executeSwap, planSwap, toStored } from './swap.js';

/**
 * Swaps every unspent note of an inactive keyset of the wallet's mint into the active keyset; the
 * operation, or undefined when there was nothing to renew (or the mint did not answer: next time).
 */
export async function refreshNotes(ctx: WalletContext): Promise<Operation | undefined> {
  let inactive: Set<string>;
  try {
    inactive = await ctx.mint.inactiveKeysetIds();
  } catch {
    return undefined; // the mint will answer another time
  }
  if (inactive.size === 0) return undefined;
  const old = (await ctx.store.notes({ state: 'unspent' })).filter((n) => inactive.has(n.proof.id));
  if (old.length === 0) return undefined;
  const proofs = old.map((n) => n.proof);
  const value = sum(proofs.map((p) => p.amount));
  const fee = await ctx.mint.fee(proofs);
  // Notes worth no more than their input fee cannot be renewed; they stay as they are.
  if (value <= fee) return undefined;
  const plan = await planSwap(ctx, proofs, 0);
  const now = ctx.now();
  const op: Operation = {
    id: newId(),
    kind: 'refresh',
    state: 'prepared',
    direction: 'in',
    amount: value - fee,
    createdAt: now,
    updatedAt: now,
    counterparty: ctx.config.mint,
    reason: `renewing ${old.length} note(s) of a keyset the mint rotated out`,
    data: { swap: plan },
  };
  await ctx.store.commit({
    reserve: { operation: op.id, secrets: proofs.map((p) => p.secret) },
    operation: op,
  });
  ctx.step('wallet:refresh:after-journal');
  const outcome = await executeSwap(ctx, plan);
  if (outcome.kind === 'unclear') return op; // the next recovery asks the mint
  if (outcome.kind === 'not-done') {
    const why = outcome.refusal === undefined ? 'not renewed' : `not renewed: ${messageOf(outcome.refusal)}`;
    return rollBack(ctx, op, why, outcome);
  }
  const done = advanced(ctx, op, 'done', {
    reason: `renewed ${old.length} note(s) into keyset ${plan.keyset}`,
  });
  await ctx.store.commit({
    notes: [
      ...withState(old, 'spent', op.id),
      ...toStored(ctx, byRole(plan, outcome.proofs).keep, 'unspent'),
    ],
    operation: done,
  });
  return done;
}
