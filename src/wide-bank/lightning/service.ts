/**
 * Mint and melt quotes for the `bolt11` method (NUT-04, NUT-05, NUT-23, change per NUT-08) over a
 * `Mint` and a `LightningBackend`. Crypto and Lightning calls happen outside transactions; every
 * change of money is ONE transaction that moves the quote with a conditional UPDATE, writes the notes
 * and runs the caller's hook, so a race, a crash or a throwing hook never issues or pays twice.
 */
import { randomBytes } from 'node:crypto';
import { base64urlnopad } from '@scure/base';
import type { Kysely } from 'kysely';
import { fail, isLancashError } from '../../core/errors.js';
import { type Amount, MAX_NOTE_AMOUNT, splitAmount, sum } from '../../core/money.js';
import type { BlindedMessage, BlindSignature, Proof } from '../../core/protocol/cashu.js';
import type { Mint, PreparedOutputs } from '../../mint/mint.js';
import { isUniqueViolation, type Store } from '../../store/index.js';
import type { Database } from '../../store/schema.js';
import type { LightningBackend, PaymentResult } from './backend.js';
import * as repo from './repository.js';

type Trx = Kysely<Database>;

/** Value a minted quote created: `amount` units of new notes. */
export interface MintedEvent {
  quote: string;
  amount: number;
}

/**
 * Value a paid melt quote let out: `amount` = invoice amount + the Lightning fee actually paid (`fee`).
 * `kept` is what the mint keeps of the inputs beyond that and the change it signed: NUT-02 input fees,
 * and any overpayment the wallet sent no blank outputs for. inputs = amount + kept + change, so the
 * notes taken out of circulation are `amount + kept` (what a ledger must move out of notes outstanding).
 */
export interface MeltedEvent {
  quote: string;
  amount: number;
  fee: number;
  kept: number;
}

/** Called inside the transaction that issues or settles; throwing undoes all of it. */
export interface LightningHooks {
  onMinted(trx: Trx, e: MintedEvent): Promise<void>;
  onMelted(trx: Trx, e: MeltedEvent): Promise<void>;
}

export interface LightningOptions {
  mint: Mint;
  store: Store;
  /** The mint's unit (`eur`, `sat`); quotes in any other unit are refused (11013). */
  unit: string;
  backend: LightningBackend;
  hooks?: LightningHooks;
  /** Longest a quote stays open (the invoice's own expiry may be sooner); default 3600 s. */
  quoteTtlSeconds?: number;
  /** NUT-05 fee reserve for paying `amount`; default max(2, ⌈1 %⌉). */
  feeReserve?: (amount: number) => number;
  /** Bounds on a quote's amount (11006 outside); default 1 … 2^31. */
  minAmount?: number;
  maxAmount?: number;
  /** Unix ms; default `Date.now`. */
  clock?: () => number;
  /** Told about backend calls that threw (the outcome is then unclear and the quote stays PENDING). */
  onBackendError?: (err: unknown, op: string) => void;
}

/** NUT-04 states of a mint quote. */
export type MintQuoteState = 'UNPAID' | 'PAID' | 'ISSUED';
/** NUT-05 states of a melt quote. */
export type MeltQuoteState = 'UNPAID' | 'PENDING' | 'PAID';

/** NUT-23 `PostMintQuoteBolt11Response`. */
export interface MintQuoteResponse {
  quote: string;
  request: string;
  amount: number;
  unit: string;
  state: MintQuoteState;
  /** Unix seconds. */
  expiry: number;
  /** NUT-04 accounting fields, derived from `state` for a single-payment invoice. */
  amount_paid: number;
  amount_issued: number;
}

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

const DEFAULT_TTL_SECONDS = 3600;

export class LightningService {
  private readonly mint: Mint;
  private readonly store: Store;
  private readonly backend: LightningBackend;
  private readonly clock: () => number;
  private readonly ttlMs: number;
  private readonly feeReserve: (amount: number) => number;
  readonly unit: string;
  readonly minAmount: number;
  readonly maxAmount: number;

  constructor(private readonly o: LightningOptions) {
    this.mint = o.mint;
    this.store = o.store;
    this.backend = o.backend;
    this.unit = o.unit;
    this.clock = o.clock ?? Date.now;
    this.ttlMs = (o.quoteTtlSeconds ?? DEFAULT_TTL_SECONDS) * 1000;
    this.feeReserve = o.feeReserve ?? ((amount) => Math.max(2, Math.ceil(amount / 100)));
    this.minAmount = o.minAmount ?? 1;
    this.maxAmount = o.maxAmount ?? MAX_NOTE_AMOUNT;
    if (o.unit !== o.mint.unit) {
      fail(
        'UnitNotSupported',
        { unit: o.unit },
        `lightning unit ${o.unit} differs from the mint's unit ${o.mint.unit}`,
      );
    }
  }

