/**
 * `lancash wallet --home DIR …` (docs/design.md §9): a terminal on the LAN or the WAN from the command line.
 * Human output by default, one JSON document with `--json`. People type and read amounts in major
 * units with the currency's decimals (`--amount 12.50`, `12.50 EUR`); `--json` keeps integer minor
 * units, as on the wire. Errors are one line on stderr: exit 1
 * for a refusal (nothing changed), 2 for a usage mistake. Every command but `init`, `address` and
 * `restore` first settles what an earlier run left open (`recover`), so a run killed at any point is
 * finished by the next one.
 */
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { decodeAddress } from '../core/address/index.js';
import { fail, isLancashError } from '../core/errors.js';
import type { Amount } from '../core/money.js';
import { formatMajor, formatMoney, parseMoney, unitLabel } from '../core/money-format.js';
import type { TransferStatus } from '../core/protocol/gateway.js';
import type { Operation, SendProgress, Wallet, WalletOptions } from '../wallet/index.js';
import type { SqliteWalletStore } from '../wallet/node/sqlite-store.js';
import { httpUrlArg, UsageError, usage, usageOf } from './usage.js';

interface GlobalOptions {
  home?: string;
  json?: boolean;
}

interface InitOptions {
  network: string;
  mint: string;
  gateway?: string;
  mailbox?: string;
  unit?: string;
}

const DB_FILE = 'wallet.db';

/**
 * The wallet, its store and its network, imported when a command opens the wallet: `lancash --help`,
 * a usage mistake and the other roles' commands do not pay for loading them.
 */
async function walletModules() {
  const [{ Wallet }, { lockHome }, { nodeNet }, { SqliteWalletStore }, { defaultCurve }, { fault }] =
    await Promise.all([
      import('../wallet/index.js'),
      import('../wallet/node/lock.js'),
      import('../wallet/node/net.js'),
      import('../wallet/node/sqlite-store.js'),
      import('../core/crypto/index.js'),
      import('../core/faults.js'),
    ]);
  /** The wallet's dependencies on this machine, around its open store. */
  const options = (store: SqliteWalletStore): WalletOptions =>
    // LANCASH_FAULT points (crash tests) are the wallet's named steps.
    ({ store, net: nodeNet(), curve: defaultCurve(), step: fault });
  return { Wallet, lockHome, SqliteWalletStore, options };
}

