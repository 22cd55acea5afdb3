/**
 * Mint quotes for the `bolt11` method (NUT-04, NUT-23): an invoice to pay, the quote UNPAID → PAID once
 * the backend says it is paid, then PAID → ISSUED in ONE transaction with the signatures and the
 * caller's hook, so a race, a crash or a throwing hook never issues twice; a replay gets the same
 * signatures back. A quote asked for with a `pubkey` (NUT-20) is minted only with that key's
 * signature over the quote id and the outputs, checked after the cheap checks and before any signing.
 */
import { defaultCurve } from '../../core/crypto/index.js';
import { isMintQuotePubkey, verifyMintQuote } from '../../core/crypto/nut20.js';
import { fail, isLancashError } from '../../core/errors.js';
import { sum } from '../../core/money.js';
import type { BlindedMessage, BlindSignature } from '../../core/protocol/cashu.js';
import type { PreparedOutputs } from '../../mint/mint.js';
import type { MintQuoteState, QuoteBook } from './quotes.js';
import * as repo from './repository.js';

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
  /** NUT-20: the key whose signature alone mints this quote, when the wallet named one. */
  pubkey?: string;
}

/** A NUT-04 mint request; `signature` is NUT-20's, needed when the quote has a `pubkey`. */
export interface MintRequest {
  quote: string;
  outputs: BlindedMessage[];
  signature?: string | null;
}

export class MintQuotes {
  constructor(private readonly q: QuoteBook) {}

  async createMintQuote(req: {
    amount: number;
    unit: string;
    description?: string;
    pubkey?: string | null;
  }): Promise<MintQuoteResponse> {
    this.q.checkUnit(req.unit);
    this.q.checkAmount(req.amount);
    const pubkey = req.pubkey ?? undefined;
    // NUT-20 20009: a key that is no compressed point could never sign; refuse it before an invoice exists.
    if (pubkey !== undefined && !isMintQuotePubkey(pubkey)) {
      fail(
        'MintQuotePubkeyRequired',
        { reason: 'pubkey must be a compressed secp256k1 point (33 bytes, hex)' },
        'pubkey must be a compressed secp256k1 public key: 66 hex characters starting 02 or 03',
      );
    }
    const invoice = await this.q.backend.createInvoice({
      amount: req.amount,
      ...(req.description !== undefined ? { memo: req.description } : {}),
    });
    const now = this.q.clock();
    const row = this.q.newRow('mint', {
      amount: req.amount,
      request: invoice.request,
      payment_hash: invoice.paymentHash.toLowerCase(),
      expires_at: Math.min(invoice.expiry * 1000, now + this.q.ttlMs),
      now,
      ...(pubkey !== undefined ? { pubkey: pubkey.toLowerCase() } : {}),
    });
    await repo.insertQuote(this.q.store.db, row);
    return mintView(row);
  }

  async getMintQuote(id: string): Promise<MintQuoteResponse> {
    return mintView(await this.refreshMint(await this.q.load('mint', id)));
  }

  /** NUT-04: signs `outputs` worth exactly the quote's amount, once per quote. */
  async mintTokens(req: MintRequest): Promise<BlindSignature[]> {
    const row = await this.refreshMint(await this.q.load('mint', req.quote));
    if (row.state === 'ISSUED') return this.issuedAnswer(row, req);
    if (row.state === 'UNPAID') {
      if (this.q.expired(row)) this.q.refuseExpired(row.id);
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
    this.checkSignature(row, req);
    let prepared: PreparedOutputs;
    try {
      prepared = await this.q.mint.prepareOutputs(req.outputs);
    } catch (err) {
      // A replay that lost the race to its own twin: answer what the twin got (NUT-04 cached responses).
      if (isLancashError(err, 'OutputsAlreadySigned'))
        return this.issuedAnswer(await this.q.load('mint', row.id), req, err);
      throw err;
    }
    try {
      return await this.q.store.transaction(async (trx) => {
        const now = this.q.clock();
        if (!(await this.q.transition(trx, { kind: 'mint', id: row.id, from: 'PAID', to: 'ISSUED', now }))) {
          fail('QuoteAlreadyIssued', { quote: row.id }, `quote ${row.id} has already been issued`);
        }
        const signatures = await this.q.mint.commitOutputs(trx, prepared, `mint:${row.id}`);
        await this.q.o.hooks?.onMinted(trx, { quote: row.id, amount: row.amount });
        return signatures;
      });
    } catch (err) {
      if (isLancashError(err, 'QuoteAlreadyIssued'))
        return this.issuedAnswer(await this.q.load('mint', row.id), req, err);
      throw err;
    }
  }

  /**
   * NUT-20: a quote with a `pubkey` needs that key's BIP-340 signature over the quote id and the
   * outputs (20008 when missing or wrong). At most two Schnorr verifications (the current message form,
   * then the earlier one) on the server's curve backend: tens of µs each on the native one, so on the
   * main thread; and only for a paid quote whose id the caller knows.
   */
  private checkSignature(row: repo.QuoteRow, req: MintRequest): void {
    if (row.pubkey === null) return;
    const signature = req.signature ?? undefined;
    if (signature === undefined) {
      fail(
        'MintQuoteSignatureInvalid',
        { quote: row.id, reason: 'missing' },
        `quote ${row.id} is locked to a key (NUT-20): sign the request with it and send the signature`,
      );
    }
    if (!verifyMintQuote(row.pubkey, row.id, req.outputs, signature, defaultCurve())) {
      fail(
        'MintQuoteSignatureInvalid',
        { quote: row.id, reason: 'does not verify' },
        `quote ${row.id}: the signature does not verify with the quote's key over this quote and these outputs`,
      );
    }
  }

  /** UNPAID → PAID once the backend says the invoice is paid (also after expiry: the money arrived). */
  private async refreshMint(row: repo.QuoteRow): Promise<repo.QuoteRow> {
    if (row.state !== 'UNPAID') return row;
    if ((await this.q.backend.invoiceState(row.payment_hash)) !== 'PAID') return row;
    await this.q.transition(this.q.store.db, {
      kind: 'mint',
      id: row.id,
      from: 'UNPAID',
      to: 'PAID',
      now: this.q.clock(),
    });
    return this.q.load('mint', row.id);
  }

  /**
   * An ISSUED quote: the same request again gets the same signatures (NUT-04 cached responses; blind
   * signatures are useless without the wallet's `r`); any other request gets 20002.
   */
  private async issuedAnswer(
    row: repo.QuoteRow,
    req: MintRequest,
    cause?: unknown,
  ): Promise<BlindSignature[]> {
    if (row.state === 'ISSUED') {
      // Exactly the outputs this quote's mint signed, nothing else (NUT-19).
      const signed = await this.q.mint.signedExactlyBy(req.outputs, `mint:${row.id}`);
      if (signed !== undefined) {
        // A locked quote's replay carries the same signature as the request it repeats.
        this.checkSignature(row, req);
        return signed.signatures;
      }
    }
    if (row.state !== 'ISSUED' && cause !== undefined) throw cause;
    return fail('QuoteAlreadyIssued', { quote: row.id }, `quote ${row.id} has already been issued`);
  }
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
    ...(row.pubkey !== null ? { pubkey: row.pubkey } : {}),
  };
}
