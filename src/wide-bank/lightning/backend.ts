/**
 * What the mint needs from a Lightning node for the `bolt11` method (NUT-23): invoices to receive
 * (mint quotes) and payments to send (melt quotes). The built-in fake (`fake.ts`) implements it for
 * development and tests; a real node (LND, CLN, …) implements the same interface later.
 *
 * Amounts are in the mint's unit; a backend converts to satoshis at its own rate.
 */

/** Outcome of a payment. `PENDING`: not known yet, ask again with `checkPayment`. */
export type PaymentState = 'PAID' | 'FAILED' | 'PENDING';

export interface PaymentResult {
  state: PaymentState;
  /** Hex, when the payment is PAID and the node learned it. */
  preimage?: string;
  /** Lightning fee actually paid, in the mint's unit (0 unless PAID). */
  fee: number;
}

export interface LightningBackend {
  /** A new invoice for `amount` units; `expiry` is the unix time (seconds) it stops being payable. */
  createInvoice(o: { amount: number; memo?: string }): Promise<{
    request: string;
    paymentHash: string;
    expiry: number;
  }>;
  /** Whether an invoice this backend created has been paid. */
  invoiceState(paymentHash: string): Promise<'UNPAID' | 'PAID'>;
  /**
   * Reads any BOLT11 invoice (amount rounded up to whole units; undefined when amountless; `expiry`
   * as unix seconds). Throws `InvalidInput` naming `request` on a malformed invoice.
   */
  decodeInvoice(request: string): { amount: number | undefined; paymentHash: string; expiry: number };
  /**
   * Pays an invoice, paying at most `maxFee` in fees. Idempotent per `idempotencyKey`: the same key
   * never pays twice and answers the first attempt's outcome. Throwing means the outcome is unclear.
   */
  payInvoice(o: { request: string; maxFee: number; idempotencyKey: string }): Promise<PaymentResult>;
  /** The outcome of the payment made under `idempotencyKey`; `UNKNOWN` when none was ever started. */
  checkPayment(idempotencyKey: string): Promise<{
    state: PaymentState | 'UNKNOWN';
    preimage?: string;
    fee: number;
  }>;
}
