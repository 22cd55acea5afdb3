/**
 * `lancash wide-bank` (docs/design.md §9): runs the wide bank's server, and `lancash wide-bank account …`
 * lets an operator open accounts and move money in and out. The account commands act directly on the
 * bank's database (the same `--data` / `--db`), rather than through an admin endpoint: whoever can run
 * them can already read the database, so they add no operator key to guard, and nothing reachable
 * from the network can create money. They print JSON.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe } from '../core/errors.js';
import { parseMoney, unitLabel } from '../core/money-format.js';
import type { BankRole } from '../core/protocol/bank.js';
import type { Store, StoreConfig } from '../store/index.js';
import type { Ledger } from '../wide-bank/ledger/service.js';
import type { LightningChoice, WideBank } from '../wide-bank/server.js';
import { registerKeysetCommands } from './keysets.js';
import { privateDataDir, privateUmask, secretsKeyMaterial } from './private-data.js';
import { httpUrlArg, listenOrRefuse, runCommand, usage, usageOf } from './usage.js';

/**
 * The bank's roles (`ALL_ROLES` of `wide-bank/server.ts`, which a test holds this to), named here so
 * that the help text does not load the bank's server.
 */
export const ROLES: readonly BankRole[] = ['issue', 'receive'];

/** The bolt11 backends (`LightningChoice` of `wide-bank/server.ts`), named here for the same reason. */
export const LIGHTNING_CHOICES: readonly LightningChoice[] = ['fake', 'none'];

interface StoreOptions {
  data?: string;
  db?: string;
}

interface ServerCliOptions extends StoreOptions {
  listen?: string;
  roles: string;
  currency: string;
  lightning?: string;
  mailboxLimits?: string;
  mailboxTrusted?: string;
  secretsKeyFile?: string;
  trustProxy?: string;
  metricsListen?: string;
  webGateway?: string;
}

export function registerWideBank(program: Command): void {
  const cmd = program
    .command('wide-bank')
    .description('run the wide bank: issue server, receiving server and Cashu mint on the WAN')
    .option('--listen <host:port>', 'address to listen on; port 0 picks a free one')
    .option('--data <dir>', 'data directory (SQLite file <dir>/wide-bank.db)')
    .option('--db <url>', 'database URL instead of --data, e.g. postgres://user@host/db')
    .option('--roles <list>', 'comma list of roles to serve', ROLES.join(','))
    .option('--currency <code>', 'currency of the deployment; the Cashu unit is its lower case', 'EUR')
    .option(
      '--lightning <backend>',
      `required: the bolt11 backend, one of ${LIGHTNING_CHOICES.join(', ')} ("fake" mints without payment: demo and tests only; "none": no bolt11 quotes)`,
    )
    .option(
      '--mailbox-limits <json>',
      'WAN mailbox limits, e.g. {"maxTotalBytes":1073741824} (docs/mailbox.md)',
    )
    .option(
      '--mailbox-trusted <list>',
      'comma list of addresses or CIDR blocks (the gateways) whose deposits use the mailbox room kept for deliveries, without depositor quotas',
    )
    .option(
      '--secrets-key-file <file>',
      'key that seals the seed and keys in the database (0600 file, ≥ 32 bytes); or LANCASH_SECRETS_KEY',
    )
    .option(
      '--trust-proxy <list>',
      'comma list of proxy addresses or CIDR blocks whose X-Forwarded-For names the client for rate limits and quotas (default: none; the connection’s address counts)',
    )
    .option(
      '--metrics-listen <host:port>',
      'serve /metrics and /docs/json on this separate (operators’) listener instead of on --listen, e.g. 127.0.0.1:9338',
    )
    .option(
      '--web-gateway <url>',
      'the gateway’s WAN listener that the web wallet at / uses for payments to LAN addresses (docs/web.md)',
    )
    .action((o: ServerCliOptions) => runCommand('wide-bank', () => serve(o)));

  const account = cmd
    .command('account')
    .description('operator: open accounts, deposit, withdraw, show (acts on the database directly)');
  account
    .command('open')
    .description('open the account of a holder key (returns the existing one if already open)')
    .requiredOption('--holder-key <hex>', "the holder's X25519 public key, 64 hex characters")
    .action((o: { holderKey: string }, c: Command) =>
      runCommand('wide-bank', () => withLedger(c, (ledger) => ledger.openAccount(o.holderKey))),
    );
  for (const [name, what] of [
    ['deposit', 'credit money that arrived from outside'],
    ['withdraw', 'debit money paid out (refused when the balance is short)'],
  ] as const) {
    account
      .command(name)
      .description(`${what}; the same --ref posts once`)
      .requiredOption('--account <id>', 'account id or holder key')
      .requiredOption(
        '--amount <amount>',
        'amount in major units, e.g. 12.50 or 12.50 EUR (JSON output: minor units)',
      )
      .option('--currency <code>', "the deployment's currency (default: its mint's unit, else EUR)")
      .option('--ref <ref>', 'operator reference, also the idempotency key (default: a fresh one)')
      .action((o: { account: string; amount: string; ref?: string }, c: Command) =>
        runCommand('wide-bank', () =>
          withLedger(c, async (ledger, store) => {
            // Checked before anything is posted: a mistyped amount or currency changes nothing.
            const currency = await deploymentCurrency(store, givenCurrency(c));
            const amount = usageOf(() => parseMoney(o.amount, currency, { argument: '--amount' }));
            const ref = o.ref ?? randomUUID();
            const posting =
              name === 'deposit'
                ? await ledger.deposit(o.account, amount, ref)
                : await ledger.withdraw(o.account, amount, ref);
            return { ...posting, balance: await ledger.balance(posting.account) };
          }),
        ),
      );
  }
  account
    .command('show')
    .description('one account, or every account with the system accounts')
    .option('--account <id>', 'account id or holder key')
    .action((o: { account?: string }, c: Command) =>
      runCommand('wide-bank', () =>
        withLedger<unknown>(c, (ledger) => (o.account ? ledger.account(o.account) : ledger.accounts())),
      ),
    );
  registerKeysetCommands(cmd, {
    command: 'wide-bank',
    store: async (c) => {
      const o = c.optsWithGlobals<StoreOptions & { secretsKeyFile?: string }>();
      const secretsKey = secretsKeyMaterial(o.secretsKeyFile);
      return { ...(await storeConfig(o, 'existing')), ...(secretsKey ? { secretsKey } : {}) };
    },
  });
}

