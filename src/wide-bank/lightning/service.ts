/**
 * Mint and melt quotes for the `bolt11` method (NUT-04, NUT-05, NUT-23, change per NUT-08) over a
 * `Mint` and a `LightningBackend`. Crypto and Lightning calls happen outside transactions; every
 * change of money is ONE transaction that moves the quote with a conditional UPDATE, writes the notes
 * and runs the caller's hook, so a race, a crash or a throwing hook never issues or pays twice.
 *
 * This file is the facade the routes and the server use; the concerns live beside it: `mint-quotes.ts`
 * (NUT-04), `melt-quotes.ts` (NUT-05, NUT-08 change, resuming pending melts) and `quotes.ts` (the
 * options and the quote state both share).
 */
import type { BlindedMessage, BlindSignature, Proof } from '../../core/protocol/cashu.js';
import { type MeltQuoteResponse, MeltQuotes } from './melt-quotes.js';
import { type MintQuoteResponse, MintQuotes, type MintRequest } from './mint-quotes.js';
import { type LightningOptions, QuoteBook } from './quotes.js';

export { MAX_BLANK_OUTPUTS, type MeltQuoteResponse } from './melt-quotes.js';
export type { MintQuoteResponse, MintRequest } from './mint-quotes.js';
export type {
  LightningHooks,
  LightningOptions,
  MeltedEvent,
  MeltQuoteState,
  MintedEvent,
  MintQuoteState,
} from './quotes.js';

export class LightningService {
  private readonly mints: MintQuotes;
  private readonly melts: MeltQuotes;
  readonly unit: string;
  readonly minAmount: number;
  readonly maxAmount: number;

  constructor(o: LightningOptions) {
    const quotes = new QuoteBook(o);
    this.mints = new MintQuotes(quotes);
    this.melts = new MeltQuotes(quotes);
    this.unit = quotes.unit;
    this.minAmount = quotes.minAmount;
    this.maxAmount = quotes.maxAmount;
  }

  createMintQuote(req: {
    amount: number;
    unit: string;
    description?: string;
    pubkey?: string | null;
  }): Promise<MintQuoteResponse> {
    return this.mints.createMintQuote(req);
  }

  getMintQuote(id: string): Promise<MintQuoteResponse> {
    return this.mints.getMintQuote(id);
  }

  /** NUT-04: signs `outputs` worth exactly the quote's amount, once per quote. */
  mintTokens(req: MintRequest): Promise<BlindSignature[]> {
    return this.mints.mintTokens(req);
  }

  createMeltQuote(req: { request: string; unit: string; options?: unknown }): Promise<MeltQuoteResponse> {
    return this.melts.createMeltQuote(req);
  }

  /** NUT-05: a PENDING quote is checked with the backend and settled when the outcome is known. */
  getMeltQuote(id: string): Promise<MeltQuoteResponse> {
    return this.melts.getMeltQuote(id);
  }

  /** NUT-05: holds the inputs pending, pays the invoice, then settles or releases them. */
  meltTokens(req: {
    quote: string;
    inputs: Proof[];
    outputs?: BlindedMessage[];
  }): Promise<MeltQuoteResponse> {
    return this.melts.meltTokens(req);
  }

  /** Settles every melt quote left PENDING (e.g. by a crash); for the server's start-up. */
  resumePendingMelts(): Promise<{ paid: number; failed: number; pending: number }> {
    return this.melts.resumePendingMelts();
  }
}
