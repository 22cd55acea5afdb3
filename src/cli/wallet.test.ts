/**
 * `lancash wallet` as a user runs it, against real `lancash wide-bank` and `lancash gateway`
 * processes: the walkthrough (two LAN wallets pay each other, a LAN wallet pays a WAN wallet and
 * back, a cashuB token received by cashu-ts, restore from the seed), a wallet process killed mid-send
 * and run again, and bad input answered with one line, a non-zero exit and nothing changed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet as CashuWallet } from '@cashu/cashu-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress } from '../core/address/index.js';
import { hex } from '../core/bytes.js';
import { encodeTokenV4 } from '../core/token/index.js';
import { startFaultProxy } from '../test-support/fault-proxy.js';
import { type CliRun, lancashCommand, REPO_ROOT, runLancash } from '../test-support/process.js';
import { type System, startSystem } from '../test-support/system.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-wallet-cli-'));
/**
 * Each CLI run starts a Node process with tsx (1–2 s on a busy two-core machine, mostly tsx and the
 * wallet's own modules); a test runs ~25.
 */
const SLOW = 300_000;
let sys: System;

/** Runs `lancash wallet --home <dir>/<home> …args` to completion. */
function wallet(home: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runLancash(['wallet', '--home', join(dir, home), ...args], { env });
}