export function registerWallet(program: Command): void {
  const wallet = program
    .command('wallet')
    .description('a terminal: its notes, its address, payments on its network and through the gateway')
    .option('--home <dir>', 'the wallet directory (default $LANCASH_WALLET_HOME)')
    .option('--json', 'print one JSON document instead of text');

  wallet
    .command('init')
    .description('create a wallet bound to one mint; prints its address and seed words (once)')
    .requiredOption('--network <lan|wan>', 'the network this terminal lives on')
    .requiredOption('--mint <url>', "the mint: the gateway's LAN listener (lan) or the wide bank (wan)")
    .option('--gateway <url>', "the gateway's listener on this network, for sends to the other network")
    .option('--mailbox <url>', 'the mailbox of this terminal (default: the mint URL)')
    .option('--unit <unit>', 'the unit to hold when the mint has several')
    .action((o: InitOptions, c: Command) => run(c, (g) => init(g, o)));

  wallet
    .command('address')
    .description("print this terminal's address (--json: also its P2PK lock key, for NUT-11 tokens)")
    .action((_o, c: Command) =>
      run(c, (g) =>
        withWallet(g, false, async (w) => out(g, { address: w.address, lockKey: w.lockKey }, w.address)),
      ),
    );

  wallet
    .command('balance')
    .description('the value that can be spent now, and the value held by open operations')
    .action((_o, c: Command) =>
      run(c, (g) =>
        withWallet(g, true, async (w) => {
          const b = await w.balance();
          const pending = b.pending > 0 ? ` (${formatMoney(b.pending, b.unit)} pending)` : '';
          out(g, b, `${formatMoney(b.available, b.unit)}${pending}`);
        }),
      ),
    );

  wallet
    .command('send')
    .description('pay an address: directly on this network, through the gateway to the other')
    .requiredOption('--to <address>', 'the recipient (lan1… or wan1…)')
    .requiredOption('--amount <amount>', AMOUNT_HELP)
    .option('--memo <text>', 'a note for the recipient')
    .action((o: { to: string; amount: string; memo?: string }, c: Command) =>
      run(c, async (g) => {
        // Checked before the wallet is locked or recovered: bad input cannot change anything.
        usageOf(() => decodeAddress(o.to), '--to');
        const amount = await amountArg(g, o.amount);
        return withWallet(g, true, async (w) => {
          // Said before anything moves: the NUT-02 input fees this send costs on top of the amount.
          const fee = await w.sendFee(o.to, amount);
          if (fee !== undefined && fee > 0 && !g.json) {
            process.stderr.write(
              `sending ${formatMoney(amount, w.config.unit)} plus the fee ${formatMoney(fee, w.config.unit)} (the mints' input fees)\n`,
            );
          }
          const op = await w.send({
            to: o.to,
            amount,
            ...(o.memo === undefined ? {} : { memo: o.memo }),
            onProgress: progress(g),
          });
          endProgress(g);
          report(g, op, w.config.unit);
        });
      }),
    );

  wallet
    .command('receive')
    .description('take in what waits in the inbox (payments are swapped at the mint at once)')
    .action((_o, c: Command) =>
      run(c, (g) =>
        withWallet(g, true, async (w) => {
          const r = await w.receive();
          const unit = w.config.unit;
          const lines = [
            ...r.received.map(
              (op) =>
                `received ${formatMoney(op.amount, unit)}${feeText(op, unit)} from ${short(op.counterparty)}${memo(op)}`,
            ),
            ...r.refused.map(
              (op) => `refused ${formatMoney(op.amount, unit)} from ${short(op.counterparty)}: ${op.reason}`,
            ),
          ];
          const body = { received: r.received.map(view), refused: r.refused.map(view), notices: r.notices };
          out(g, body, lines.length > 0 ? lines.join('\n') : 'nothing new');
        }),
      ),
    );

  wallet
    .command('history')
    .description('every payment in and out, oldest first')
    .action((_o, c: Command) =>
      run(c, (g) =>
        withWallet(g, true, async (w) => {
          const ops = await w.history();
          const text = ops.map((op) => historyLine(op, w.config.unit)).join('\n') || 'no operations yet';
          out(g, ops.map(view), text);
        }),
      ),
    );

  const token = wallet.command('token').description('cashuB tokens, for handing money over out of band');
  token
    .command('send')
    .description('make a cashuB token (its notes stay pending until someone redeems it)')
    .requiredOption('--amount <amount>', AMOUNT_HELP)
    .option('--memo <text>', 'a note inside the token')
    .action((o: { amount: string; memo?: string }, c: Command) =>
      run(c, async (g) => {
        const amount = await amountArg(g, o.amount);
        return withWallet(g, true, async (w) => {
          const { token: t, operation } = await w.tokenSend(amount, o.memo);
          out(g, { token: t, ...view(operation) }, t);
        });
      }),
    );
  token
    .command('receive')
    .description('redeem a cashuB (or cashuA) token of this wallet’s mint')
    .argument('<token>', 'the token')
    .action((t: string, _o, c: Command) =>
      run(c, (g) =>
        withWallet(g, true, async (w) => {
          const op = await w.tokenReceive(t);
          out(g, view(op), `received ${formatMoney(op.amount, w.config.unit)}${feeText(op, w.config.unit)}`);
        }),
      ),
    );

  wallet
    .command('mint')
    .description('buy new notes over Lightning (WAN; the development backend settles at once)')
    .requiredOption('--amount <amount>', AMOUNT_HELP)
    .action((o: { amount: string }, c: Command) =>
      run(c, async (g) => {
        const amount = await amountArg(g, o.amount);
        return withWallet(g, true, async (w) => {
          const op = await w.mintFromLightning(amount, {
            onInvoice: (invoice) => {
              if (!g.json) process.stderr.write(`invoice: ${invoice}\n`);
            },
          });
          report(g, op, w.config.unit);
        });
      }),
    );

  wallet
    .command('restore')
    .description('find the notes of a seed at the mint (NUT-09/13), after losing the wallet file')
    .requiredOption('--seed <words>', 'the seed words, quoted')
    .option('--network <lan|wan>', 'with --mint, when the wallet directory is empty')
    .option('--mint <url>', 'with --network, when the wallet directory is empty')
    .option('--gateway <url>', "the gateway's listener on this network")
    .option('--mailbox <url>', 'the mailbox of this terminal (default: the mint URL)')
    .option('--unit <unit>', 'the unit to hold when the mint has several')
    .action((o: Partial<InitOptions> & { seed: string }, c: Command) => run(c, (g) => restore(g, o)));

  wallet
    .command('recover')
    .description('settle operations a crash or an unreachable peer left open (every command does this first)')
    .action((_o, c: Command) =>
      run(c, (g) =>
        withWallet(g, false, async (w) => {
          const r = await w.recover();
          const body = { settled: r.settled.map(view), open: r.open.map(view) };
          out(g, body, `${r.settled.length} settled, ${r.open.length} still open`);
        }),
      ),
    );

  wallet
    .command('cancel')
    .description('take back what an open payment or token holds (the mint decides who had it first)')
    .argument('<id>', 'the operation id (see history)')
    .action((id: string, _o, c: Command) =>
      run(c, (g) =>
        withWallet(g, true, async (w) => {
          const op = await w.cancel(id);
          report(g, op, w.config.unit);
        }),
      ),
    );
}

