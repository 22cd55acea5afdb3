/**
 * One exit-code convention for every `lancash` command (docs/operations.md "Exit codes"): 0 done,
 * 1 refused or failed, 2 a usage mistake with a message that names the flag. commander's own errors
 * (unknown option, missing option or value, unknown command) follow it too, not commander's 1.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLancash } from '../test-support/process.js';

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

  it('--help and --version exit 0; the help states the convention', async () => {
    const help = await runLancash(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes (every command):');
    expect(help.stdout).toMatch(/^ {2}2 {2}a usage mistake/m);
    expect((await runLancash(['--version'])).code).toBe(0);
    expect((await runLancash(['wide-bank', '--help'])).code).toBe(0);
  });
});
