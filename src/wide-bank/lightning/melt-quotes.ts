/**
 * Melt quotes for the `bolt11` method (NUT-05, NUT-23, change per NUT-08): the inputs held pending,
 * the invoice paid outside any transaction, then settled (PAID, change signed) or released (UNPAID)
 * in ONE transaction with the caller's hook. An unclear outcome leaves the quote PENDING; it is
 * checked again with the backend (the same idempotency key) until known, also after a crash.
 */
import { fail, isLancashError } from '../../core/errors.js';
import { type Amount, splitAmount } from '../../core/money.js';
import type { BlindedMessage, BlindSignature, Proof } from '../../core/protocol/cashu.js';
import type { PreparedOutputs } from '../../mint/mint.js';
import { isUniqueViolation } from '../../store/index.js';
import type { PaymentResult } from './backend.js';
import type { MeltQuoteState, QuoteBook } from './quotes.js';
import * as repo from './repository.js';

/** NUT-23 `PostMeltQuoteBolt11Response`, with NUT-08 `change`. */
export interface MeltQuoteResponse {
  quote: string;
  request: string;
  amount: number;
  unit: string;
  fee_reserve: number;
  state: MeltQuoteState;
  expiry: number;
  payment_preimage: string | null;
  change?: BlindSignature[];
}

/** NUT-08: more blank outputs than any fee reserve below 2^64 needs. */
export const MAX_BLANK_OUTPUTS = 64;

export class MeltQuotes {
  constructor(private readonly q: QuoteBook) {}

  async createMeltQuote(req: {
    request: string;
    unit: string;
    options?: unknown;
  }): Promise<MeltQuoteResponse> {
    this.q.checkUnit(req.unit);
    if (req.options !== undefined) {
      fail(
        'InvalidInput',
        {
          argument: 'options',
          expected: 'no options (amountless and MPP melts are not supported)',
          received: 'options',
        },
        'options: amountless and multi-path (NUT-15) melts are not supported',
      );
    }
    const invoice = this.q.backend.decodeInvoice(req.request);
    if (invoice.amount === undefined) {
      fail(
        'AmountlessInvoiceNotSupported',
        { request: req.request },
        'request: invoices without an amount are not supported',
      );
    }
    this.q.checkAmount(invoice.amount);
    const now = this.q.clock();
    if (invoice.expiry * 1000 <= now) {
      fail(
        'InvalidInput',
        { argument: 'request', expected: 'an unexpired invoice', received: `expired at ${invoice.expiry}` },
        `request: the invoice expired at ${new Date(invoice.expiry * 1000).toISOString()}`,
      );
    }
    const paymentHash = invoice.paymentHash.toLowerCase();
    await this.refuseTakenInvoice(paymentHash);
    const row = this.q.newRow('melt', {
      amount: invoice.amount,
      request: req.request,
      payment_hash: paymentHash,
      expires_at: Math.min(invoice.expiry * 1000, now + this.q.ttlMs),
      now,
    });
    row.fee_reserve = this.q.feeReserve(invoice.amount);
    await repo.insertQuote(this.q.store.db, row);
    return meltView(row);
  }

  /** NUT-05: a PENDING quote is checked with the backend and settled when the outcome is known. */
  async getMeltQuote(id: string): Promise<MeltQuoteResponse> {
    const row = await this.q.load('melt', id);
    if (row.state !== 'PENDING') return meltView(row);
    return this.resolve(row, await this.recheck(row), false);
  }

