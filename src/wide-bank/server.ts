/**
 * Assembles a running wide bank (docs/design.md §4) from options: the mint engine with the worker crypto pool,
 * the ledger, the bank's keys, and the routes of the roles it plays: the Cashu mint endpoints for
 * wallets, the issue server, the receiving server, `GET /v1/bank/info`, the WAN mailbox and the
 * Lightning quotes. The CLI (`src/cli/wide-bank.ts`) and the tests start it the same way.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { Curve } from '../core/crypto/curve.js';
import { fail } from '../core/errors.js';
import { clientOf } from '../core/http/client-key.js';
import {
  createServer,
  type LancashServer,
  type ServerOptions,
  WireErrorSchema,
} from '../core/http/server.js';
import { serveWebPages } from '../core/http/web.js';
import { BANK_INFO_PATH, BankInfo, type BankRole } from '../core/protocol/bank.js';
import { registerMailboxRoutes } from '../mailbox/http.js';
import type { MailboxLimits } from '../mailbox/service.js';
import type { MintCrypto } from '../mint/crypto.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import { registerMintRoutes } from '../mint/http.js';
import { Mint, type MintLimits } from '../mint/mint.js';
import { engineNuts, NO_MINT_OR_MELT } from '../mint/nuts.js';
import type { SubscriptionKind } from '../mint/subscriptions.js';
import { nut17Info, registerSubscriptions } from '../mint/ws.js';
import type { Store } from '../store/index.js';
import { registerPoolMetrics } from '../store/metrics.js';
import { registerIssueRoutes } from './issue/http.js';
import { IssueService } from './issue/service.js';
import { BankKeys } from './keys.js';
import { AccountsService } from './ledger/accounts.js';
import { registerAccountRoutes } from './ledger/http.js';
import { Ledger } from './ledger/service.js';
import { createFakeLightning } from './lightning/fake.js';
import { LIGHTNING_CACHED, lightningNuts, registerLightningRoutes } from './lightning/http.js';
import { quoteSources } from './lightning/subscriptions.js';
import { registerReceiveRoutes } from './receive/http.js';
import { ReceiveService } from './receive/service.js';
import { registerRequestLogRoutes } from './request-log/http.js';
import { RequestLogService } from './request-log/service.js';
import { registerReserveRoutes } from './reserve/http.js';

export const ALL_ROLES: readonly BankRole[] = ['issue', 'receive'];

/**
 * The bolt11 backends (issue 8 item 4: no default, the operator names one). `fake` settles every
 * invoice at once, so it mints wide money for nothing: the demo's and the tests'. `none` serves no
 * bolt11 quotes: wide money then enters only through accounts the operator funds. A real node
 * (LND, CLN, …) would implement `LightningBackend` (lightning/backend.ts) and join this list.
 */
export type LightningChoice = 'fake' | 'none';

/** What a bank on the fake backend says in its NUT-06 description, logs and stderr. */
export const FAKE_LIGHTNING_WARNING =
  'FAKE LIGHTNING: every invoice counts as paid, so this bank mints wide money without payment (development and tests only)';

/** `lancash/<package version>`, read once from the package.json beside `src/` or `dist/`. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface WideBankOptions {
  store: Store;
  /** One currency per deployment, e.g. `EUR`; the Cashu unit is its lower case. */
  currency: string;
  /** Default both. */
  roles?: readonly BankRole[];
  /** Default: the worker pool on every core (closed by `close`). */
  crypto?: MintCrypto;
  curve?: Curve;
  limits?: Partial<MintLimits>;
  logger?: Logger | false;
  rateLimit?: ServerOptions['rateLimit'];
  /** Proxies in front of the bank whose `X-Forwarded-For` is believed (`--trust-proxy`). */
  trustProxy?: readonly string[];
  /** Serve `/metrics` and `/docs/json` on the bank's listener; default true (`--metrics-listen` moves them). */
  operational?: boolean;
  /** The bolt11 backend, named by the operator (no default: the fake one mints for free). */
  lightning: LightningChoice;
  /** The WAN mailbox's limits (quotas, expiry); default `DEFAULT_MAILBOX_LIMITS`. */
  mailboxLimits?: Partial<MailboxLimits>;
  /** Depositors (IPs, CIDR blocks) whose deposits count as deliveries: the gateways' addresses. */
  mailboxTrusted?: readonly string[];
  /** The gateway's WAN listener that the bank's web wallet offers for payments to LAN addresses (`--web-gateway`). */
  webGateway?: string;
}

