/**
 * One exit-code convention for every `lancash` command (docs/operations.md "Exit codes"): 0 done,
 * 1 refused or failed, 2 a usage mistake with a message that names the flag. commander's own errors
 * (unknown option, missing option or value, unknown command) follow it too, not commander's 1.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, killAll, runLancash, startProcess, wideBankArgs } from '../test-support/process.js';

describe('lancash exit codes', () => {
  const root = mkdtempSync(join(tmpdir(), 'lancash-exit-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** A gateway's required options, so that the one a case adds is the only mistake. */
  const gateway = [
    'gateway',
    ...['--lan', '127.0.0.1:0', '--wan', '127.0.0.1:0', '--wide-bank', 'http://127.0.0.1:1'],
    ...['--data', join(root, 'gw')],
  ];
  const bank = ['wide-bank', '--data', join(root, 'bank')];

  /** Each case: the arguments, and what the message on stderr must name. */
  const usageMistakes: [string, string[], string][] = [
    ['an unknown option', ['wide-bank', '--lisen', '127.0.0.1:0'], "unknown option '--lisen'"],
    ['an unknown option of a sub-command', ['gateway', 'reconcile', '--frob'], "unknown option '--frob'"],
    [
      'a missing required option',
      ['wide-bank', 'account', 'open', '--data', 'x'],
      "required option '--holder-key <hex>' not specified",
    ],
    ['an option without its value', ['audit', '--wide-bank-db'], "'--wide-bank-db <url>' argument missing"],
    ['an unknown command', ['wide-bnak'], "unknown command 'wide-bnak'"],
    ['a command group without its command', ['wide-bank', 'account'], 'Usage: lancash wide-bank account'],
    ['a missing server option', [...bank, '--lightning', 'fake'], '--listen HOST:PORT is required'],
    [
      'an unknown backend',
      [...bank, '--listen', '127.0.0.1:0', '--lightning', 'lnd'],
      'unknown backend "lnd"',
    ],
    [
      'a malformed listen address',
      [...bank, '--lightning', 'fake', '--listen', 'localhost'],
      '--listen: listen address: expected HOST:PORT',
    ],
    ['a malformed LAN address', [...gateway, '--lan', 'lan:x'], '--lan: listen address'],
    ['a bad number', [...gateway, '--concurrency', '0'], '--concurrency: expected a positive whole number'],
    [
      'a malformed currency',
      [...gateway, '--currency', 'E1'],
      '--currency: currency: expected 2 to 12 letters',
    ],
    ['a malformed bank URL', [...gateway, '--wide-bank', 'bank.example'], '--wide-bank: expected an http://'],
    ['a malformed database URL', ['audit', '--wide-bank-db', 'mysql://db'], '--wide-bank-db: store url'],
    ['an unknown bench scenario', ['bench', 'nope'], "unknown scenario 'nope'"],
    [
      'an unknown wallet network',
      ['wallet', '--home', join(root, 'w'), 'init', '--network', 'moon', '--mint', 'http://127.0.0.1:9'],
      '--network: expected lan or wan, got "moon"',
    ],
    [
      'a malformed mint URL',
      ['wallet', '--home', join(root, 'w'), 'init', '--network', 'lan', '--mint', '127.0.0.1:9'],
      '--mint: expected an http://',
    ],
    [
      'a malformed recipient address',
      ['wallet', '--home', join(root, 'w'), 'send', '--to', 'lan1x', '--amount', '1'],
      '--to: address',
    ],
  ];

  it.each(usageMistakes)('%s exits 2 naming the problem', async (_what, args, names) => {
    const run = await runLancash(args);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(names);
    expect(run.stdout).toBe('');
  });

  it('audit of a database file that does not exist exits 2 and makes none', async () => {
    const missing = join(root, 'no-such', 'wide-bank.db');
    const run = await runLancash(['audit', '--wide-bank-db', missing]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`--wide-bank-db: no database at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });

  it('gateway reconcile on a database file that does not exist exits 2 and makes none', async () => {
    const missing = join(root, 'no-such', 'gateway.db');
    const run = await runLancash([
      'gateway',
      'reconcile',
      '--db',
      missing,
      '--wide-bank',
      'http://127.0.0.1:1',
    ]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`--db: no gateway database at ${missing}`);
    expect(existsSync(join(root, 'no-such'))).toBe(false);
  });

  /** Each operator command on a bank's database, without `--data` (added by the case). */
  const accountCommands: [string, string[]][] = [
    ['show', ['wide-bank', 'account', 'show']],
    ['open', ['wide-bank', 'account', 'open', '--holder-key', 'ab'.repeat(32)]],
    ['deposit', ['wide-bank', 'account', 'deposit', '--account', 'a', '--amount', '1.00']],
    ['withdraw', ['wide-bank', 'account', 'withdraw', '--account', 'a', '--amount', '1.00']],
  ];

  it.each(accountCommands)(
    'wide-bank account %s on a directory without a bank exits 2 and creates nothing',
    async (_name, args) => {
      const missing = join(root, 'no-bank');
      const run = await runLancash([...args, '--data', missing]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(`--data: no wide bank in ${missing} (there is no wide-bank.db)`);
      expect(run.stdout).toBe('');
      expect(existsSync(missing)).toBe(false);
    },
  );

  it('wide-bank account show: the same through --db naming a SQLite file, and --data before account', async () => {
    const missing = join(root, 'no-bank');
    const file = join(missing, 'wide-bank.db');
    const viaDb = await runLancash(['wide-bank', 'account', 'show', '--db', file]);
    expect(viaDb.code, viaDb.stderr).toBe(2);
    expect(viaDb.stderr).toContain(`--db: no database at ${file}`);
    const before = await runLancash(['wide-bank', '--data', missing, 'account', 'show']);
    expect(before.code, before.stderr).toBe(2);
    expect(before.stderr).toContain(`--data: no wide bank in ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });

  it('--help and --version exit 0; the help states the convention', async () => {
    const help = await runLancash(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes (every command):');
    expect(help.stdout).toMatch(/^ {2}2 {2}a usage mistake/m);
    expect((await runLancash(['--version'])).code).toBe(0);
    expect((await runLancash(['wide-bank', '--help'])).code).toBe(0);
  });
});

