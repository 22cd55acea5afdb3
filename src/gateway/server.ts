/**
 * Assembles a running gateway (docs/design.md §1, §5) from options: the local mint on the gateway's database
 * (worker crypto pool), its X25519 keys, the wide bank (reserve account opened at start-up), the job
 * service and its runner, and two listeners:
 *   - LAN: the local mint's Cashu endpoints, job-1 intake, the LAN mailbox, transfer status, the
 *     gateway's info (with the local mint's URL) and the operator's routes (history, payroll, payout);
 *   - WAN: job-2 intake, the gateway's info (no local mint), WAN → LAN transfer status. Nothing else:
 *     local money is never reachable from the WAN.
 * The CLI (`src/cli/gateway.ts`) and the tests start it the same way.
 */

import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { Curve } from '../core/crypto/curve.js';
import { defaultCurve } from '../core/crypto/index.js';
import { fail } from '../core/errors.js';
import { clientOf } from '../core/http/client-key.js';
import {
  createServer,
  type LancashServer,
  listen,
  type ServerOptions,
  WireErrorSchema,
} from '../core/http/server.js';
import { serveWebPages } from '../core/http/web.js';
import { sharedRead } from '../core/metrics.js';
import { bankPeer } from '../core/protocol/bank.js';
import { GATEWAY_INFO_PATH, GatewayInfo } from '../core/protocol/gateway.js';
import { registerMailboxRoutes } from '../mailbox/http.js';
import type { Mailbox, MailboxLimits } from '../mailbox/service.js';
import type { MintCrypto } from '../mint/crypto.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import { GroupCommit } from '../mint/group-commit.js';
import { registerMintRoutes } from '../mint/http.js';
import { Mint, type MintLimits } from '../mint/mint.js';
import { engineNuts, NO_MINT_OR_MELT } from '../mint/nuts.js';
import { nut17Info, registerSubscriptions } from '../mint/ws.js';
import type { Store } from '../store/index.js';
import { registerPoolMetrics } from '../store/metrics.js';
import { checkCurrency, VERSION } from '../wide-bank/server.js';
import { registerConsoleRoutes } from './console/http.js';
import { jobCounts } from './console/repository.js';
import { ConsoleService } from './console/service.js';
import { createDeliverer } from './delivery.js';
import { GatewayEvents, publishingMoves } from './events.js';
import { JournalFollower } from './jobs/follow.js';
import { registerLanJobRoutes, registerWanJobRoutes } from './jobs/http.js';
import { IntakeLimits, type IntakeLimitsOptions } from './jobs/intake-limits.js';
import { DEFAULT_LEASE_MS, leaseOwnerName } from './jobs/lease.js';
import type { Job } from './jobs/model.js';
import { DEFAULT_PRUNE_AFTER_MS, DEFAULT_PRUNE_EVERY_MS, startPruning } from './jobs/prune.js';
import * as jobsRepo from './jobs/repository.js';
import { type Backoff, JobRunner } from './jobs/runner.js';
import { JobService } from './jobs/service.js';
import type { Commit } from './jobs/steps.js';
import { GatewayKeys } from './keys.js';
import { registerOperatorEvents, registerTransferEvents } from './live.js';
import { operatorGuard } from './operator.js';
import { registerPayrollRoutes } from './payroll/http.js';
import { operatorJobsFirst, PayrollService, type ReservePort, reserveClient } from './payroll/service.js';
import { checkAtStart, watchBank } from './reconcile/service.js';
import { WideBankClient, type WideBankPort } from './wide-bank.js';