  /**
   * NUT-05: holds the inputs pending, pays the invoice, then settles (PAID, change per NUT-08) or
   * releases them (FAILED → 20004). An unclear outcome leaves the quote PENDING.
   */
  async meltTokens(req: {
    quote: string;
    inputs: Proof[];
    outputs?: BlindedMessage[];
  }): Promise<MeltQuoteResponse> {
    const row = await this.q.load('melt', req.quote);
    if (row.state === 'PAID' || row.state === 'PENDING') return this.replayedMelt(row, req);
    this.refuseNotUnpaid(row);
    // NUT-11: SIG_ALL inputs of a melt sign its blank outputs as sent and the quote id.
    const ins = await this.q.mint.prepareInputs(req.inputs, { outputs: req.outputs ?? [], quote: req.quote });
    if (ins.unit !== row.unit) fail('UnitMismatch', { inputUnit: ins.unit, outputUnit: row.unit });
    const needed = row.amount + row.fee_reserve;
    // NUT-05: inputs less their fees cover the amount plus the fee reserve.
    if (ins.amount - ins.fee < needed) {
      fail(
        'TransactionUnbalanced',
        { inputs: ins.amount, outputs: needed, fees: ins.fee },
        `inputs ${ins.amount} less fees ${ins.fee} must cover amount ${row.amount} plus fee reserve ${row.fee_reserve}`,
      );
    }
    const blanks = (req.outputs ?? []).map((m) => ({ ...m, amount: 1 }));
    // NUT-08: check the blank outputs now, so a paid invoice never meets unusable outputs.
    if (blanks.length > 0) await this.q.mint.prepareOutputs(blanks);
    const attempt = row.attempt + 1;
    try {
      await this.q.store.transaction(async (trx) => {
        const now = this.q.clock();
        const moved = await this.q.transition(
          trx,
          // The attempt number is read before the transaction; matching it keeps each key to one attempt.
          {
            kind: 'melt',
            id: row.id,
            from: 'UNPAID',
            to: 'PENDING',
            now,
            unexpiredAt: now,
            attempt: row.attempt,
          },
          { attempt, inputs_amount: ins.amount, input_fee: ins.fee, outputs: JSON.stringify(blanks) },
        );
        if (!moved) this.refuseNotUnpaid(await this.q.load('melt', row.id, trx), true);
        await this.q.mint.commitInputs(trx, ins, operation(row.id), 'pending');
      });
    } catch (err) {
      if (isUniqueViolation(err)) await this.refuseTakenInvoice(row.payment_hash);
      throw err;
    }
    const pending: repo.QuoteRow = {
      ...row,
      state: 'PENDING',
      attempt,
      inputs_amount: ins.amount,
      input_fee: ins.fee,
      outputs: JSON.stringify(blanks),
    };
    const result = await this.q.call('payInvoice', () =>
      this.q.backend.payInvoice({
        request: row.request,
        maxFee: row.fee_reserve,
        idempotencyKey: paymentKey(pending),
      }),
    );
    return this.resolve(pending, result, true);
  }

  /**
   * NUT-19: the same melt again (a wallet's retry after a lost answer) gets the quote as it stands in
   * the database (no backend call; `GET` the quote to have a PENDING one checked), when its blank outputs are the ones this quote's payment recorded and its
   * inputs verify again and are exactly the ones it holds (only their holder can replay). Anything
   * else keeps its refusal (20005 pending, 20006 paid); nothing is written.
   */
  private async replayedMelt(
    row: repo.QuoteRow,
    req: { quote: string; inputs: Proof[]; outputs?: BlindedMessage[] },
  ): Promise<MeltQuoteResponse> {
    const recorded = JSON.parse(row.outputs) as BlindedMessage[];
    const blanks = req.outputs ?? [];
    const sameBlanks =
      blanks.length === recorded.length &&
      blanks.every(
        (m, i) => m.id === recorded[i]!.id && m.B_.toLowerCase() === recorded[i]!.B_.toLowerCase(),
      );
    if (sameBlanks) {
      let Ys: readonly string[] | undefined;
      try {
        Ys = (await this.q.mint.prepareInputs(req.inputs, { outputs: blanks, quote: req.quote })).Ys;
      } catch (err) {
        if (!isLancashError(err)) throw err;
      }
      if (Ys !== undefined && (await this.q.mint.heldExactlyBy(Ys, operation(row.id), { pending: true })))
        return meltView(row);
    }
    this.refuseNotUnpaid(row);
    return meltView(row);
  }

  /**
   * Settles every melt quote left PENDING (e.g. by a crash); for the server's start-up. It waits on the
   * backend for each quote, so a server may run it in the background rather than before listening.
   */
  async resumePendingMelts(): Promise<{ paid: number; failed: number; pending: number }> {
    const counts = { paid: 0, failed: 0, pending: 0 };
    for (const id of await repo.pendingMelts(this.q.store.db)) {
      const q = await this.getMeltQuote(id);
      if (q.state === 'PAID') counts.paid++;
      else if (q.state === 'UNPAID') counts.failed++;
      else counts.pending++;
    }
    return counts;
  }

  /**
   * The backend's word on a PENDING quote's payment. UNKNOWN means the payment was never started
   * (a crash between holding the inputs and paying): pay now, under the same idempotency key.
   */
  private async recheck(row: repo.QuoteRow): Promise<PaymentResult | undefined> {
    const key = paymentKey(row);
    const known = await this.q.call('checkPayment', () => this.q.backend.checkPayment(key));
    if (known === undefined) return undefined;
    if (known.state !== 'UNKNOWN') return { ...known, state: known.state };
    return this.q.call('payInvoice', () =>
      this.q.backend.payInvoice({ request: row.request, maxFee: row.fee_reserve, idempotencyKey: key }),
    );
  }

  private async resolve(
    row: repo.QuoteRow,
    result: PaymentResult | undefined,
    refuseFailure: boolean,
  ): Promise<MeltQuoteResponse> {
    if (result?.state === 'PAID') await this.settlePaid(row, result);
    else if (result?.state === 'FAILED') {
      await this.release(row);
      if (refuseFailure) {
        fail(
          'LightningPaymentFailed',
          { quote: row.id, reason: 'the Lightning payment failed' },
          `quote ${row.id}: the Lightning payment failed; the inputs are unspent again`,
        );
      }
    }
    return meltView(await this.q.load('melt', row.id));
  }

