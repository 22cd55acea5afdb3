/**
 * `lancash gateway` (docs/design.md §9): runs the gateway between the LAN and the WAN. It prints
 * `listening on URL` for the LAN listener, then for the WAN listener, as its first stdout lines; logs
 * are pino JSON on stderr. The operator token comes from `LANCASH_OPERATOR_TOKEN` or from
 * `DIR/operator.token` (written on first start with `--data DIR`); it is never printed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, isLancashError } from '../core/errors.js';
import type { Gateway } from '../gateway/server.js';
import type { StoreConfig } from '../store/index.js';
import { registerKeysetCommands } from './keysets.js';
import { privateDataDir, privateUmask, secretsKeyMaterial } from './private-data.js';
import { httpUrlArg, listenOrRefuse, runCommand, usage, usageOf } from './usage.js';

interface GatewayCliOptions {
  lan?: string;
  wan?: string;
  wideBank?: string;
  data?: string;
  db?: string;
  currency: string;
  lanUrl?: string;
  retryCapMs: string;
  concurrency: string;
  leaseMs: string;
  callTimeoutMs?: string;
  mailboxLimits?: string;
  inboxAllow?: string[];
  deliveryTimeoutMs: string;
  deliveryDeadlineMs: string;
  deliveryConcurrency: string;
  perInbox: string;
  wanNotesPerClient: string;
  wanBankCallsPerClient: string;
  secretsKeyFile?: string;
  trustProxy?: string;
}

export function registerGateway(program: Command): void {
  const cmd = program
    .command('gateway')
    .description('run the gateway: local mint and LAN → WAN intake on the LAN, WAN → LAN intake on the WAN')
    .option('--lan <host:port>', 'LAN listener; port 0 picks a free one')
    .option('--wan <host:port>', 'WAN listener; port 0 picks a free one')
    .option('--wide-bank <url>', "the wide bank's URL")
    .option('--data <dir>', 'data directory (SQLite file <dir>/gateway.db, operator.token)')
    .option('--db <url>', 'database URL instead of --data, e.g. postgres://user@host/db')
    .option('--currency <code>', 'currency of the deployment (the wide bank’s)', 'EUR')
    .option('--lan-url <url>', 'the local mint’s URL as LAN terminals reach it (default: the LAN listener’s)')
    .option('--retry-cap-ms <ms>', 'longest wait between retries of a job step', '30000')
    .option('--concurrency <n>', 'jobs in a money step (issue, receive, payroll) at once', '16')
    .option(
      '--lease-ms <ms>',
      'PostgreSQL (several gateway processes on one database): how long a job stays with a process that stopped renewing its lease',
      '5000',
    )
    .option('--call-timeout-ms <ms>', 'per call to the wide bank (default 10000)')
    .option(
      '--inbox-allow <url>',
      'an inbox base URL (scheme://host:port[/path]) payments and notices may be delivered to, besides this gateway’s LAN mailbox and the wide bank’s; repeat for more (default: none)',
      (url: string, all: string[] | undefined) => [...(all ?? []), url],
    )
    .option('--delivery-timeout-ms <ms>', 'per delivery call to an inbox', '5000')
    .option(
      '--delivery-deadline-ms <ms>',
      'a payment or notice not delivered within this long is parked for the operator (GET /v1/gateway/operator/parked)',
      String(6 * 3600_000),
    )
    .option('--delivery-concurrency <n>', 'deliveries (payments, notices) at once', '32')
    .option('--per-inbox <n>', 'deliveries to one inbox or mailbox at once', '8')
    .option(
      '--wan-notes-per-client <n>',
      'notes one WAN client (IP) may have in job-2 intake at once',
      '2000',
    )
    .option(
      '--wan-bank-calls-per-client <n>',
      'bank calls per second one WAN client’s intakes may cause (bursts of twice that)',
      '100',
    )
    .option(
      '--mailbox-limits <json>',
      'LAN mailbox limits, e.g. {"maxTotalBytes":1073741824} (docs/mailbox.md)',
    )
    .option(
      '--secrets-key-file <file>',
      'key that seals the mint seed and the gateway key in the database (0600 file, ≥ 32 bytes); or LANCASH_SECRETS_KEY',
    )
    .option(
      '--trust-proxy <list>',
      'comma list of proxy addresses or CIDR blocks whose X-Forwarded-For names the client for rate limits and quotas (default: none; the connection’s address counts)',
    )
    .action((o: GatewayCliOptions) => runCommand('gateway', () => serve(o)));
  cmd
    .command('reconcile')
    .description(
      'after the gateway refused to start (74003): rebuild the jobs the wide bank answered and the journal lost, from the bank’s records; give the gateway’s --data/--db and --wide-bank',
    )
    .option('--data <dir>', 'the gateway’s data directory (SQLite file <dir>/gateway.db)')
    .option('--db <url>', 'the gateway’s database URL instead of --data')
    .option('--wide-bank <url>', "the wide bank's URL")
    .option('--currency <code>', 'currency of the deployment (the wide bank’s)', 'EUR')
    .action((_o: unknown, c: Command) =>
      runCommand('gateway reconcile', () => reconcileJournal(c.optsWithGlobals<GatewayCliOptions>())),
    );
  registerKeysetCommands(cmd, {
    command: 'gateway',
    store: async (c) => existingStore(c.optsWithGlobals<GatewayCliOptions>()),
  });
}

/**
 * The gateway's database for an operator's command, which must exist: a mistyped directory must not
 * become a fresh gateway (a new key, a new account at the bank, a new local mint).
 */