/**
 * A server whose address is taken (here by this test's own listener) says so in one plain line
 * naming the address, the flag and what to do, and exits 1 at once: no stack trace, no lingering.
 */
describe('a server on an address already in use', () => {
  const root = mkdtempSync(join(tmpdir(), 'lancash-busy-'));
  const holder: Server = createServer();
  let busy = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    busy = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
  });
  afterEach(() => killAll());
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  const expectRefused = (run: CliRun, command: string, flag: string) => {
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `lancash ${command}: ${busy} is already in use: stop the other server or choose another ${flag} port\n`,
    );
    expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace
  };

  it('the wide bank (--listen, --metrics-listen)', async () => {
    // The last --listen counts (commander), so the free one of wideBankArgs is replaced.
    const bank = wideBankArgs(join(root, 'bank'));
    expectRefused(await runLancash([...bank, '--listen', busy]), 'wide-bank', '--listen');
    expectRefused(await runLancash([...bank, '--metrics-listen', busy]), 'wide-bank', '--metrics-listen');
  });

  it('the gateway (--lan, and --wan after the LAN listener is up)', async () => {
    const bank = await startProcess(wideBankArgs(join(root, 'bank2')));
    const gateway = (lan: string, wan: string) =>
      runLancash([
        'gateway',
        '--lan',
        lan,
        '--wan',
        wan,
        '--wide-bank',
        bank.url,
        '--data',
        join(root, 'gw'),
      ]);
    expectRefused(await gateway(busy, '127.0.0.1:0'), 'gateway', '--lan');
    expectRefused(await gateway('127.0.0.1:0', busy), 'gateway', '--wan');
  });
});
