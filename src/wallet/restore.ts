/**
 * Restore from the seed after the database is lost (NUT-09 with NUT-13): for every keyset of the
 * wallet's unit, derive the outputs of counters 0, 1, 2, … in batches, ask the mint which it signed
 * and unblind those; stop after `gap` empty batches in a row. The counters move past the last note
 * found, and NUT-07 says which notes are still unspent. Notes the mint holds pending (in a
 * gateway job) are watched until they settle either way.
 */
import { toAmount } from '../core/money.js';
import type { Proof } from '../core/protocol/cashu.js';
import { newId, type WalletContext } from './context.js';
import { BATCH, type Keyset } from './mint-client.js';
import { deterministicOutputs, unblindOutputs } from './outputs.js';
import type { Operation, StoredNote } from './store.js';
import { toStored } from './swap.js';

export interface RestoreOptions {
  /** Empty batches in a row that end the search in a keyset; default 3. */
  gap?: number;
  /** Called after each batch with the counter reached and the notes found so far. */
  onProgress?: (p: { keyset: string; counter: number; found: number }) => void;
}

export interface RestoreSummary {
  /** Notes the mint had signed for this seed (spent or not). */
  found: number;
  /** Notes added as unspent, and their value. */
  unspent: number;
  amount: number;
  /** Value found pending at the mint, now watched. */
  pending: number;
}

export async function restoreFromSeed(ctx: WalletContext, o: RestoreOptions = {}): Promise<RestoreSummary> {
  const gap = o.gap ?? 3;
  const found: Proof[] = [];
  const counters: Record<string, number> = {};
  for (const keyset of await ctx.mint.allKeysets()) {
    const next = await scanKeyset(ctx, keyset, gap, found, o.onProgress);
    if (next > 0) counters[keyset.id] = next;
  }
  const known = new Set((await ctx.store.notes()).map((n) => n.proof.secret));
  const fresh = found.filter((p) => !known.has(p.secret));
  const stored = toStored(ctx, fresh, 'unspent');
  const states = await ctx.mint.checkState(stored.map((n) => n.Y));
  const unspent = stored.filter((_, i) => states[i] === 'UNSPENT');
  const pending = stored.filter((_, i) => states[i] === 'PENDING');
  const value = (notes: StoredNote[]) =>
    toAmount(
      notes.reduce((n, x) => n + x.proof.amount, 0),
      { allowZero: true },
    );
  let watch: Operation | undefined;
  if (pending.length > 0) {
    const at = ctx.now();
    watch = {
      id: newId(),
      kind: 'watch',
      state: 'watching',
      direction: 'in',
      amount: value(pending),
      createdAt: at,
      updatedAt: at,
      reason: 'found pending at the mint by a restore',
      data: {},
    };
  }
  await ctx.store.commit({
    notes: [...unspent, ...pending.map((n) => ({ ...n, state: 'pending' as const, operation: watch!.id }))],
    counters,
    ...(watch ? { operation: watch } : {}),
  });
  return { found: found.length, unspent: unspent.length, amount: value(unspent), pending: value(pending) };
}

/** Collects the keyset's signed outputs into `found`; returns the counter after the last one. */
async function scanKeyset(
  ctx: WalletContext,
  keyset: Keyset,
  gap: number,
  found: Proof[],
  onProgress: RestoreOptions['onProgress'],
): Promise<number> {
  let next = 0;
  let empty = 0;
  for (let start = 0; empty < gap; start += BATCH) {
    // The amounts are unknown until the mint answers (it sends them with the signatures).
    const outputs = deterministicOutputs(ctx.curve, ctx.seed, keyset.id, start, new Array(BATCH).fill(0));
    const answer = await ctx.mint.restore(outputs.map((o) => ({ id: keyset.id, B_: o.B_ })));
    const byB_ = new Map(answer.outputs.map((o, i) => [o.B_.toLowerCase(), answer.signatures[i]!]));
    const signed = outputs.flatMap((o) => {
      const sig = byB_.get(o.B_.toLowerCase());
      return sig ? [{ output: { ...o, amount: sig.amount }, sig }] : [];
    });
    empty = signed.length === 0 ? empty + 1 : 0;
    if (signed.length > 0) {
      found.push(
        ...unblindOutputs(
          ctx.curve,
          keyset,
          signed.map((s) => s.output),
          signed.map((s) => s.sig),
        ),
      );
      next = signed[signed.length - 1]!.output.counter! + 1;
    }
    onProgress?.({ keyset: keyset.id, counter: start + BATCH, found: found.length });
  }
  return next;
}