async function existingStore(o: GatewayCliOptions): Promise<StoreConfig> {
  if ((o.data === undefined) === (o.db === undefined)) usage('give exactly one of --data DIR or --db URL');
  if (o.data !== undefined && !existsSync(join(o.data, 'gateway.db'))) {
    usage(`--data: no gateway database at ${join(o.data, 'gateway.db')}`);
  }
  const secretsKey = secretsKeyMaterial(o.secretsKeyFile);
  const { parseStoreUrl } = await import('../store/index.js');
  const given: StoreConfig =
    o.db !== undefined
      ? usageOf(() => parseStoreUrl(o.db!), '--db')
      : { dialect: 'sqlite', file: join(o.data!, 'gateway.db') };
  if (
    o.db !== undefined &&
    given.dialect === 'sqlite' &&
    given.file !== ':memory:' &&
    !existsSync(given.file)
  )
    usage(`--db: no gateway database at ${given.file}`);
  // The journal holds blinding factors: a WAL file SQLite makes beside it is its user's only too.
  privateUmask();
  return { ...given, ...(secretsKey !== undefined ? { secretsKey } : {}) };
}

/**
 * `lancash gateway reconcile` (docs/gateway.md, "Reconciling with the bank"): with the gateway stopped,
 * rebuilds every job of the bank's request log that the journal lacks, then runs the start-up check;
 * prints what it rebuilt as JSON. The gateway, started again, finishes the rebuilt jobs.
 */
async function reconcileJournal(o: GatewayCliOptions): Promise<void> {
  if (o.wideBank === undefined) usage('--wide-bank URL is required');
  httpUrlArg(o.wideBank, '--wide-bank');
  const config = await existingStore(o);
  const [
    { defaultCurve },
    { GatewayKeys },
    { checkAgainstBank, reconcile },
    { WideBankClient },
    { Mint },
    { inThreadCrypto },
    { openStore },
  ] = await Promise.all([
    import('../core/crypto/index.js'),
    import('../gateway/keys.js'),
    import('../gateway/reconcile/service.js'),
    import('../gateway/wide-bank.js'),
    import('../mint/mint.js'),
    import('../mint/crypto.js'),
    import('../store/index.js'),
  ]);
  const store = await openStore(config);
  let journalLock: { release(): void } | undefined;
  try {
    // The repair writes the journal: never beside a running gateway on the same SQLite file.
    journalLock = await holdJournal(config);
    const curve = defaultCurve();
    const keys = await GatewayKeys.load(store);
    const unit = o.currency.toLowerCase();
    const mint = await Mint.open({ store, unit, crypto: inThreadCrypto(curve), curve, inputFeePpk: 0 });
    const bank = await WideBankClient.connect({
      base: o.wideBank!,
      holder: keys.encryption,
      curve,
      currency: o.currency,
    });
    const rebuilt = await reconcile({ store, bank, keys, mint });
    const check = await checkAgainstBank({ store, bank });
    process.stdout.write(`${JSON.stringify({ rebuilt, check }, null, 2)}\n`);
    process.stderr.write(
      `lancash gateway reconcile: ${rebuilt.length} job(s) rebuilt; start the gateway to finish them, then run lancash audit\n`,
    );
  } finally {
    await store.close();
    journalLock?.release();
  }
}

