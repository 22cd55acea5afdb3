/**
 * New wide notes bought over Lightning (NUT-04 with the `bolt11` method of NUT-23): a quote gives
 * an invoice, and once it is paid the mint signs the wallet's outputs. The outputs (NUT-13, from
 * reserved counters) are journaled with the quote before the mint is asked, so an answer lost in a
 * crash is found again with NUT-09 restore. The wide bank's fake backend counts an invoice as paid
 * at once. Each quote is locked (NUT-20) to a key derived from the seed with its own counter, so
 * whoever learns the quote id cannot mint it; the journal keeps only the counter.
 */
import { mintQuoteKey, mintQuotePubkey, signMintQuote } from '../core/crypto/nut20.js';
import { isLancashError } from '../core/errors.js';
import { splitAmount, toAmount } from '../core/money.js';
import { messageOf, newId, type WalletContext } from './context.js';
import { blindedMessages, deterministicOutputs, unblindOutputs } from './outputs.js';
import { advanced } from './settle.js';
import type { Operation } from './store.js';
import { signedOutputs, toStored } from './swap.js';

/** The counter (beside the keysets' NUT-13 counters) of the NUT-20 quote keys. */
const NUT20_COUNTER = 'nut20';

export interface MintOptions {
  /** How long to wait for the invoice to be paid; default 60 s. */
  waitMs?: number;
  /** Called with the BOLT11 invoice to pay. */
  onInvoice?: (invoice: string) => void;
}

/** Asks for an invoice worth `amount` and, once it is paid, notes worth `amount`. */
export async function mintFromLightning(
  ctx: WalletContext,
  amount: number,
  o: MintOptions = {},
): Promise<Operation> {
  const value = toAmount(amount);
  const quoteKey = await ctx.store.reserveCounters(NUT20_COUNTER, 1);
  const quote = await ctx.mint.mintQuote(value, mintQuotePubkey(mintQuoteKey(ctx.seed, quoteKey)));
  const keyset = await ctx.mint.activeKeyset();
  const amounts = splitAmount(value);
  const first = await ctx.store.reserveCounters(keyset.id, amounts.length);
  const at = ctx.now();
  const op: Operation = {
    id: newId(),
    kind: 'mint',
    state: 'prepared',
    direction: 'in',
    amount: value,
    createdAt: at,
    updatedAt: at,
    counterparty: ctx.config.mint,
    data: {
      quote: quote.quote,
      quoteKey,
      swap: {
        keyset: keyset.id,
        inputs: [],
        outputs: deterministicOutputs(ctx.curve, ctx.seed, keyset.id, first, amounts),
      },
    },
  };
  await ctx.store.commit({ operation: op });
  ctx.step('wallet:mint:after-journal');
  if (quote.state === 'UNPAID') o.onInvoice?.(quote.request);
  return settleMint(ctx, op, o.waitMs ?? 60_000);
}

/**
 * Follows a journaled mint until its notes are in the wallet, the quote expires unpaid, or `waitMs`
 * passes (then it stays open). ISSUED means the mint signed already: the notes come back by restore.
 */
export async function settleMint(ctx: WalletContext, op: Operation, waitMs: number): Promise<Operation> {
  const plan = op.data.swap!;
  const quoteId = op.data.quote!;
  const deadline = ctx.now() + waitMs;
  let delay = 50;
  let reason = 'waiting for the invoice to be paid';
  for (;;) {
    try {
      const quote = await ctx.mint.getMintQuote(quoteId);
      if (quote.state === 'PAID') {
        try {
          const outputs = blindedMessages(plan.keyset, plan.outputs);
          const key = op.data.quoteKey;
          const signature =
            key === undefined ? undefined : signMintQuote(mintQuoteKey(ctx.seed, key), quoteId, outputs);
          const signatures = await ctx.mint.mint(quoteId, outputs, signature);
          const keyset = await ctx.mint.keyset(plan.keyset);
          return finish(ctx, op, unblindOutputs(ctx.curve, keyset, plan.outputs, signatures));
        } catch (e) {
          // A lost answer or a refusal: the quote's state says next round which one.
          reason = messageOf(e);
        }
      } else if (quote.state === 'ISSUED') {
        const signed = await signedOutputs(ctx, plan);
        if (Array.isArray(signed)) return finish(ctx, op, signed);
        if (signed === 'none') return end(ctx, op, 'the quote was issued to other outputs');
        reason = 'the mint signed only some outputs';
      } else if (quote.expiry !== null && quote.expiry * 1000 < ctx.now()) {
        return end(ctx, op, 'the invoice expired unpaid');
      }
    } catch (e) {
      if (isLancashError(e, 'NotFound')) return end(ctx, op, 'the mint does not know the quote');
      reason = messageOf(e);
    }
    if (ctx.now() >= deadline) {
      const waiting = advanced(ctx, op, 'prepared', { reason });
      await ctx.store.commit({ operation: waiting });
      return waiting;
    }
    await ctx.sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
}

async function finish(ctx: WalletContext, op: Operation, proofs: Parameters<typeof toStored>[1]) {
  const { reason: _reason, ...done } = advanced(ctx, op, 'done');
  await ctx.store.commit({ notes: toStored(ctx, proofs, 'unspent'), operation: done });
  return done;
}

async function end(ctx: WalletContext, op: Operation, reason: string): Promise<Operation> {
  const failed = advanced(ctx, op, 'failed', { reason });
  await ctx.store.commit({ operation: failed });
  return failed;
}