/** Runs a command that must succeed; returns its stdout parsed as JSON (it was run with --json). */
async function json<T = Record<string, unknown>>(home: string, args: string[]): Promise<T> {
  const r = await wallet(home, ['--json', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function balance(home: string): Promise<{ available: number; pending: number }> {
  return json(home, ['balance']);
}

/** Creates a wallet; returns its address and seed words. */
async function init(home: string, args: string[]): Promise<{ address: string; mnemonic: string }> {
  return json(home, ['init', ...args]);
}

/** A refusal: exit 1 (2 for usage), exactly one line on stderr, nothing on stdout. */
async function refused(home: string, args: string[], code = 1): Promise<string> {
  const r = await wallet(home, args);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

beforeAll(async () => {
  sys = await startSystem(join(dir, 'servers'));
});
afterAll(async () => {
  await sys?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lancash wallet (real servers)', () => {
  const lan = () => ['--network', 'lan', '--mint', sys.lan, '--gateway', sys.lan];
  const wan = () => ['--network', 'wan', '--mint', sys.bank, '--gateway', sys.wan];

  it(
    'walkthrough: mint, WAN → LAN, LAN → LAN, LAN → WAN, a token into cashu-ts, restore',
    async () => {
      const [w1, l1, l2, w2] = await Promise.all([
        init('w1', wan()),
        init('l1', lan()),
        init('l2', lan()),
        init('w2', wan()),
      ]);
      expect([w1.address, l1.address]).toEqual([
        expect.stringMatching(/^wan1/),
        expect.stringMatching(/^lan1/),
      ]);
      expect(w1.mnemonic.split(' ')).toHaveLength(12);
      expect((await wallet('w1', ['address'])).stdout.trim()).toBe(w1.address);
      // --json also names the P2PK lock key the version-1 address carries (for NUT-11 tokens).
      const shown = await json<{ address: string; lockKey: string }>('w1', ['address']);
      expect(shown.address).toBe(w1.address);
      expect(hex(shown.lockKey, 'lockKey', 33)).toEqual(decodeAddress(w1.address).lockKey);

      expect((await wallet('w1', ['mint', '--amount', '1.00'])).stdout).toMatch(/^minted 1\.00 EUR/);
      const job2 = await wallet('w1', ['send', '--to', l1.address, '--amount', '0.60']);
      expect(job2.stdout).toMatch(/^sent 0\.60 EUR to lan1/);
      expect(job2.stderr).toContain('… transfer done');
      expect((await wallet('l1', ['receive'])).stdout).toMatch(
        /^received 0\.60 EUR from gateway \(wan-to-lan\)/,
      );

      await json('l1', ['send', '--to', l2.address, '--amount', '0.25 EUR']);
      expect((await json<{ received: unknown[] }>('l2', ['receive'])).received).toHaveLength(1);
      expect(await json('l2', ['send', '--to', w2.address, '--amount', '0.1'])).toMatchObject({
        kind: 'gateway',
        state: 'done',
      });
      await json('w2', ['receive']);
      const balances = await Promise.all(['w1', 'l1', 'l2', 'w2'].map(balance));
      expect(balances.map((b) => [b.available, b.pending])).toEqual([
        [40, 0],
        [35, 0],
        [15, 0],
        [10, 0],
      ]);

      const { token } = await json<{ token: string }>('w1', ['token', 'send', '--amount', '0.05']);
      expect(await balance('w1')).toMatchObject({ available: 35, pending: 5 });
      const other = new CashuWallet(sys.bank, { unit: 'eur' });
      await other.loadMint();
      expect((await other.receive(token)).reduce((n, p) => n + Number(p.amount), 0)).toBe(5);
      expect(await balance('w1')).toMatchObject({ available: 35, pending: 0 });
      expect((await wallet('w1', ['balance'])).stdout).toBe('0.35 EUR\n');
      expect((await wallet('w1', ['history'])).stdout).toMatch(
        / mint\s+\+1\.00 EUR .* gateway\s+-0\.60 EUR /s,
      );
      const history = await json<{ kind: string; state: string }[]>('w1', ['history']);
      expect(history.map((o) => [o.kind, o.state])).toEqual([
        ['mint', 'done'],
        ['gateway', 'done'],
        ['token', 'done'],
      ]);
      expect(JSON.stringify(history)).not.toMatch(/secret|"r"/);

      // The wallet file is lost: the words and the mint are enough.
      const restored = await json<{ address: string; amount: number }>('w1-restored', [
        'restore',
        '--seed',
        w1.mnemonic,
        ...wan(),
      ]);
      expect(restored).toMatchObject({ address: w1.address, amount: 35 });
      expect(await balance('w1-restored')).toMatchObject({ available: 35, pending: 0 });
    },
    SLOW,
  );

  it(
    'a wallet killed mid-send (at every step, and by a signal from outside) is right after the next run',
    async () => {
      const [, b] = await Promise.all([init('crash-a', wan()), init('crash-b', wan())]);
      await json('crash-a', ['mint', '--amount', '0.64']);
      let sent = 0;
      for (const point of ['after-reserve', 'after-swap', 'after-journal', 'after-deliver']) {
        const r = await wallet('crash-a', ['send', '--to', b.address, '--amount', '0.03'], {
          LANCASH_FAULT: `wallet:send:${point}`,
        });
        expect(r.signal).toBe('SIGKILL');
        // The next command settles what the killed one left: rolled back before the envelope was journaled, delivered after.
        const after = await balance('crash-a');
        expect(after.pending).toBe(0);
        if (point === 'after-journal' || point === 'after-deliver') sent += 3;
        expect(after.available).toBe(64 - sent);
      }
      // A kill from outside, wherever it lands: afterwards the two balances add up and nothing is pending.
      const child: ChildProcess = spawn(
        process.execPath,
        [
          ...lancashCommand(),
          'wallet',
          '--home',
          join(dir, 'crash-a'),
          'send',
          '--to',
          b.address,
          '--amount',
          '0.07',
        ],
        { cwd: REPO_ROOT, stdio: 'ignore' },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      setTimeout(() => child.kill('SIGKILL'), 1500);
      await exited;
      await json('crash-a', ['recover']);
      await json('crash-b', ['receive']);
      const [ra, rb] = [await balance('crash-a'), await balance('crash-b')];
      expect([ra.pending, rb.pending]).toEqual([0, 0]);
      expect(ra.available + rb.available).toBe(64);
      expect([sent, sent + 7]).toContain(rb.available);
    },
    SLOW,
  );

  it(
    'bad input: one line, exit code ≠ 0, nothing changed',
    async () => {
      const [a, b] = await Promise.all([init('bad-a', wan()), init('bad-b', lan())]);
      await json('bad-a', ['mint', '--amount', '0.20']);
      const before = { balance: await balance('bad-a'), history: await json('bad-a', ['history']) };

      // Checked before the wallet is opened, so these may run side by side.
      const amounts = ['0', '-1', '0.005', 'ten', '1e3', '1,000.00', '1.00 USD', '99999999999999999'].map(
        // A malformed amount is a usage mistake: exit 2 (docs/operations.md, "Exit codes").
        (n) => refused('bad-a', ['send', '--to', a.address, `--amount=${n}`], 2),
      );
      expect(await Promise.all(amounts)).toEqual([
        'lancash wallet: --amount: the amount must be more than 0.00 EUR',
        'lancash wallet: --amount: an amount cannot be negative, got "-1"',
        'lancash wallet: --amount: EUR has 2 decimals, got "0.005"',
        'lancash wallet: --amount: expected an amount like 12.50 or 12.50 EUR, got "ten"',
        'lancash wallet: --amount: write the amount in plain digits like 12.50, without an exponent; got "1e3"',
        'lancash wallet: --amount: write the amount without thousands separators (e.g. 1234.00), got "1,000.00"',
        'lancash wallet: --amount: this wallet holds EUR, got "1.00 USD"',
        'lancash wallet: --amount: "99999999999999999" is above the limit of 11258999068426.24 EUR',
      ]);
      expect(await refused('bad-a', ['send', '--to', a.address, '--amount', '0.21'])).toMatch(
        /0\.21 EUR is more than the balance 0\.20 EUR/,
      );
      const typo = `${a.address.slice(0, -1)}${a.address.endsWith('q') ? 'p' : 'q'}`;
      expect(await refused('bad-a', ['send', '--to', typo, '--amount', '0.01'], 2)).toMatch(
        /--to: .*checksum/,
      );
      const other = encodeTokenV4({
        mint: 'http://127.0.0.1:9',
        unit: 'eur',
        proofs: [{ amount: 1, id: `01${'ab'.repeat(32)}`, secret: 'x', C: `02${'11'.repeat(32)}` }],
      });
      expect(await refused('bad-a', ['token', 'receive', other])).toMatch(
        /token is for http:\/\/127\.0\.0\.1:9/,
      );

      // An unreachable gateway: the wallet knows it through a proxy that now refuses every connection.
      const proxy = await startFaultProxy(sys.wan);
      try {
        await init('bad-c', ['--network', 'wan', '--mint', sys.bank, '--gateway', proxy.url]);
        await json('bad-c', ['mint', '--amount', '0.04']);
        proxy.plan([{ path: '*', fault: 'refuse', times: Number.POSITIVE_INFINITY }]);
        expect(await refused('bad-c', ['send', '--to', b.address, '--amount', '0.02'])).toMatch(
          /cannot reach/,
        );
        expect(await balance('bad-c')).toEqual({ unit: 'eur', available: 4, pending: 0 });
      } finally {
        await proxy.close();
      }

      expect(await refused('bad-new', ['init', '--network', 'wan', '--mint', 'http://127.0.0.1:9'])).toMatch(
        /cannot reach http:\/\/127\.0\.0\.1:9/,
      );
      expect(existsSync(join(dir, 'bad-new'))).toBe(false);
      expect(await refused('bad-a', ['init', '--network', 'wan', '--mint', sys.bank])).toMatch(
        /already exists/,
      );
      expect(await refused('nowhere', ['balance'])).toMatch(/no wallet/);
      const noHome = await runLancash(['wallet', 'balance'], { env: { LANCASH_WALLET_HOME: '' } });
      expect([noHome.code, noHome.stderr.trim().split('\n').length]).toEqual([2, 1]);

      expect({ balance: await balance('bad-a'), history: await json('bad-a', ['history']) }).toEqual(before);
    },
    SLOW,
  );
});