async function serve(o: ServerCliOptions): Promise<void> {
  if (o.listen === undefined) usage('--listen HOST:PORT is required');
  const roles = o.roles.split(',').map((r) => r.trim());
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r))
      usage(`--roles: unknown role ${describe(r)} (known: ${ROLES.join(', ')})`);
  }
  // Fail closed (issue 8 item 4): no default backend, since the only one that settles is the fake.
  const choices = LIGHTNING_CHOICES.join(', ');
  if (o.lightning === undefined)
    usage(`--lightning BACKEND is required (choices: ${choices}; "fake" mints wide money without payment)`);
  if (!(LIGHTNING_CHOICES as readonly string[]).includes(o.lightning))
    usage(`--lightning: unknown backend ${describe(o.lightning)} (choices: ${choices})`);
  const lightning = o.lightning as LightningChoice;
  const secretsKey = secretsKeyMaterial(o.secretsKeyFile);
  const config: StoreConfig = { ...(await storeConfig(o)), ...(secretsKey ? { secretsKey } : {}) };
  const mailboxLimits =
    o.mailboxLimits === undefined
      ? undefined
      : await import('../mailbox/service.js').then((m) =>
          usageOf(() => m.parseMailboxLimits(o.mailboxLimits!, '--mailbox-limits')),
        );
  // The bank's modules load here, after the arguments are checked: other commands do not pay for them.
  const [
    { faultsArmed },
    { createOperatorServer, drainOnSignals, listen, parseHostPort, parseTrustedProxies },
    { openStore },
    { checkCurrency, createWideBank, FAKE_LIGHTNING_WARNING },
  ] = await Promise.all([
    import('../core/faults.js'),
    import('../core/http/server.js'),
    import('../store/index.js'),
    import('../wide-bank/server.js'),
  ]);
  const trustProxy =
    o.trustProxy === undefined ? undefined : usageOf(() => parseTrustedProxies(o.trustProxy!));
  const mailboxTrusted =
    o.mailboxTrusted === undefined ? undefined : usageOf(() => parseTrustedProxies(o.mailboxTrusted!));
  // Every value checked before the store opens: a malformed one is a usage mistake (exit 2).
  usageOf(() => parseHostPort(o.listen!), '--listen');
  if (o.metricsListen !== undefined) usageOf(() => parseHostPort(o.metricsListen!), '--metrics-listen');
  usageOf(() => checkCurrency(o.currency), '--currency');
  const store = await openStore(config);
  let bank: WideBank;
  try {
    bank = await createWideBank({
      store,
      currency: o.currency,
      roles: roles as BankRole[],
      lightning,
      ...(mailboxLimits !== undefined ? { mailboxLimits } : {}),
      ...(mailboxTrusted !== undefined ? { mailboxTrusted } : {}),
      ...(o.webGateway !== undefined ? { webGateway: httpUrlArg(o.webGateway, '--web-gateway') } : {}),
      ...(trustProxy !== undefined ? { trustProxy } : {}),
      // Operational data (traffic, value moved) on the operators' listener only, when there is one.
      ...(o.metricsListen !== undefined ? { operational: false } : {}),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const ops =
    o.metricsListen === undefined ? undefined : await createOperatorServer(bank.app, 'wide-bank-ops');
  const log = bank.app.log;
  // Besides the log's warning (createWideBank): a plain line that a person starting it by hand sees.
  if (lightning === 'fake')
    process.stderr.write(`WARNING: lancash wide-bank --lightning fake: ${FAKE_LIGHTNING_WARNING}\n`);
  const armed = faultsArmed();
  if (armed.length > 0)
    log.warn({ faults: armed }, 'LANCASH_FAULT is set: this process will kill itself at these points');
  drainOnSignals(ops === undefined ? [bank.app] : [bank.app, ops], async () => {
    await bank.close();
    await store.close();
  });
  const url = await listenOrRefuse({ '--listen': o.listen }, () => listen(bank.app, o.listen!));
  bank.announce({ url });
  const opsUrl =
    ops === undefined
      ? undefined
      : await listenOrRefuse({ '--metrics-listen': o.metricsListen! }, () => listen(ops, o.metricsListen!));
  log.info(
    {
      url,
      roles,
      currency: bank.info.currency,
      lightning,
      dialect: store.dialect,
      sealed: secretsKey !== undefined,
      ...(opsUrl !== undefined ? { metrics: opsUrl } : {}),
    },
    'wide bank listening',
  );
  // The operators' listener second, so the first line stays the bank's URL.
  process.stdout.write(`listening on ${url}\n${opsUrl === undefined ? '' : `listening on ${opsUrl}\n`}`);
}

/** The command's own `--data` / `--db`, or the ones given to `wide-bank` before `account`. */
async function withLedger<T>(c: Command, fn: (ledger: Ledger, store: Store) => Promise<T>): Promise<void> {
  const config = await storeConfig(c.optsWithGlobals<StoreOptions>(), 'existing');
  const [{ openStore }, { Ledger }] = await Promise.all([
    import('../store/index.js'),
    import('../wide-bank/ledger/service.js'),
  ]);
  const store = await openStore(config);
  try {
    process.stdout.write(`${JSON.stringify(await fn(new Ledger(store), store), null, 2)}\n`);
  } finally {
    await store.close();
  }
}

/**
 * The currency an operator's `--amount` is in: the unit of the bank's mint keysets (the server's
 * `--currency`, lower case), so `--amount 1250` cannot credit a JPY bank 100 times too much. A
 * `--currency` that is not the mint's is a usage mistake; before the server has ever run, EUR.
 */
/**
 * `--currency` when the operator typed it: `wide-bank` has one too (with a default, for the server),
 * and commander hands the value to whichever command declares it first.
 */
function givenCurrency(c: Command): string | undefined {
  for (let cmd: Command | null = c; cmd !== null; cmd = cmd.parent) {
    if (cmd.getOptionValueSource('currency') === 'cli') return cmd.getOptionValue('currency') as string;
  }
  return undefined;
}

async function deploymentCurrency(store: Store, given: string | undefined): Promise<string> {
  const { listKeysets } = await import('../mint/repository.js');
  const units = [...new Set((await listKeysets(store.db)).map((k) => k.unit))];
  if (given !== undefined && units.length > 0 && !units.includes(given.toLowerCase())) {
    usage(`--currency ${given}: this wide bank's mint holds ${units.map(unitLabel).join(', ')}`);
  }
  return given ?? units[0] ?? 'EUR';
}

/**
 * The store of `--data` or `--db`. The server makes its database on the first start; the operator's
 * `account` commands want an `existing` one: a mistyped directory must not become a new, empty bank
 * (with a mint seed of its own) that the operator then credits. A PostgreSQL database must exist
 * already (lancash never creates one), so only its tables would be new.
 */
async function storeConfig(o: StoreOptions, want: 'existing' | 'create' = 'create'): Promise<StoreConfig> {
  if ((o.data === undefined) === (o.db === undefined)) usage('give exactly one of --data DIR or --db URL');
  if (want === 'existing' && o.data !== undefined && !existsSync(join(o.data, 'wide-bank.db'))) {
    usage(
      `--data: no wide bank in ${o.data} (there is no wide-bank.db): give the directory the bank runs with (lancash wide-bank --data DIR), or start the bank once first`,
    );
  }
  // Before any file is made: the database holds the mint seed and the bank's keys.
  privateUmask();
  if (o.db !== undefined) {
    const { parseStoreUrl } = await import('../store/index.js');
    const config = usageOf(() => parseStoreUrl(o.db!), '--db');
    if (
      want === 'existing' &&
      config.dialect === 'sqlite' &&
      config.file !== ':memory:' &&
      !existsSync(config.file)
    )
      usage(`--db: no database at ${config.file}`);
    return config;
  }
  privateDataDir(o.data!);
  return { dialect: 'sqlite', file: join(o.data!, 'wide-bank.db') };
}