// ---------------------------------------------------------------------------------------------
// Commands

async function init(g: GlobalOptions, o: InitOptions): Promise<void> {
  const home = homeOf(g);
  const checked = initOptions(o); // before the directory is made
  const created = !existsSync(home);
  const dbExisted = existsSync(join(home, DB_FILE));
  const { Wallet, lockHome, SqliteWalletStore, options } = await walletModules();
  // The file holds the seed and bearer notes: readable by its owner only.
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const lock = lockHome(home);
  const store = new SqliteWalletStore(join(home, DB_FILE));
  chmodSync(join(home, DB_FILE), 0o600);
  try {
    const { wallet, mnemonic } = await Wallet.create({ ...options(store), ...checked });
    const cfg = wallet.config;
    out(
      g,
      { address: wallet.address, network: cfg.network, mint: cfg.mint, unit: cfg.unit, mnemonic },
      [
        `wallet created in ${home} (${cfg.network}, mint ${cfg.mint}, unit ${cfg.unit})`,
        `address: ${wallet.address}`,
        'seed words (write them down: they restore this wallet, and are shown only now):',
        `  ${mnemonic}`,
      ].join('\n'),
    );
  } catch (e) {
    // A failed init leaves nothing behind.
    await store.close();
    if (!dbExisted)
      for (const f of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`]) rmSync(join(home, f), { force: true });
    lock.release();
    if (created) rmSync(home, { recursive: true, force: true });
    throw e;
  }
  await store.close();
  lock.release();
}

async function restore(g: GlobalOptions, o: Partial<InitOptions> & { seed: string }): Promise<void> {
  const home = homeOf(g);
  const exists = existsSync(join(home, DB_FILE));
  if (!exists && (o.network === undefined || o.mint === undefined)) {
    usage('restore into an empty directory needs --network and --mint');
  }
  const { Wallet, lockHome, SqliteWalletStore, options } = await walletModules();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const lock = lockHome(home);
  const store = new SqliteWalletStore(join(home, DB_FILE));
  chmodSync(join(home, DB_FILE), 0o600);
  try {
    let wallet: Wallet;
    if (await store.readConfig()) {
      wallet = await Wallet.open(options(store));
      if (!wallet.hasSeed(o.seed)) {
        fail(
          'InvalidInput',
          { argument: '--seed', expected: "this wallet's words", received: 'other words' },
          `--seed: these are not the words of the wallet in ${home}`,
        );
      }
    } else {
      ({ wallet } = await Wallet.create({
        ...options(store),
        ...initOptions(o as InitOptions),
        mnemonic: o.seed,
      }));
    }
    const r = await wallet.restore();
    const unit = wallet.config.unit;
    const pending = r.pending > 0 ? `, ${formatMoney(r.pending, unit)} pending at the mint` : '';
    out(
      g,
      { address: wallet.address, ...r, balance: await wallet.balance() },
      `restored ${formatMoney(r.amount, unit)} in ${r.unspent} notes${pending}\naddress: ${wallet.address}`,
    );
  } finally {
    await store.close();
    lock.release();
  }
}

/** Opens the wallet in the home directory (locked), runs `recover` first when asked, then `fn`. */
async function withWallet(g: GlobalOptions, recoverFirst: boolean, fn: (w: Wallet) => Promise<void>) {
  const home = walletHome(g);
  const { Wallet, lockHome, SqliteWalletStore, options } = await walletModules();
  const lock = lockHome(home);
  const store = new SqliteWalletStore(join(home, DB_FILE));
  try {
    const wallet = await Wallet.open(options(store));
    if (recoverFirst) {
      const r = await wallet.recover();
      if (!g.json && r.settled.length > 0) {
        for (const op of r.settled)
          process.stderr.write(`settled from an earlier run: ${historyLine(op, wallet.config.unit)}\n`);
      }
    }
    await fn(wallet);
  } finally {
    await store.close();
    lock.release();
  }
}

/** The options of `init` (and `restore` into an empty directory), checked: a malformed one is a usage mistake. */
function initOptions(o: InitOptions) {
  if (o.network !== 'lan' && o.network !== 'wan')
    usage(`--network: expected lan or wan, got ${JSON.stringify(o.network)}`);
  httpUrlArg(o.mint, '--mint');
  if (o.gateway !== undefined) httpUrlArg(o.gateway, '--gateway');
  if (o.mailbox !== undefined) httpUrlArg(o.mailbox, '--mailbox');
  return {
    network: o.network as 'lan' | 'wan',
    mint: o.mint,
    ...(o.gateway === undefined ? {} : { gateway: o.gateway }),
    ...(o.mailbox === undefined ? {} : { mailbox: o.mailbox }),
    ...(o.unit === undefined ? {} : { unit: o.unit }),
  };
}

// ---------------------------------------------------------------------------------------------
// Output

/** An operation as scripts see it: never its notes, secrets or envelope. */
function view(op: Operation) {
  return {
    id: op.id,
    kind: op.kind,
    direction: op.direction,
    amount: op.amount,
    state: op.state,
    ...(op.counterparty === undefined ? {} : { counterparty: op.counterparty }),
    ...(op.memo === undefined ? {} : { memo: op.memo }),
    ...(op.reason === undefined ? {} : { reason: op.reason }),
    ...(op.transferId === undefined ? {} : { transferId: op.transferId }),
    ...(op.data.transfer === undefined ? {} : { transfer: op.data.transfer }),
    ...(op.data.fee === undefined ? {} : { fee: op.data.fee }),
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
  };
}

function historyLine(op: Operation, unit: string): string {
  const at = new Date(op.createdAt).toISOString().replace('T', ' ').slice(0, 19);
  const sign = op.direction === 'in' ? '+' : '-';
  const who = op.counterparty ? `  ${short(op.counterparty)}` : '';
  const why = op.reason && op.state !== 'done' ? `  (${op.reason})` : '';
  const amount = `${sign}${formatMajor(op.amount, unit)}`.padStart(10);
  return `${at}  ${op.id}  ${op.kind.padEnd(7)} ${amount} ${unitLabel(unit)}  ${op.state.padEnd(10)}${who}${memo(op)}${feeText(op, unit)}${why}`;
}

/** NUT-02 input fees the operation paid, named with their amount (nothing without a fee). */
function feeText(op: Operation, unit: string): string {
  const fee = op.data.fee ?? 0;
  if (fee <= 0) return '';
  return op.direction === 'in'
    ? ` (fee ${formatMoney(fee, unit)} paid out of it)`
    : ` (fee ${formatMoney(fee, unit)})`;
}

/** The outcome of a send, mint or cancel; a refusal or failure exits 1. */
function report(g: GlobalOptions, op: Operation, unit: string): void {
  if (op.state === 'failed') {
    const refusal = op.data.transfer?.refusal;
    fail(
      'TransferRefused',
      { transferId: op.id, code: refusal?.code ?? 0, reason: op.reason ?? 'failed' },
      `${op.kind} ${op.id} failed: ${op.reason ?? 'no reason given'}`,
    );
  }
  const verb: Record<string, string> = { send: 'sent', gateway: 'sent', mint: 'minted', token: 'token' };
  const text =
    op.state === 'done'
      ? `${verb[op.kind] ?? op.kind} ${formatMoney(op.amount, unit)}${op.counterparty && op.kind !== 'mint' ? ` to ${short(op.counterparty)}` : ''}${feeText(op, unit)} (${op.id})`
      : `${op.kind} ${op.id} is ${op.state}: ${op.reason ?? 'waiting'}; the next command (or \`recover\`) goes on with it`;
  out(g, view(op), text);
}

function out(g: GlobalOptions, json: unknown, text: string): void {
  process.stdout.write(`${g.json ? JSON.stringify(json) : text}\n`);
}

function short(s: string | undefined): string {
  if (s === undefined) return '?';
  return s.length > 28 ? `${s.slice(0, 16)}…${s.slice(-6)}` : s;
}

function memo(op: Operation): string {
  return op.memo ? `  "${op.memo}"` : '';
}

let progressShown = false;

/** Progress of a send through the gateway, on stderr: rewritten in place on a terminal, lines otherwise. */
function progress(g: GlobalOptions): (p: SendProgress) => void {
  return (p) => {
    // Same-network payments take one round trip; only a transfer through the gateway has stages worth showing.
    if (g.json || p.stage === 'swapped' || p.stage === 'delivered') return;
    const text = p.stage === 'transfer' ? `transfer ${stage(p.status)}` : p.stage;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r\x1b[K… ${text}`);
      progressShown = true;
    } else {
      process.stderr.write(`… ${text}\n`);
    }
  };
}

function stage(s: TransferStatus): string {
  return s.refusal ? `${s.state}: ${s.refusal.detail}` : s.state;
}

function endProgress(g: GlobalOptions): void {
  if (!g.json && progressShown) process.stderr.write('\n');
  progressShown = false;
}

// ---------------------------------------------------------------------------------------------
// Arguments and errors

function homeOf(g: GlobalOptions): string {
  const home = g.home ?? process.env.LANCASH_WALLET_HOME;
  if (home === undefined || home === '') usage('--home DIR is required (or set LANCASH_WALLET_HOME)');
  return home;
}

/** The home directory of an existing wallet, or `WalletNotInitialized` saying how to make one. */
function walletHome(g: GlobalOptions): string {
  const home = homeOf(g);
  if (!existsSync(join(home, DB_FILE))) {
    fail(
      'WalletNotInitialized',
      { reason: 'no wallet file' },
      `no wallet in ${home}; run \`lancash wallet --home ${home} init\` first`,
    );
  }
  return home;
}

const AMOUNT_HELP = "amount in the wallet's currency, e.g. 12.50 or 12.50 EUR (at most its decimals)";

/**
 * `--amount` in major units of the wallet's currency (core/money-format.ts), then the money limits.
 * Read before the wallet is locked: the unit comes from its config (a read SQLite allows beside a
 * running command), so a mistyped amount changes nothing and does not wait for the lock.
 */
async function amountArg(g: GlobalOptions, value: string): Promise<Amount> {
  const home = walletHome(g);
  const { SqliteWalletStore } = await walletModules();
  const store = new SqliteWalletStore(join(home, DB_FILE));
  const config = await store.readConfig().finally(() => store.close());
  if (config === undefined) {
    fail('WalletNotInitialized', { reason: 'no wallet config' }, `no wallet in ${home}; run init first`);
  }
  // A malformed amount is a usage mistake (exit 2); one the balance cannot cover is a refusal (1).
  return usageOf(() => parseMoney(value, config.unit, { argument: '--amount' }));
}

/** Runs a command: one line on stderr for any error; exit 2 for usage, 1 for everything else. */
async function run(c: Command, fn: (g: GlobalOptions) => Promise<void>): Promise<void> {
  const g = c.optsWithGlobals<GlobalOptions>();
  try {
    await fn(g);
  } catch (err) {
    endProgress(g);
    process.exitCode = err instanceof UsageError ? 2 : 1;
    const line = isLancashError(err)
      ? g.json
        ? JSON.stringify({ error: err.toWire() })
        : `lancash wallet: ${err.message}`
      : // The HTTP client is loaded by then if a peer was called; a usage mistake does not load it.
        !(err instanceof UsageError) && (await import('../core/http/client.js')).isUnclear(err)
        ? `lancash wallet: no answer (${err.message})`
        : `lancash wallet: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`${line.replaceAll('\n', ' ')}\n`);
  }
}