export interface GatewayOptions {
  store: Store;
  /** One currency per deployment, e.g. `EUR`; must be the wide bank's. The Cashu unit is its lower case. */
  currency: string;
  /** The wide bank's URL, or (tests) a `WideBankPort` to use instead. */
  wideBank: string | WideBankPort;
  /** Tests: wraps the reserve requests of payroll and payout (e.g. to lose an answer). */
  reserve?: (real: ReservePort) => ReservePort;
  /** Guards the operator routes; without one they refuse everyone. */
  operatorToken?: string;
  /** The local mint's URL as LAN terminals reach it; default the LAN listener's bound URL. */
  localMintUrl?: string;
  /** Default: the worker pool on every core (closed by `close`). */
  crypto?: MintCrypto;
  curve?: Curve;
  limits?: Partial<MintLimits>;
  mailboxLimits?: Partial<MailboxLimits>;
  logger?: Logger | false;
  rateLimit?: ServerOptions['rateLimit'];
  /** Proxies in front of both listeners whose `X-Forwarded-For` is believed (`--trust-proxy`). */
  trustProxy?: readonly string[];
  /** Per call to the wide bank (and per delivery to its mailbox); default the client's 10 s. */
  callTimeoutMs?: number;
  /**
   * Inbox URLs (base URLs: scheme, host, port, optional path) deliveries may go to besides the built-in
   * mailboxes (this gateway's LAN listener, the wide bank); default none. An address naming any other
   * inbox is refused at intake (`InboxNotAllowed`, docs/gateway.md "Deliveries").
   */
  inboxAllow?: readonly string[];
  /** Per delivery call to an inbox URL; default 5 s. */
  deliveryTimeoutMs?: number;
  /** A payment or notice not delivered within this long is parked for the operator; default 6 h. */
  deliveryDeadlineMs?: number;
  /**
   * `concurrency`: jobs in a money step at once (default 16); `deliveryConcurrency`: deliveries at once
   * (default 32); `perDestination`: deliveries to one inbox or mailbox at once (default 8).
   */
  runner?: {
    concurrency?: number;
    deliveryConcurrency?: number;
    perDestination?: number;
    backoff?: Backoff;
    pollMs?: number;
    /**
     * How long a job's lease holds unless renewed (PostgreSQL, where several processes may share the
     * journal; renewed every third of it): a killed process's jobs are taken over after this; default 5 s.
     */
    leaseMs?: number;
  };
  maxNoticeAttempts?: number;
  /** How often the running gateway checks its journal against the bank's request log; default 60 s. */
  reconcileEveryMs?: number;
  /**
   * Pruning of finished jobs' bulk (jobs/prune.ts): after `afterMs` (default 7 days), a round every
   * `everyMs` (default 1 h); `false`: never.
   */
  pruning?: { afterMs?: number; everyMs?: number } | false;
  /** Per-client bounds of job-2 intakes on the WAN (docs/gateway.md "Intake bounds"); default `DEFAULT_INTAKE_LIMITS`. */
  intakeLimits?: Partial<IntakeLimitsOptions>;
  /** The reserve series (operator console): sampling period, default 60 s; least gap after finished jobs, default 1 s. */
  series?: { everyMs?: number; coalesceMs?: number };
  clock?: () => number;
}

export interface Gateway {
  lan: LancashServer;
  wan: LancashServer;
  mint: Mint;
  keys: GatewayKeys;
  bank: WideBankPort;
  mailbox: Mailbox;
  jobs: JobService;
  /** The operator's payroll and payout jobs. */
  payroll: PayrollService;
  /** The operator console's API: summary, reserve series, jobs, audit, keysets. */
  console: ConsoleService;
  runner: JobRunner;
  /** Job state changes and reserve points, for the live routes (docs/web.md, "Live updates"). */
  events: GatewayEvents;
  /** What `GET /v1/gateway/info` answers on each listener. */
  info(listener: 'lan' | 'wan'): GatewayInfo;
  /** Binds the LAN listener, then the WAN listener; returns both URLs. */
  listen(lan: string, wan: string): Promise<{ lan: string; wan: string }>;
  /** Starts the runner, resuming every unfinished job; returns how many were resumed. */
  start(): Promise<number>;
  /** Stops the runner and closes what the gateway opened itself (the crypto pool); the caller closes the apps and the store. */
  close(): Promise<void>;
}

