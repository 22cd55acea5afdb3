/**
 * Issue 8 item 4, "free money by default": `lancash wide-bank` once served the fake Lightning backend
 * when no backend was named, so anyone could mint wide money without paying. Against real processes:
 * without `--lightning` the bank refuses to start (a usage error naming the flag and its choices);
 * `--lightning fake` starts but says so on stderr, in the log, in `GET /v1/info` and in a metric;
 * `--lightning none` serves no bolt11 quotes at all, so nothing can be minted over Lightning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAll, runLancash, startProcess } from '../test-support/process.js';
import { expectBankBalanced } from '../test-support/system.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-free-money-'));
afterEach(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wide bank: no Lightning backend by default (fail closed)', () => {
  it('refuses to start without --lightning, naming the flag and the choices (exit 2)', async () => {
    const data = join(dir, 'none-given');
    // The old default served the fake backend and listened: the timeout ends that run with no exit code.
    const run = await runLancash(['wide-bank', '--listen', '127.0.0.1:0', '--data', data], {
      timeoutMs: 30_000,
    });
    expect(run.stdout).not.toMatch(/listening on/);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^lancash wide-bank: --lightning .*required/m);
    expect(run.stderr).toMatch(/fake/);
    expect(run.stderr).toMatch(/none/);
    // An unknown backend is the same usage error.
    const unknown = await runLancash(
      ['wide-bank', '--listen', '127.0.0.1:0', '--data', data, '--lightning', 'lnd'],
      { timeoutMs: 30_000 },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--lightning: unknown backend "lnd" \(choices: fake, none\)/);
  });

  it('with --lightning fake it mints for free, and says so loudly everywhere', async () => {
    const data = join(dir, 'fake');
    const bank = await startProcess([
      'wide-bank',
      '--listen',
      '127.0.0.1:0',
      '--data',
      data,
      '--lightning',
      'fake',
    ]);
    // A plain line before the JSON log, and the log's own warning.
    expect(bank.stderr()).toMatch(/^WARNING: .*fake Lightning.*mints wide money without payment/im);
    expect(bank.stderr()).toMatch(/"level":40,.*fake Lightning/i);
    const info = (await (await request(`${bank.url}/v1/info`)).body.json()) as { description: string };
    expect(info.description).toMatch(/FAKE LIGHTNING/);
    const metrics = await (await request(`${bank.url}/metrics`)).body.text();
    expect(metrics).toMatch(/^lancash_lightning_backend\{backend="fake"[^}]*\} 1$/m);
    // What the warning is about: a quote is paid the moment it exists.
    const quote = await request(`${bank.url}/v1/mint/quote/bolt11`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1000, unit: 'eur' }),
    });
    expect(quote.statusCode).toBe(200);
    const { quote: id } = (await quote.body.json()) as { quote: string };
    const state = await request(`${bank.url}/v1/mint/quote/bolt11/${id}`);
    expect(((await state.body.json()) as { state: string }).state).toBe('PAID');
    await bank.kill();
    await expectBankBalanced(data);
  });

  it('with --lightning none it serves no bolt11 quotes: nothing is minted over Lightning', async () => {
    const data = join(dir, 'none');
    const bank = await startProcess([
      'wide-bank',
      '--listen',
      '127.0.0.1:0',
      '--data',
      data,
      '--lightning',
      'none',
    ]);
    expect(bank.stderr()).not.toMatch(/WARNING/);
    const quote = await request(`${bank.url}/v1/mint/quote/bolt11`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1000, unit: 'eur' }),
    });
    expect(quote.statusCode).toBe(404);
    await quote.body.dump();
    const info = (await (await request(`${bank.url}/v1/info`)).body.json()) as {
      description: string;
      nuts: Record<string, { disabled?: boolean; methods?: unknown[] }>;
    };
    expect(info.description).not.toMatch(/FAKE/);
    expect(info.nuts['4']).toEqual({ methods: [], disabled: true });
    expect(info.nuts['5']).toEqual({ methods: [], disabled: true });
    const metrics = await (await request(`${bank.url}/metrics`)).body.text();
    expect(metrics).toMatch(/^lancash_lightning_backend\{backend="none"[^}]*\} 1$/m);
    await bank.kill();
    await expectBankBalanced(data);
  });
});