export interface WideBank {
  app: LancashServer;
  mint: Mint;
  ledger: Ledger;
  keys: BankKeys;
  info: BankInfo;
  /**
   * Tells the web wallet (after `listen`) the URL the bank is reached at (its mint and mailbox), and
   * the gateway's WAN listener when it is known only now.
   */
  announce(o: { url?: string; gateway?: string }): void;
  /** Closes what the bank opened itself (the crypto pool); the caller closes the app and the store. */
  close(): Promise<void>;
}

export async function createWideBank(o: WideBankOptions): Promise<WideBank> {
  const currency = checkCurrency(o.currency);
  const unit = currency.toLowerCase();
  const roles = [...new Set(o.roles ?? ALL_ROLES)];
  const ownCrypto = o.crypto === undefined ? createCryptoPool() : undefined;
  try {
    const crypto = o.crypto ?? ownCrypto!;
    const ledger = new Ledger(o.store);
    // A keyset's NUT-02 input fee is set by its rotation (`lancash wide-bank keyset rotate
    // --input-fee-ppk`); what a swap keeps is booked in the swap's transaction (docs/wide-bank.md, "Fees").
    const mint = await Mint.open({
      store: o.store,
      unit,
      crypto,
      inputFeePpk: 0,
      onSwapFee: async (trx, operation, fee) => {
        await ledger.postFee(trx, fee, operation);
      },
      ...(o.curve ? { curve: o.curve } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
    });
    const keys = await BankKeys.load(o.store);
    const info: BankInfo = {
      encryptionKey: keys.encryptionKeyHex,
      receiptKey: keys.receiptKeyHex,
      currency,
      unit,
      roles,
    };
    const app = await createServer({
      name: 'wide-bank',
      openapi: { title: 'lancash wide bank', version: VERSION },
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
      ...(o.rateLimit !== undefined ? { rateLimit: o.rateLimit } : {}),
      ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
      ...(o.operational !== undefined ? { operational: o.operational } : {}),
    });
    const value = new Counter({
      name: 'lancash_bank_value_total',
      help: 'Value moved by the wide bank, in minor units, by operation (issue, receive, claim, withdraw)',
      labelNames: ['operation'],
      registers: [app.metrics],
    });

    registerPoolMetrics(app.metrics, o.store);
    // A label to alert on: a production bank must never report backend="fake".
    new Gauge({
      name: 'lancash_lightning_backend',
      help: 'The bolt11 backend this bank serves (1 for the one in use); "fake" mints without payment',
      labelNames: ['backend'],
      registers: [app.metrics],
    }).set({ backend: o.lightning }, 1);
    if (o.lightning === 'fake') app.log.warn(FAKE_LIGHTNING_WARNING);
    // NUT-17 kinds served, known once the routes are in (below).
    let subscriptionKinds: readonly SubscriptionKind[] = [];
    registerMintRoutes(app, { mint, info: () => nut06(unit, o.lightning, subscriptionKinds) });
    if (roles.includes('issue')) {
      const service = new IssueService({
        mint,
        ledger,
        keys,
        onIssued: (amount) => value.inc({ operation: 'issue' }, amount),
      });
      registerIssueRoutes(app, { service });
    }
    if (roles.includes('receive')) {
      const service = new ReceiveService({
        mint,
        ledger,
        keys,
        onReceived: (amount) => value.inc({ operation: 'receive' }, amount),
      });
      registerReceiveRoutes(app, { service });
    }
    app.get(
      BANK_INFO_PATH,
      {
        schema: {
          summary: 'The bank’s encryption key, receipt key, currency and roles',
          response: { 200: BankInfo, '4xx': WireErrorSchema },
        },
      },
      async () => info,
    );
    registerAccountRoutes(app, { service: new AccountsService({ ledger, keys }) });
    registerReserveRoutes(app, { ledger, keys, unit, onCommitted: (k, a) => value.inc({ operation: k }, a) });
    registerRequestLogRoutes(app, { service: new RequestLogService({ ledger, keys }) });
    let selfUrl = '';
    let webGateway = o.webGateway;
    // The web wallet for WAN terminals (docs/web.md), at `/`.
    serveWebPages(app, {
      pages: { '/': 'wallet' },
      config: () => ({
        network: 'wan',
        unit,
        mint: selfUrl,
        mailbox: selfUrl,
        ...(webGateway !== undefined ? { gateway: webGateway } : {}),
      }),
    });
    registerMailboxRoutes(app, {
      store: o.store,
      serverKey: keys.encryption,
      network: 'wan',
      ...(o.mailboxLimits ? { limits: o.mailboxLimits } : {}),
      ...(o.mailboxTrusted ? { trustedDepositors: o.mailboxTrusted } : {}),
    });
    let quotes: ReturnType<typeof quoteSources> | undefined;
    if (o.lightning === 'fake') {
      // NUT-04/05 bolt11: value minted or melted moves between funding and notes outstanding in the
      // same transaction. A melt takes `amount + kept` out of circulation (`kept`: input fees and
      // overpayment without blank outputs, the bank's own), all of it booked to funding.
      const lightning = registerLightningRoutes(app, {
        mint,
        store: o.store,
        unit,
        backend: createFakeLightning(),
        hooks: {
          onMinted: async (trx, e) => {
            await ledger.postMinted(trx, e.amount, `quote:${e.quote}`);
          },
          onMelted: async (trx, e) => {
            await ledger.postMelted(trx, e.amount + e.kept, `quote:${e.quote}`);
          },
        },
      });
      const resumed = await lightning.resumePendingMelts();
      if (resumed.paid + resumed.failed + resumed.pending > 0) app.log.info(resumed, 'melts resumed');
      quotes = quoteSources(lightning);
    }
    // NUT-17 `GET /v1/ws`: live states of notes, and of bolt11 quotes when the bank serves them.
    const subscriptions = await registerSubscriptions(app, {
      mint,
      clientOf,
      ...(quotes !== undefined ? { extra: quotes } : {}),
    });
    subscriptionKinds = subscriptions.kinds;

    return {
      app,
      mint,
      ledger,
      keys,
      info,
      announce: (a) => {
        selfUrl = a.url ?? selfUrl;
        webGateway = a.gateway ?? webGateway;
      },
      close: async () => {
        await ownCrypto?.close();
      },
    };
  } catch (err) {
    await ownCrypto?.close();
    throw err;
  }
}

/** NUT-06 `GET /v1/info`; without a backend, NUT-04/05 are listed as disabled (NUT-06 "disabled"). */
function nut06(
  unit: string,
  lightning: LightningChoice,
  subscriptionKinds: readonly SubscriptionKind[],
): object {
  const description = 'Wide money on the WAN: issue server, receiving server and Cashu mint';
  return {
    name: 'lancash wide bank',
    version: `lancash/${VERSION}`,
    description: lightning === 'fake' ? `${FAKE_LIGHTNING_WARNING}. ${description}` : description,
    nuts: {
      ...(lightning === 'fake' ? lightningNuts({ unit }) : NO_MINT_OR_MELT),
      ...engineNuts(lightning === 'fake' ? LIGHTNING_CACHED : []),
      ...(subscriptionKinds.length > 0 ? { '17': nut17Info(unit, subscriptionKinds) } : {}),
    },
  };
}

/** A currency code as the CLI takes it (2 to 12 letters), upper-cased; shared with the gateway. */
export function checkCurrency(currency: string): string {
  if (typeof currency !== 'string' || !/^[A-Za-z]{2,12}$/.test(currency)) {
    fail(
      'InvalidInput',
      { argument: 'currency', expected: '2 to 12 letters, e.g. EUR', received: String(currency) },
      `currency: expected 2 to 12 letters such as EUR, got ${String(currency)}`,
    );
  }
  return currency.toUpperCase();
}