  /** PAID: inputs spent, quote PAID with preimage, NUT-08 change signed, hook, in ONE transaction. */
  private async settlePaid(row: repo.QuoteRow, result: PaymentResult): Promise<void> {
    const fee = Math.max(0, result.fee);
    const due = row.inputs_amount - row.input_fee - row.amount - fee;
    const change = due > 0 ? await this.prepareChange(row, due as Amount) : undefined;
    const returned = change?.amount ?? 0;
    await this.q.store.transaction(async (trx) => {
      const now = this.q.clock();
      const moved = await this.q.transition(
        trx,
        // Only the attempt this outcome belongs to: a stale check must not settle a newer attempt.
        { kind: 'melt', id: row.id, from: 'PENDING', to: 'PAID', now, attempt: row.attempt },
        {
          preimage: result.preimage ?? null,
          fee_paid: fee,
          change: JSON.stringify(change?.signatures ?? []),
        },
      );
      if (!moved) return; // settled or released by a concurrent request
      await this.q.mint.settlePending(trx, operation(row.id));
      if (change) await this.q.mint.commitOutputs(trx, change, operation(row.id));
      const amount = row.amount + fee;
      await this.q.o.hooks?.onMelted(trx, {
        quote: row.id,
        amount,
        fee,
        kept: row.inputs_amount - amount - returned,
      });
    });
  }

  /**
   * NUT-08: the overpaid amount as powers of two imprinted on the blank outputs, in their order. With
   * too few blanks the largest parts go back and the rest is kept; unusable blanks mean no change (the
   * payment is done, the quote must settle).
   */
  private async prepareChange(row: repo.QuoteRow, due: Amount): Promise<PreparedOutputs | undefined> {
    const blanks = JSON.parse(row.outputs) as BlindedMessage[];
    const parts = splitAmount(due)
      .sort((a, b) => b - a)
      .slice(0, blanks.length)
      .sort((a, b) => a - b);
    if (parts.length === 0) return undefined;
    try {
      return await this.q.mint.prepareOutputs(parts.map((amount, i) => ({ ...blanks[i]!, amount })));
    } catch (err) {
      if (!isLancashError(err)) throw err;
      this.q.o.onBackendError?.(err, 'change');
      return undefined;
    }
  }

  /** FAILED: the inputs are spendable again and the quote UNPAID, in ONE transaction. */
  private async release(row: repo.QuoteRow): Promise<void> {
    await this.q.store.transaction(async (trx) => {
      const moved = await this.q.transition(
        trx,
        {
          kind: 'melt',
          id: row.id,
          from: 'PENDING',
          to: 'UNPAID',
          now: this.q.clock(),
          attempt: row.attempt,
        },
        { inputs_amount: 0, input_fee: 0, outputs: '[]' },
      );
      if (moved) await this.q.mint.releasePending(trx, operation(row.id));
    });
  }

  /** A melt quote can be melted only while UNPAID and unexpired (NUT-05 20005/20006/20007). */
  private refuseNotUnpaid(row: repo.QuoteRow, raced = false): void {
    if (row.state === 'PENDING')
      fail('QuotePending', { quote: row.id }, `quote ${row.id} is already being paid`);
    if (row.state === 'PAID')
      fail('InvoiceAlreadyPaid', { quote: row.id }, `quote ${row.id} is already paid`);
    if (this.q.expired(row)) this.q.refuseExpired(row.id);
    // Still UNPAID but another attempt came and went meanwhile: the wallet may simply try again.
    if (raced)
      fail('QuotePending', { quote: row.id }, `quote ${row.id} changed during this request; try again`);
  }

  private async refuseTakenInvoice(paymentHash: string): Promise<void> {
    const [taken] = await repo.meltsOfInvoice(this.q.store.db, paymentHash);
    if (taken?.state === 'PAID')
      fail('InvoiceAlreadyPaid', { quote: taken.id }, 'request: this invoice was already paid');
    if (taken?.state === 'PENDING')
      fail('QuotePending', { quote: taken.id }, 'request: this invoice is being paid by another quote');
  }
}

/** The `Mint` operation that holds a melt's inputs and signs its change. */
function operation(quote: string): string {
  return `melt:${quote}`;
}

/** The backend idempotency key of a melt's current attempt: the quote id, then `id/2`, `id/3`, … */
function paymentKey(row: Pick<repo.QuoteRow, 'id' | 'attempt'>): string {
  return row.attempt <= 1 ? row.id : `${row.id}/${row.attempt}`;
}

function meltView(row: repo.QuoteRow): MeltQuoteResponse {
  const change = JSON.parse(row.change) as BlindSignature[];
  return {
    quote: row.id,
    request: row.request,
    amount: row.amount,
    unit: row.unit,
    fee_reserve: row.fee_reserve,
    state: row.state as MeltQuoteState,
    expiry: Math.floor(row.expires_at / 1000),
    payment_preimage: row.preimage,
    ...(change.length > 0 ? { change } : {}),
  };
}