/**
 * SQLite: holds the journal's lock for this process (a second process on the file is refused, 74016);
 * PostgreSQL: nothing to hold, processes share the journal under job leases.
 */
async function holdJournal(config: StoreConfig): Promise<{ release(): void } | undefined> {
  if (config.dialect !== 'sqlite' || config.file === ':memory:') return undefined;
  const { holdSqliteJournal } = await import('../gateway/jobs/lease.js');
  return holdSqliteJournal(config.file);
}

async function serve(o: GatewayCliOptions): Promise<void> {
  if (o.lan === undefined || o.wan === undefined) usage('--lan HOST:PORT and --wan HOST:PORT are required');
  if (o.wideBank === undefined) usage('--wide-bank URL is required');
  httpUrlArg(o.wideBank, '--wide-bank');
  if ((o.data === undefined) === (o.db === undefined)) usage('give exactly one of --data DIR or --db URL');
  const retryCapMs = positive(o.retryCapMs, '--retry-cap-ms');
  const concurrency = positive(o.concurrency, '--concurrency');
  const leaseMs = positive(o.leaseMs, '--lease-ms');
  const callTimeoutMs =
    o.callTimeoutMs === undefined ? undefined : positive(o.callTimeoutMs, '--call-timeout-ms');
  const secretsKey = secretsKeyMaterial(o.secretsKeyFile);
  // Before any file is made: the database holds the mint seed, the gateway key and blinding factors.
  privateUmask();
  if (o.data !== undefined) privateDataDir(o.data);
  const delivery = {
    deliveryTimeoutMs: positive(o.deliveryTimeoutMs, '--delivery-timeout-ms'),
    deliveryDeadlineMs: positive(o.deliveryDeadlineMs, '--delivery-deadline-ms'),
  };
  const deliveryConcurrency = positive(o.deliveryConcurrency, '--delivery-concurrency');
  const perDestination = positive(o.perInbox, '--per-inbox');
  const bankCalls = positive(o.wanBankCallsPerClient, '--wan-bank-calls-per-client');
  const intakeLimits = {
    notesPerClient: positive(o.wanNotesPerClient, '--wan-notes-per-client'),
    bankCallsPerClient: { burst: 2 * bankCalls, perSecond: bankCalls },
  };
  const { parseInboxBase } = await import('../gateway/delivery.js');
  const inboxAllow = (o.inboxAllow ?? []).map((url) => {
    try {
      return parseInboxBase(url);
    } catch (e) {
      return usage(e instanceof Error ? e.message : String(e));
    }
  });
  // The gateway's modules load here, after the arguments are checked: other commands do not pay for them.
  const [
    { faultsArmed },
    { drainOnSignals, parseHostPort, parseTrustedProxies },
    { exponentialBackoff },
    { loadOperatorToken },
    { createGateway },
    { openStore, parseStoreUrl },
    { setHttpTransport },
    { undiciTransport },
    { checkCurrency },
  ] = await Promise.all([
    import('../core/faults.js'),
    import('../core/http/server.js'),
    import('../gateway/jobs/runner.js'),
    import('../gateway/operator.js'),
    import('../gateway/server.js'),
    import('../store/index.js'),
    import('../core/http/client.js'),
    import('../core/http/node-transport.js'),
    import('../wide-bank/server.js'), // the currency's rule; gateway/server.js loads it anyway
  ]);
  usageOf(() => checkCurrency(o.currency), '--currency');
  const mailboxLimits =
    o.mailboxLimits === undefined
      ? undefined
      : await import('../mailbox/service.js').then((m) =>
          usageOf(() => m.parseMailboxLimits(o.mailboxLimits!, '--mailbox-limits')),
        );
  const trustProxy =
    o.trustProxy === undefined ? undefined : usageOf(() => parseTrustedProxies(o.trustProxy!));
  // Checked before the store opens: a malformed address is a usage mistake (exit 2).
  usageOf(() => parseHostPort(o.lan!), '--lan');
  usageOf(() => parseHostPort(o.wan!), '--wan');
  // The gateway calls the bank and inboxes all day: undici's request costs a third of fetch's CPU.
  setHttpTransport(undiciTransport);
  let config: StoreConfig;
  if (o.db !== undefined) {
    config = usageOf(() => parseStoreUrl(o.db!), '--db');
  } else {
    config = { dialect: 'sqlite', file: join(o.data!, 'gateway.db') };
  }
  if (secretsKey !== undefined) config = { ...config, secretsKey };
  const operatorToken = loadOperatorToken({ env: process.env.LANCASH_OPERATOR_TOKEN, dataDir: o.data });
  const store = await openStore(config);
  let gateway: Gateway;
  let journalLock: { release(): void } | undefined;
  try {
    // A SQLite journal is one process's (docs/gateway.md, "Running several gateway processes").
    journalLock = await holdJournal(config);
    gateway = await createGateway({
      store,
      currency: o.currency,
      wideBank: o.wideBank,
      ...(operatorToken !== undefined ? { operatorToken } : {}),
      ...(o.lanUrl !== undefined ? { localMintUrl: o.lanUrl } : {}),
      ...(callTimeoutMs !== undefined ? { callTimeoutMs } : {}),
      ...(mailboxLimits !== undefined ? { mailboxLimits } : {}),
      ...(trustProxy !== undefined ? { trustProxy } : {}),
      inboxAllow,
      intakeLimits,
      ...delivery,
      runner: {
        concurrency,
        deliveryConcurrency,
        perDestination,
        leaseMs,
        backoff: exponentialBackoff({ capMs: retryCapMs }),
      },
    });
  } catch (err) {
    await store.close();
    journalLock?.release();
    if (
      isLancashError(err, 'JournalBehindBank') ||
      isLancashError(err, 'BankBehindJournal') ||
      isLancashError(err, 'GatewayRunning')
    ) {
      process.stderr.write(`lancash gateway: refusing to start (${err.code}): ${err.message}\n`);
    }
    throw err;
  }
  const log = gateway.lan.log;
  if (operatorToken === undefined)
    log.warn('no operator token (LANCASH_OPERATOR_TOKEN or --data): operator routes refuse everyone');
  const armed = faultsArmed();
  if (armed.length > 0)
    log.warn({ faults: armed }, 'LANCASH_FAULT is set: this process will kill itself at these points');
  drainOnSignals([gateway.lan, gateway.wan], async () => {
    await gateway.close();
    await store.close();
    journalLock?.release();
  });
  const urls = await listenOrRefuse({ '--lan': o.lan!, '--wan': o.wan! }, () =>
    gateway.listen(o.lan!, o.wan!),
  );
  log.info(
    {
      ...urls,
      wideBank: gateway.bank.base,
      key: gateway.keys.publicKeyHex,
      dialect: store.dialect,
      sealed: secretsKey !== undefined,
      inboxAllow,
    },
    'gateway listening',
  );
  process.stdout.write(`listening on ${urls.lan}\nlistening on ${urls.wan}\n`);
  // After the lines are out: a job resumed at once may stop the process at a test's fault point.
  await gateway.start();
}

function positive(value: string, argument: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value))
    usage(`${argument}: expected a positive whole number, got ${describe(value)}`);
  return Number(value);
}
