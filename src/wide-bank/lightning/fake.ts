/**
 * The fake Lightning backend (like nutshell's FakeWallet), the default until a real node is plugged
 * in: it issues real, signed BOLT11 invoices from a random node key that count as paid the moment they
 * exist, and "pays" any decodable, unexpired invoice at zero fee. Its memory is the process's: after a
 * restart it knows no payments (`checkPayment` answers UNKNOWN). Rate: 1 unit = 1 satoshi.
 */
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../../core/bytes.js';
import { randomScalar } from '../../core/crypto/scalar.js';
import { fail } from '../../core/errors.js';
import { MAX_TOTAL } from '../../core/money.js';
import type { LightningBackend, PaymentResult } from './backend.js';
import { type Bolt11Network, decodeBolt11, encodeBolt11 } from './bolt11.js';

export interface FakeLightningOptions {
  /** Random source for the node key, preimages and payment secrets (tests make them reproducible). */
  rng?: (n: number) => Uint8Array;
  /** Payments of invoices for which this returns true fail (to test the melt's failure path). */
  fail?: (request: string) => boolean;
  /** Unix milliseconds; default `Date.now`. */
  clock?: () => number;
  /** Lifetime of the invoices it issues; default 3600 s. */
  expirySeconds?: number;
  network?: Bolt11Network;
}

export interface FakeLightning extends LightningBackend {
  /** Hex of the fake node's public key: the payee of every invoice it issues. */
  readonly nodeId: string;
}

export function createFakeLightning(o: FakeLightningOptions = {}): FakeLightning {
  const rng = o.rng ?? randomBytes;
  const clock = o.clock ?? Date.now;
  const nodeKey = randomScalar(rng);
  /** Preimages of the invoices it issued, by payment hash. */
  const preimages = new Map<string, string>();
  const payments = new Map<string, PaymentResult>();
  const paidHashes = new Set<string>();

  const remember = (key: string, result: PaymentResult): PaymentResult => {
    payments.set(key, result);
    return result;
  };

  const decodeInvoice: LightningBackend['decodeInvoice'] = (request) => {
    const inv = decodeBolt11(request);
    return {
      amount: inv.amountMsat === undefined ? undefined : units(inv.amountMsat),
      paymentHash: inv.paymentHash,
      expiry: inv.timestamp + inv.expirySeconds,
    };
  };

  return {
    nodeId: bytesToHex(secp256k1.getPublicKey(nodeKey)),

    async createInvoice({ amount, memo }) {
      const preimage = rng(32);
      const paymentHash = sha256(preimage);
      const timestamp = Math.floor(clock() / 1000);
      const expirySeconds = o.expirySeconds ?? 3600;
      const request = encodeBolt11({
        ...(o.network ? { network: o.network } : {}),
        amountMsat: BigInt(amount) * 1000n,
        timestamp,
        paymentHash,
        paymentSecret: rng(32),
        description: memo ?? '',
        expirySeconds,
        nodeKey,
      });
      preimages.set(bytesToHex(paymentHash), bytesToHex(preimage));
      return { request, paymentHash: bytesToHex(paymentHash), expiry: timestamp + expirySeconds };
    },

    // Settles at once: every invoice it issued is paid.
    async invoiceState(paymentHash) {
      return preimages.has(paymentHash.toLowerCase()) ? 'PAID' : 'UNPAID';
    },

    decodeInvoice,

    async payInvoice({ request, idempotencyKey }) {
      const earlier = payments.get(idempotencyKey);
      if (earlier) return earlier;
      let inv: ReturnType<typeof decodeInvoice>;
      try {
        inv = decodeInvoice(request);
      } catch {
        return remember(idempotencyKey, { state: 'FAILED', fee: 0 }); // a proven refusal, not an unclear outcome
      }
      const payable =
        inv.amount !== undefined &&
        inv.expiry * 1000 > clock() &&
        !paidHashes.has(inv.paymentHash) && // a node never pays one invoice twice
        !o.fail?.(request);
      const result: PaymentResult = payable
        ? { state: 'PAID', preimage: preimages.get(inv.paymentHash) ?? bytesToHex(rng(32)), fee: 0 }
        : { state: 'FAILED', fee: 0 };
      if (payable) paidHashes.add(inv.paymentHash);
      return remember(idempotencyKey, result);
    },

    async checkPayment(idempotencyKey) {
      return payments.get(idempotencyKey) ?? { state: 'UNKNOWN', fee: 0 };
    },
  };
}

/** Millisatoshis → whole units at 1 unit = 1 sat, rounded up: a sub-satoshi remainder still costs. */
function units(msat: bigint): number {
  const sat = (msat + 999n) / 1000n;
  if (sat > BigInt(MAX_TOTAL)) {
    fail(
      'AmountOutsideLimit',
      { amount: sat.toString(), min: 1, max: MAX_TOTAL },
      `request: invoice amount ${sat} sat exceeds the limit ${MAX_TOTAL}`,
    );
  }
  return Number(sat);
}