  // --- NUT-04 mint ---------------------------------------------------------------------------

  async createMintQuote(req: {
    amount: number;
    unit: string;
    description?: string;
  }): Promise<MintQuoteResponse> {
    this.checkUnit(req.unit);
    this.checkAmount(req.amount);
    const invoice = await this.backend.createInvoice({
      amount: req.amount,
      ...(req.description !== undefined ? { memo: req.description } : {}),
    });
    const now = this.clock();
    const row = this.newRow('mint', {
      amount: req.amount,
      request: invoice.request,
      payment_hash: invoice.paymentHash.toLowerCase(),
      expires_at: Math.min(invoice.expiry * 1000, now + this.ttlMs),
      now,
    });
    await repo.insertQuote(this.store.db, row);
    return mintView(row);
  }

  async getMintQuote(id: string): Promise<MintQuoteResponse> {
    return mintView(await this.refreshMint(await this.load('mint', id)));
  }

  /** NUT-04: signs `outputs` worth exactly the quote's amount, once per quote. */
  async mintTokens(req: { quote: string; outputs: BlindedMessage[] }): Promise<BlindSignature[]> {
    const row = await this.refreshMint(await this.load('mint', req.quote));
    if (row.state === 'ISSUED') return this.issuedAnswer(row, req.outputs);
    if (row.state === 'UNPAID') {
      if (this.expired(row)) this.refuseExpired(row.id);
      fail('QuoteNotPaid', { quote: row.id }, `quote ${row.id}: the invoice is not paid yet`);
    }
    const total = sum(req.outputs.map((m) => m.amount));
    if (total !== row.amount) {
      fail(
        'TransactionUnbalanced',
        { inputs: row.amount, outputs: total, fees: 0 },
        `outputs must sum to the quote amount ${row.amount}, got ${total}`,
      );
    }
    let prepared: PreparedOutputs;
    try {
      prepared = await this.mint.prepareOutputs(req.outputs);
    } catch (err) {
      // A replay that lost the race to its own twin: answer what the twin got (NUT-04 cached responses).
      if (isLancashError(err, 'OutputsAlreadySigned'))
        return this.issuedAnswer(await this.load('mint', row.id), req.outputs, err);
      throw err;
    }
    try {
      return await this.store.transaction(async (trx) => {
        const now = this.clock();
        if (!(await repo.transition(trx, { kind: 'mint', id: row.id, from: 'PAID', to: 'ISSUED', now }))) {
          fail('QuoteAlreadyIssued', { quote: row.id }, `quote ${row.id} has already been issued`);
        }
        const signatures = await this.mint.commitOutputs(trx, prepared, `mint:${row.id}`);
        await this.o.hooks?.onMinted(trx, { quote: row.id, amount: row.amount });
        return signatures;
      });
    } catch (err) {
      if (isLancashError(err, 'QuoteAlreadyIssued'))
        return this.issuedAnswer(await this.load('mint', row.id), req.outputs, err);
      throw err;
    }
  }

  /** UNPAID → PAID once the backend says the invoice is paid (also after expiry: the money arrived). */
  private async refreshMint(row: repo.QuoteRow): Promise<repo.QuoteRow> {
    if (row.state !== 'UNPAID') return row;
    if ((await this.backend.invoiceState(row.payment_hash)) !== 'PAID') return row;
    await repo.transition(this.store.db, {
      kind: 'mint',
      id: row.id,
      from: 'UNPAID',
      to: 'PAID',
      now: this.clock(),
    });
    return this.load('mint', row.id);
  }

  /**
   * An ISSUED quote: the same request again gets the same signatures (NUT-04 cached responses; blind
   * signatures are useless without the wallet's `r`); any other request gets 20002.
   */
  private async issuedAnswer(
    row: repo.QuoteRow,
    outputs: BlindedMessage[],
    cause?: unknown,
  ): Promise<BlindSignature[]> {
    if (row.state === 'ISSUED' && outputs.length > 0) {
      const found = await this.mint.restore(outputs);
      if (
        found.signatures.length === outputs.length &&
        sum(found.signatures.map((s) => s.amount)) === row.amount
      ) {
        return found.signatures;
      }
    }
    if (row.state !== 'ISSUED' && cause !== undefined) throw cause;
    return fail('QuoteAlreadyIssued', { quote: row.id }, `quote ${row.id} has already been issued`);
  }

