/**
 * What mint and melt quotes share (NUT-04, NUT-05, NUT-23): the service's options and hooks, the
 * quote states, and the quote book both build on: a quote loaded or refused, the unit and amount
 * checks, expiry, a fresh quote row, and backend calls whose failure leaves the outcome unclear.
 * State changes are conditional UPDATEs in the repository (`repo.transition`), so a race moves a quote once.
 */
import { randomBytes } from 'node:crypto';
import { base64urlnopad } from '@scure/base';
import type { Kysely } from 'kysely';
import { fail } from '../../core/errors.js';
import { MAX_NOTE_AMOUNT } from '../../core/money.js';
import type { Mint } from '../../mint/mint.js';
import type { Store } from '../../store/index.js';
import type { Database } from '../../store/schema.js';
import type { LightningBackend } from './backend.js';
import * as repo from './repository.js';

export type Trx = Kysely<Database>;

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

const DEFAULT_TTL_SECONDS = 3600;

/** The quote state both kinds share, over the options' mint, store, backend and clock. */
export class QuoteBook {
  readonly mint: Mint;
  readonly store: Store;
  readonly backend: LightningBackend;
  readonly clock: () => number;
  readonly ttlMs: number;
  readonly feeReserve: (amount: number) => number;
  readonly unit: string;
  readonly minAmount: number;
  readonly maxAmount: number;

  constructor(readonly o: LightningOptions) {
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

  /** A backend call that threw is reported and answers undefined: its outcome is unclear. */
  async call<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.o.onBackendError?.(err, op);
      return undefined;
    }
  }

  /**
   * `repo.transition`; when it moved the quote, NUT-17 subscribers hear of it once `db`'s transaction
   * commits (`Mint.changes`).
   */
  async transition(
    db: Trx,
    q: Parameters<typeof repo.transition>[1],
    set?: Parameters<typeof repo.transition>[2],
  ): Promise<boolean> {
    const moved = await repo.transition(db, q, set);
    if (moved) this.mint.changed(db, q.kind === 'mint' ? 'bolt11_mint_quote' : 'bolt11_melt_quote', [q.id]);
    return moved;
  }

  /** The quote, or 404. */
  async load(kind: repo.QuoteKind, id: string, db: Trx = this.store.db): Promise<repo.QuoteRow> {
    const row = await repo.getQuote(db, kind, id);
    return row ?? fail('NotFound', { what: `${kind} quote`, id }, `no ${kind} quote ${id}`);
  }

  refuseExpired(id: string): never {
    return fail('QuoteExpired', { quote: id }, `quote ${id} has expired`);
  }

  expired(row: repo.QuoteRow): boolean {
    return row.expires_at <= this.clock();
  }

  checkUnit(unit: string): void {
    if (unit !== this.unit)
      fail(
        'UnitNotSupported',
        { unit },
        `unit ${JSON.stringify(unit)} is not supported; this mint uses ${this.unit}`,
      );
  }

  /** NUT-04/05: 11006 outside the advertised `min_amount` … `max_amount`. */
  checkAmount(amount: number): void {
    if (!Number.isSafeInteger(amount) || amount < this.minAmount || amount > this.maxAmount) {
      fail(
        'AmountOutsideLimit',
        { amount, min: this.minAmount, max: this.maxAmount },
        `amount ${amount} is outside ${this.minAmount} … ${this.maxAmount}`,
      );
    }
  }

  /** A fresh UNPAID quote row with a random id, to insert. */
  newRow(
    kind: repo.QuoteKind,
    f: Pick<repo.QuoteRow, 'amount' | 'request' | 'payment_hash' | 'expires_at'> & {
      now: number;
      pubkey?: string;
    },
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
      pubkey: f.pubkey ?? null,
      created_at: f.now,
      updated_at: f.now,
    };
  }
}