export async function createGateway(o: GatewayOptions): Promise<Gateway> {
  const currency = checkCurrency(o.currency);
  const unit = currency.toLowerCase();
  const curve = o.curve ?? defaultCurve();
  const ownCrypto = o.crypto === undefined ? createCryptoPool() : undefined;
  const apps: LancashServer[] = [];
  try {
    const common = {
      openapi: { title: 'lancash gateway', version: VERSION },
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
      ...(o.rateLimit !== undefined ? { rateLimit: o.rateLimit } : {}),
      ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
    };
    const lan = await createServer({ name: 'gateway-lan', ...common });
    apps.push(lan);
    // Operational data stays on the LAN: the WAN listener counts its requests in the LAN's /metrics.
    const wan = await createServer({
      name: 'gateway-wan',
      ...common,
      operational: false,
      metrics: lan.metrics,
    });
    apps.push(wan);

    // A keyset's input fee is set by its rotation; conversions take it from the sender's notes and the
    // audit counts the local fees from the mint's rows (docs/gateway.md, "Fees").
    const mint = await Mint.open({
      store: o.store,
      unit,
      crypto: o.crypto ?? ownCrypto!,
      curve,
      inputFeePpk: 0,
      ...(o.limits ? { limits: o.limits } : {}),
    });
    const keys = await GatewayKeys.load(o.store);
    const bank =
      typeof o.wideBank === 'string'
        ? await WideBankClient.connect({
            base: o.wideBank,
            holder: keys.encryption,
            curve,
            currency,
            log: lan.log,
            ...(o.callTimeoutMs !== undefined ? { timeoutMs: o.callTimeoutMs } : {}),
            ...(o.clock ? { clock: o.clock } : {}),
          })
        : o.wideBank;
    if (bank.info.currency !== currency) {
      fail(
        'InvalidInput',
        { argument: 'wideBank', expected: `a bank in ${currency}`, received: bank.info.currency },
        `the wide bank keeps ${bank.info.currency}, this gateway ${currency}`,
      );
    }
    // Before anything can move money: the journal must not be behind the bank's record of the reserve
    // account, nor the bank behind the journal (74003 / 74004; docs/gateway.md, "Reconciling with the bank").
    const checked = await checkAtStart({ store: o.store, bank, log: lan.log });
    lan.log.info(checked, 'journal in step with the wide bank');

    let localMintUrl = o.localMintUrl ?? '';
    const info = (listener: 'lan' | 'wan'): GatewayInfo => ({
      encryptionKey: keys.publicKeyHex,
      currency,
      unit,
      wideBank: bank.base,
      ...(listener === 'lan' && localMintUrl !== '' ? { localMint: localMintUrl } : {}),
    });

    registerMintRoutes(lan, { mint, info: () => nut06(unit) });
    // NUT-17 `GET /v1/ws`: live states of local notes (the local mint has no bolt11 quotes).
    await registerSubscriptions(lan, { mint, clientOf });
    // Steps of different jobs, and the LAN mailbox's deposits and drains, that are ready together
    // commit together: one sync of the log for many, each write still refused alone (`GroupCommit`).
    const commits = new GroupCommit(o.store);
    const commit: Commit = (write, options) => commits.run(write, options);
    const mailbox = registerMailboxRoutes(lan, {
      store: o.store,
      commit,
      serverKey: keys.encryption,
      network: 'lan',
      ...(o.mailboxLimits ? { limits: o.mailboxLimits } : {}),
    });
    let lanUrl = '';
    const deliverer = createDeliverer({
      wan: (address, envelope) => bank.deposit(address, envelope),
      lan: mailbox,
      builtIn: () => ({ lan: [lanUrl, localMintUrl].filter((u) => u !== ''), wan: [bank.base] }),
      ...(o.inboxAllow !== undefined ? { allow: o.inboxAllow } : {}),
      ...(o.deliveryTimeoutMs !== undefined ? { timeoutMs: o.deliveryTimeoutMs } : {}),
    });

    const finished = new Counter({
      name: 'lancash_gateway_jobs_finished_total',
      help: 'Conversion jobs that reached a terminal state, by direction and state (done, refused)',
      labelNames: ['direction', 'state'],
      registers: [lan.metrics],
    });
    const converted = new Counter({
      name: 'lancash_gateway_value_total',
      help: 'Value converted by finished jobs, in minor units, by direction',
      labelNames: ['direction'],
      registers: [lan.metrics],
    });
    // Read from the journal: one read in flight each however many scrape, a scrape waiting 2 s at
    // most; a read that fails leaves the gauge out of that answer (`lancash_metrics_stale`), never a
    // 500 (core/metrics.ts).
    // Per state over every kind, read as the console's summary reads it (the finished jobs from the
    // running totals): a scrape stays flat at 10⁶ finished jobs, where a count of the rows scanned them.
    const jobsByState = sharedRead(async () => {
      const n = new Map<string, number>();
      for (const c of await jobCounts(o.store.db)) n.set(c.state, (n.get(c.state) ?? 0) + c.count);
      return [...n].map(([state, count]) => ({ state, n: count }));
    });
    new Gauge({
      name: 'lancash_gateway_jobs',
      help: 'Conversion jobs in the journal, by state',
      labelNames: ['state'],
      registers: [lan.metrics],
      async collect() {
        const counts = await jobsByState();
        this.reset();
        for (const { state, n } of counts) this.set({ state }, n);
      },
    });

    registerPoolMetrics(lan.metrics, o.store);
    const parkedJobs = sharedRead(() => jobsRepo.countParked(o.store.db));
    new Gauge({
      name: 'lancash_gateway_jobs_parked',
      help: 'Jobs whose payment or notice delivery is parked for the operator (GET /v1/gateway/operator/parked)',
      registers: [lan.metrics],
      async collect() {
        this.set(await parkedJobs());
      },
    });

    const dleqChecks = new Counter({
      name: 'lancash_gateway_intake_dleq_checks_total',
      help: 'Notes whose NUT-12 DLEQ proof job 2 intakes checked (in the crypto workers)',
      registers: [lan.metrics],
    });
    const limited = new Counter({
      name: 'lancash_gateway_intake_limited_total',
      help: 'Job 2 intakes refused 429 by a per-client or total bound, by bound',
      labelNames: ['bound'],
      registers: [lan.metrics],
    });
    const intakeLimits = new IntakeLimits({
      ...o.intakeLimits,
      onLimited: (bound) => limited.inc({ bound }),
      ...(o.clock ? { clock: o.clock } : {}),
    });

    let runner: JobRunner | undefined;
    const events = new GatewayEvents();
    const onIntake = (job: Job, leased?: boolean) => {
      events.job(job);
      runner?.offer(job, leased);
    };
    let consoleService: ConsoleService | undefined;
    const onFinished = (job: { direction: 'lan-to-wan' | 'wan-to-lan'; state: string; amount: number }) => {
      finished.inc({ direction: job.direction, state: job.state });
      if (job.state === 'done') converted.inc({ direction: job.direction }, job.amount);
      // The reserve chart moves right after a conversion or payroll (one sample per second at most).
      consoleService?.jobFinished();
    };
    // On PostgreSQL several gateway processes may share the journal: each job runs under a lease
    // (docs/gateway.md, "Running several gateway processes"). SQLite is one process per file.
    const { leaseMs, ...runnerOptions } = o.runner ?? {};
    const lease =
      o.store.dialect === 'postgres'
        ? { owner: leaseOwnerName(), ttlMs: leaseMs ?? DEFAULT_LEASE_MS }
        : undefined;
    const leaseOwner = lease !== undefined ? { leaseOwner: lease.owner } : {};
    // A conversion's intake writes its job held by this process: the runner is offered it leased.
    const intakeLease = lease !== undefined ? { leaseMs: lease.ttlMs } : {};
    const jobs = new JobService({
      store: o.store,
      commit,
      mint,
      curve,
      keys,
      bank,
      deliverer,
      crypto: o.crypto ?? ownCrypto!,
      intakeLimits,
      onDleqChecks: (notes) => dleqChecks.inc(notes),
      localMintUrl: () => localMintUrl,
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.maxNoticeAttempts !== undefined ? { maxNoticeAttempts: o.maxNoticeAttempts } : {}),
      ...(o.deliveryDeadlineMs !== undefined ? { deliveryDeadlineMs: o.deliveryDeadlineMs } : {}),
      onIntake,
      onUnparked: (job) => runner?.offer(job),
      onFinished,
      ...leaseOwner,
      ...intakeLease,
    });
    const reserve = reserveClient({
      bank: {
        ...bankPeer(bank.base, bank.info),
        ...(o.callTimeoutMs !== undefined ? { timeoutMs: o.callTimeoutMs } : {}),
      },
      holder: keys.encryption,
    });
    const payroll = new PayrollService({
      store: o.store,
      commit,
      mint,
      curve,
      crypto: o.crypto ?? ownCrypto!,
      keys,
      unit,
      reserve: o.reserve ? o.reserve(reserve) : reserve,
      admit: (address) => deliverer.admit(address),
      deliverer,
      localMintUrl: () => localMintUrl,
      ...(o.clock ? { clock: o.clock } : {}),
      onIntake,
      onFinished,
      ...leaseOwner,
    });
    runner = new JobRunner({
      jobs: publishingMoves(operatorJobsFirst(payroll, jobs), events),
      store: o.store,
      log: lan.log,
      routeOf: (address) => deliverer.routeOf(address),
      ...runnerOptions,
      ...(lease !== undefined ? { lease } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
    });

    consoleService = new ConsoleService({
      store: o.store,
      unit,
      mint,
      bank: { balance: () => reserve.balance(), requests: (after, limit) => bank.requests(after, limit) },
      ...(o.series?.everyMs !== undefined ? { everyMs: o.series.everyMs } : {}),
      ...(o.series?.coalesceMs !== undefined ? { coalesceMs: o.series.coalesceMs } : {}),
      onPoint: (point) => events.reserve(point),
      onError: (e) => lan.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'reserve series'),
      ...(o.clock ? { clock: o.clock } : {}),
    });
    const theConsole = consoleService;

    const guard = operatorGuard(o.operatorToken);
    // The web wallet for LAN terminals at `/`, the operator console at `/operator` (docs/web.md); LAN only.
    serveWebPages(lan, {
      pages: { '/': 'wallet', '/operator': 'operator' },
      config: () => ({ network: 'lan', unit, mint: localMintUrl, mailbox: lanUrl, gateway: lanUrl }),
    });
    registerLanJobRoutes(lan, { jobs, guard });
    registerPayrollRoutes(lan, { payroll, guard });
    registerConsoleRoutes(lan, { console: theConsole, guard });
    registerWanJobRoutes(wan, { jobs });
    // Live updates (docs/web.md): the status routes' visibility, the operator's token.
    registerTransferEvents(lan, { jobs, events });
    registerTransferEvents(wan, { jobs, events, only: { direction: 'wan-to-lan', kind: 'transfer' } });
    registerOperatorEvents(lan, { events, guard });
    for (const [app, listener] of [
      [lan, 'lan'],
      [wan, 'wan'],
    ] as const) {
      app.get(
        GATEWAY_INFO_PATH,
        {
          schema: {
            summary: 'The gateway’s encryption key, currency, wide bank (and local mint on the LAN)',
            response: { 200: GatewayInfo, '4xx': WireErrorSchema },
          },
        },
        async () => info(listener),
      );
    }

    const theRunner = runner;
    let watch: { stop(): void } | undefined;
    let pruner: { stop(): Promise<void> } | undefined;
    // Several processes: the live routes also show the job changes the other processes make.
    const follower =
      lease !== undefined
        ? new JournalFollower({ store: o.store, events, leaseOwner: lease.owner, log: lan.log })
        : undefined;
    return {
      lan,
      wan,
      mint,
      keys,
      bank,
      mailbox,
      jobs,
      payroll,
      console: theConsole,
      runner: theRunner,
      events,
      info,
      listen: async (lanAt, wanAt) => {
        lanUrl = await listen(lan, lanAt);
        if (localMintUrl === '') localMintUrl = lanUrl;
        const wanUrl = await listen(wan, wanAt);
        return { lan: lanUrl, wan: wanUrl };
      },
      start: async () => {
        const resumed = await theRunner.start();
        if (resumed > 0) lan.log.info({ resumed }, 'jobs resumed');
        theConsole.start();
        follower?.start();
        watch ??= watchBank({
          store: o.store,
          bank,
          everyMs: o.reconcileEveryMs ?? 60_000,
          log: lan.log,
          onBehind: async (e) => {
            lan.log.error(
              { err: e.message },
              'journal and wide bank disagree: the runner stops (no more bank calls)',
            );
            await theRunner.stop();
          },
        });
        if (o.pruning !== false) {
          pruner ??= startPruning({
            store: o.store,
            afterMs: o.pruning?.afterMs ?? DEFAULT_PRUNE_AFTER_MS,
            everyMs: o.pruning?.everyMs ?? DEFAULT_PRUNE_EVERY_MS,
            clock: o.clock ?? Date.now,
            log: lan.log,
          });
        }
        return resumed;
      },
      close: async () => {
        watch?.stop();
        await pruner?.stop();
        await follower?.stop();
        await theConsole.stop();
        await theRunner.stop();
        await ownCrypto?.close();
      },
    };
  } catch (err) {
    await Promise.all(apps.map((a) => a.close()));
    await ownCrypto?.close();
    throw err;
  }
}

/** NUT-06 `GET /v1/info` of the local mint. */
function nut06(unit: string): object {
  return {
    name: 'lancash local mint',
    version: `lancash/${VERSION}`,
    description: `Local money on this LAN, 1:1 with wide ${unit}; convert at /v1/gateway/lan-to-wan`,
    // No NUT-06 `pubkey`: wallets read it as a secp256k1 key, and the gateway's key is X25519
    // (served as `encryptionKey` by /v1/gateway/info).
    nuts: {
      // NUT-06: no minting or melting here (local money comes from conversions): listed as disabled.
      ...NO_MINT_OR_MELT,
      ...engineNuts(),
      '17': nut17Info(unit, ['proof_state']),
    },
  };
}