  // --- NUT-05 melt ---------------------------------------------------------------------------

  async createMeltQuote(req: {
    request: string;
    unit: string;
    options?: unknown;
  }): Promise<MeltQuoteResponse> {
    this.checkUnit(req.unit);
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
    const invoice = this.backend.decodeInvoice(req.request);
    if (invoice.amount === undefined) {
      fail(
        'AmountlessInvoiceNotSupported',
        { request: req.request },
        'request: invoices without an amount are not supported',
      );
    }
    this.checkAmount(invoice.amount);
    const now = this.clock();
    if (invoice.expiry * 1000 <= now) {
      fail(
        'InvalidInput',
        { argument: 'request', expected: 'an unexpired invoice', received: `expired at ${invoice.expiry}` },
        `request: the invoice expired at ${new Date(invoice.expiry * 1000).toISOString()}`,
      );
    }
    const paymentHash = invoice.paymentHash.toLowerCase();
    await this.refuseTakenInvoice(paymentHash);
    const row = this.newRow('melt', {
      amount: invoice.amount,
      request: req.request,
      payment_hash: paymentHash,
      expires_at: Math.min(invoice.expiry * 1000, now + this.ttlMs),
      now,
    });
    row.fee_reserve = this.feeReserve(invoice.amount);
    await repo.insertQuote(this.store.db, row);
    return meltView(row);
  }

