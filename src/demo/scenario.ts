/**
 * `lancash demo`, the main job: the whole system on loopback with embedded SQLite. A wide bank, a
 * gateway and five terminals (three on the LAN, two on the WAN); the terminals are funded, pay each
 * other on their own network, convert in both directions through the gateway, and the audit checks
 * both invariants. The servers keep running afterwards for the walkthrough.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultCurve } from '../core/crypto/index.js';
import { fail } from '../core/errors.js';
import { listen } from '../core/http/server.js';
import { formatMoney } from '../core/money-format.js';
import { getTransfer, requestPayroll } from '../core/protocol/gateway.js';
import { auditGateway } from '../gateway/audit.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import { openStore, type Store } from '../store/index.js';
import { type Operation, Wallet } from '../wallet/index.js';
import { nodeNet } from '../wallet/node/net.js';
import { SqliteWalletStore } from '../wallet/node/sqlite-store.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { createWideBank, type WideBank } from '../wide-bank/server.js';

const MARKER = '.lancash-demo';
const CURRENCY = 'EUR';

export interface DemoOptions {
  dataDir: string;
  /** Progress lines for people. */
  say: (line: string) => void;
}

export interface DemoReport {
  jobs: { lanToWan: number; wanToLan: number; sameNetwork: number; payroll: number };
  balances: Record<string, { network: 'lan' | 'wan'; available: number; pending: number }>;
  audit: { balanced: boolean; wideBank: unknown; gateway: unknown };
  /**
   * Where everything runs. The web wallet is served by the gateway's LAN listener (LAN terminals)
   * and by the wide bank (WAN terminals); the operator console at `<LAN>/operator` takes the token.
   */
  urls: {
    wideBank: string;
    gatewayLan: string;
    gatewayWan: string;
    lanWallet: string;
    wanWallet: string;
    console: string;
    operatorToken: string;
  };
  terminals: Record<string, { home: string; address: string; network: 'lan' | 'wan' }>;
}

export interface RunningDemo {
  report: DemoReport;
  close(): Promise<void>;
}

interface Terminal {
  name: string;
  network: 'lan' | 'wan';
  home: string;
  wallet: Wallet;
  store: SqliteWalletStore;
}

/** Runs the scenario; the servers keep running until `close`. */
export async function runDemo(o: DemoOptions): Promise<RunningDemo> {
  const dir = resetDataDir(o.dataDir);
  const say = o.say;
  const crypto = createCryptoPool();
  const stores: Store[] = [];
  let bank: WideBank | undefined;
  let gateway: Gateway | undefined;
  const terminals: Terminal[] = [];
  const close = async () => {
    for (const t of terminals) t.store.close();
    await gateway?.close();
    await Promise.all([bank?.app.close(), gateway?.lan.close(), gateway?.wan.close()]);
    await bank?.close();
    await Promise.all(stores.map((s) => s.close()));
    await crypto.close();
  };
  try {
    say(`data directory: ${dir}`);
    const bankStore = await openStore({
      dialect: 'sqlite',
      file: join(mkdir(dir, 'wide-bank'), 'wide-bank.db'),
    });
    stores.push(bankStore);
    bank = await createWideBank({
      store: bankStore,
      currency: CURRENCY,
      crypto,
      lightning: 'fake', // dave and erin buy wide money with it: demo only
      mailboxTrusted: ['127.0.0.1'], // the gateway's deliveries use the room kept from strangers
      logger: false,
      rateLimit: false,
    });
    const bankUrl = await listen(bank.app, '127.0.0.1:0');
    bank.announce({ url: bankUrl });
    say(`wide bank (issue + receiving server, Cashu mint, fake Lightning) at ${bankUrl}`);

    const gwStore = await openStore({ dialect: 'sqlite', file: join(mkdir(dir, 'gateway'), 'gateway.db') });
    stores.push(gwStore);
    const operatorToken = randomBytes(24).toString('hex');
    gateway = await createGateway({
      store: gwStore,
      currency: CURRENCY,
      wideBank: bankUrl,
      operatorToken,
      crypto,
      logger: false,
      rateLimit: false,
    });
    const gw = await gateway.listen('127.0.0.1:0', '127.0.0.1:0');
    await gateway.start();
    bank.announce({ gateway: gw.wan });
    say(`gateway: LAN listener (local mint) at ${gw.lan}, WAN listener at ${gw.wan}`);

    const curve = defaultCurve();
    const net = nodeNet();
    const make = async (name: string, network: 'lan' | 'wan'): Promise<Terminal> => {
      const home = mkdir(dir, 'terminals', name);
      const store = new SqliteWalletStore(join(home, 'wallet.db'));
      const lan = network === 'lan';
      const { wallet } = await Wallet.create({
        store,
        net,
        curve,
        network,
        mint: lan ? gw.lan : bankUrl,
        gateway: lan ? gw.lan : gw.wan,
        mailbox: lan ? gw.lan : bankUrl,
      });
      const t = { name, network, home, wallet, store };
      terminals.push(t);
      return t;
    };
    const [alice, bob, carol] = [
      await make('alice', 'lan'),
      await make('bob', 'lan'),
      await make('carol', 'lan'),
    ];
    const [dave, erin] = [await make('dave', 'wan'), await make('erin', 'wan')];
    say('five terminals: alice, bob, carol on the LAN; dave, erin on the WAN');

    // WAN terminals buy wide money with the fake Lightning backend (invoices settle at once).
    for (const t of [dave, erin]) {
      await t.wallet.mintFromLightning(50_00);
      say(`${t.name} minted ${money(50_00)} of wide money through a bolt11 quote`);
    }

    const jobs = { lanToWan: 0, wanToLan: 0, sameNetwork: 0, payroll: 0 };
    // Payroll: the bank's operator deposits into the gateway's reserve, the gateway's operator
    // issues the same value of local money against that deposit (claimed once at the bank).
    const reserve = await bank.ledger.accountOfHolder(gateway.keys.publicKeyHex);
    const payroll = async (to: Terminal, amount: number) => {
      const ref = `payroll-${to.name}`;
      await bank!.ledger.deposit(reserve.id, amount, ref);
      const started = await requestPayroll({
        base: gw.lan,
        operatorToken,
        request: { ref, amount, to: to.wallet.address },
      });
      await until(
        async () => (await getTransfer(gw.lan, started.transferId)).state,
        ['done', 'refused'],
        ref,
      );
      const got = (await to.wallet.receive()).received.reduce((n, r) => n + r.amount, 0);
      jobs.payroll++;
      say(`payroll: ${to.name} paid ${money(got)} of local money against a reserve deposit (${ref})`);
    };
    const pay = async (from: Terminal, to: Terminal, amount: number): Promise<Operation> => {
      const op = await from.wallet.send({
        to: to.wallet.address,
        amount,
        memo: `demo ${from.name} → ${to.name}`,
      });
      if (op.state !== 'done') {
        fail(
          'TransferRefused',
          { transferId: op.id, code: 0, reason: op.reason ?? op.state },
          `${from.name} → ${to.name}: ${op.state}`,
        );
      }
      const received = await to.wallet.receive();
      const got = received.received.reduce((n, r) => n + r.amount, 0);
      const kind =
        from.network === to.network
          ? 'same network'
          : from.network === 'lan'
            ? 'job 1, LAN → WAN'
            : 'job 2, WAN → LAN';
      if (from.network === to.network) jobs.sameNetwork++;
      else if (from.network === 'lan') jobs.lanToWan++;
      else jobs.wanToLan++;
      say(`${from.name} → ${to.name}: ${money(amount)} (${kind}); ${to.name} received ${money(got)}`);
      return op;
    };

    await payroll(alice, 20_00);
    await payroll(bob, 15_00);
    await payroll(carol, 10_00);
    // Same-network payments, then conversions: job 1 (LAN → WAN) and job 2 (WAN → LAN).
    await pay(alice, bob, 3_50);
    await pay(dave, erin, 2_25);
    await pay(bob, erin, 7_00);
    await pay(carol, dave, 1_99);
    await pay(dave, alice, 5_00);
    await pay(erin, carol, 4_00);

    const wideBankAudit = await auditWideBank(bankStore);
    const gatewayAudit = await auditGateway({ gatewayStore: gwStore, wideBankStore: bankStore });
    const balanced = wideBankAudit.balanced && gatewayAudit.balanced;
    const verdict = (b: boolean) => (b ? 'balanced' : 'NOT balanced');
    say(
      `audit: wide bank (invariant 1) ${verdict(wideBankAudit.balanced)}; gateway (invariant 2) ${verdict(gatewayAudit.balanced)}`,
    );

    const balances: DemoReport['balances'] = {};
    for (const t of terminals) {
      const b = await t.wallet.balance();
      balances[t.name] = { network: t.network, available: b.available, pending: b.pending };
    }
    const report: DemoReport = {
      jobs,
      balances,
      audit: { balanced, wideBank: wideBankAudit, gateway: gatewayAudit },
      urls: {
        wideBank: bankUrl,
        gatewayLan: gw.lan,
        gatewayWan: gw.wan,
        lanWallet: `${gw.lan}/`,
        wanWallet: `${bankUrl}/`,
        console: `${gw.lan}/operator`,
        operatorToken,
      },
      terminals: Object.fromEntries(
        terminals.map((t) => [t.name, { home: t.home, address: t.wallet.address, network: t.network }]),
      ),
    };
    // The CLI walkthrough uses the same wallet files from other processes: release them here.
    for (const t of terminals.splice(0)) t.store.close();
    return { report, close };
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
}

/** Polls `read` until it returns one of `ends` (a transfer's terminal states); gives up after a minute. */
async function until(read: () => Promise<string>, ends: string[], what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const state = await read();
    if (ends.includes(state)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail('Internal', { reason: `${what} did not finish` }, `${what} did not finish within a minute`);
}

/** Minor units as the demo's reader reads them (`21.50 EUR`), as the wallet CLI prints them. */
export function money(minor: number): string {
  return formatMoney(minor, CURRENCY);
}

/** Starts from an empty directory, but only deletes one that a demo made (it carries the marker). */
function resetDataDir(dataDir: string): string {
  const dir = resolve(dataDir);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!existsSync(join(dir, MARKER))) {
      fail(
        'InvalidInput',
        { argument: '--data', expected: 'an empty directory or an earlier demo', received: dir },
        `--data ${dir} is not empty and was not made by lancash demo; choose another directory`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, MARKER), 'made by lancash demo; deleted and rebuilt by the next run\n');
  return dir;
}

/** A directory for seeds and keys: its owner's only (issue 8 item 7). */
function mkdir(...parts: string[]): string {
  const p = join(...parts);
  mkdirSync(p, { recursive: true, mode: 0o700 });
  return p;
}