  /** NUT-05: a PENDING quote is checked with the backend and settled when the outcome is known. */
  async getMeltQuote(id: string): Promise<MeltQuoteResponse> {
    const row = await this.load('melt', id);
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
    const row = await this.load('melt', req.quote);
    this.refuseNotUnpaid(row);
    const ins = await this.mint.prepareInputs(req.inputs);
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
    if (blanks.length > 0) await this.mint.prepareOutputs(blanks);
    const attempt = row.attempt + 1;
    try {
      await this.store.transaction(async (trx) => {
        const now = this.clock();
        const moved = await repo.transition(
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
        if (!moved) this.refuseNotUnpaid(await this.load('melt', row.id, trx), true);
        await this.mint.commitInputs(trx, ins, operation(row.id), 'pending');
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
    const result = await this.call('payInvoice', () =>
      this.backend.payInvoice({
        request: row.request,
        maxFee: row.fee_reserve,
        idempotencyKey: paymentKey(pending),
      }),
    );
    return this.resolve(pending, result, true);
  }

  /**
   * Settles every melt quote left PENDING (e.g. by a crash); for the server's start-up. It waits on the
   * backend for each quote, so a server may run it in the background rather than before listening.
   */
  async resumePendingMelts(): Promise<{ paid: number; failed: number; pending: number }> {
    const counts = { paid: 0, failed: 0, pending: 0 };
    for (const id of await repo.pendingMelts(this.store.db)) {
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
    const known = await this.call('checkPayment', () => this.backend.checkPayment(key));
    if (known === undefined) return undefined;
    if (known.state !== 'UNKNOWN') return { ...known, state: known.state };
    return this.call('payInvoice', () =>
      this.backend.payInvoice({ request: row.request, maxFee: row.fee_reserve, idempotencyKey: key }),
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
    return meltView(await this.load('melt', row.id));
  }

  /** PAID: inputs spent, quote PAID with preimage, NUT-08 change signed, hook, in ONE transaction. */
  private async settlePaid(row: repo.QuoteRow, result: PaymentResult): Promise<void> {
    const fee = Math.max(0, result.fee);
    const due = row.inputs_amount - row.input_fee - row.amount - fee;
    const change = due > 0 ? await this.prepareChange(row, due as Amount) : undefined;
    const returned = change?.amount ?? 0;
    await this.store.transaction(async (trx) => {
      const now = this.clock();
      const moved = await repo.transition(
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
      await this.mint.settlePending(trx, operation(row.id));
      if (change) await this.mint.commitOutputs(trx, change, operation(row.id));
      const amount = row.amount + fee;
      await this.o.hooks?.onMelted(trx, {
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
      return await this.mint.prepareOutputs(parts.map((amount, i) => ({ ...blanks[i]!, amount })));
    } catch (err) {
      if (!isLancashError(err)) throw err;
      this.o.onBackendError?.(err, 'change');
      return undefined;
    }
  }

  /** FAILED: the inputs are spendable again and the quote UNPAID, in ONE transaction. */
  private async release(row: repo.QuoteRow): Promise<void> {
    await this.store.transaction(async (trx) => {
      const moved = await repo.transition(
        trx,
        { kind: 'melt', id: row.id, from: 'PENDING', to: 'UNPAID', now: this.clock(), attempt: row.attempt },
        { inputs_amount: 0, input_fee: 0, outputs: '[]' },
      );
      if (moved) await this.mint.releasePending(trx, operation(row.id));
    });
  }

  // --- shared --------------------------------------------------------------------------------

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.o.onBackendError?.(err, op);
      return undefined;
    }
  }

  private async load(kind: repo.QuoteKind, id: string, db: Trx = this.store.db): Promise<repo.QuoteRow> {
    const row = await repo.getQuote(db, kind, id);
    return row ?? fail('NotFound', { what: `${kind} quote`, id }, `no ${kind} quote ${id}`);
  }

  /** A melt quote can be melted only while UNPAID and unexpired (NUT-05 20005/20006/20007). */
  private refuseNotUnpaid(row: repo.QuoteRow, raced = false): void {
    if (row.state === 'PENDING')
      fail('QuotePending', { quote: row.id }, `quote ${row.id} is already being paid`);
    if (row.state === 'PAID')
      fail('InvoiceAlreadyPaid', { quote: row.id }, `quote ${row.id} is already paid`);
    if (this.expired(row)) this.refuseExpired(row.id);
    // Still UNPAID but another attempt came and went meanwhile: the wallet may simply try again.
    if (raced)
      fail('QuotePending', { quote: row.id }, `quote ${row.id} changed during this request; try again`);
  }

  private async refuseTakenInvoice(paymentHash: string): Promise<void> {
    const [taken] = await repo.meltsOfInvoice(this.store.db, paymentHash);
    if (taken?.state === 'PAID')
      fail('InvoiceAlreadyPaid', { quote: taken.id }, 'request: this invoice was already paid');
    if (taken?.state === 'PENDING')
      fail('QuotePending', { quote: taken.id }, 'request: this invoice is being paid by another quote');
  }

  private refuseExpired(id: string): never {
    return fail('QuoteExpired', { quote: id }, `quote ${id} has expired`);
  }

  private expired(row: repo.QuoteRow): boolean {
    return row.expires_at <= this.clock();
  }

  private checkUnit(unit: string): void {
    if (unit !== this.unit)
      fail(
        'UnitNotSupported',
        { unit },
        `unit ${JSON.stringify(unit)} is not supported; this mint uses ${this.unit}`,
      );
  }

  /** NUT-04/05: 11006 outside the advertised `min_amount` … `max_amount`. */
  private checkAmount(amount: number): void {
    if (!Number.isSafeInteger(amount) || amount < this.minAmount || amount > this.maxAmount) {
      fail(
        'AmountOutsideLimit',
        { amount, min: this.minAmount, max: this.maxAmount },
        `amount ${amount} is outside ${this.minAmount} … ${this.maxAmount}`,
      );
    }
  }

  private newRow(
    kind: repo.QuoteKind,
    f: Pick<repo.QuoteRow, 'amount' | 'request' | 'payment_hash' | 'expires_at'> & { now: number },
  ): repo.QuoteRow {
    return {
      // NUT-04: random and secret, never derived from the invoice.
      id: base64urlnopad.encode(randomBytes(16)),
      kind,
      unit: this.unit,
      state: 'UNPAID',
      amount: f.amount,
      fee_reserve: 0,
      request: f.request,
      payment_hash: f.payment_hash,
      expires_at: f.expires_at,
      preimage: null,
      attempt: 0,
      fee_paid: 0,
      inputs_amount: 0,
      input_fee: 0,
      outputs: '[]',
      change: '[]',
      created_at: f.now,
      updated_at: f.now,
    };
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

function mintView(row: repo.QuoteRow): MintQuoteResponse {
  const state = row.state as MintQuoteState;
  return {
    quote: row.id,
    request: row.request,
    amount: row.amount,
    unit: row.unit,
    state,
    expiry: Math.floor(row.expires_at / 1000),
    amount_paid: state === 'UNPAID' ? 0 : row.amount,
    amount_issued: state === 'ISSUED' ? row.amount : 0,
  };
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
