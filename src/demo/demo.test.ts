/**
 * The main job as a user runs it: `lancash demo --once --json` in a real process must convert in both
 * directions, pay on each network, end with every balance as the scenario implies and the audit
 * balanced, and print one JSON line last.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliRun, runLancash } from '../test-support/process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The README's example of `demo --once --json`: the first ```json block after that command. */
function readmeExample(): unknown {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const after = readme.slice(readme.indexOf('demo --once --json'));
  const block = /```json\n([^`]*)```/.exec(after)?.[1];
  if (block === undefined) throw new Error('README.md: no ```json block after `demo --once --json`');
  return JSON.parse(block);
}

function demo(dataDir: string): Promise<CliRun> {
  return runLancash(['demo', '--once', '--json', '--data', dataDir], { timeoutMs: 120_000 });
}

describe('lancash demo --once --json', () => {
  it('runs both jobs and same-network payments, balances every wallet and the audit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lancash-demo-'));
    dirs.push(dir);
    const { code, stdout, stderr } = await demo(join(dir, 'demo'));
    expect(code, stderr).toBe(0);
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(last.ok).toBe(true);
    // The README shows the first keys of this line: they must be what the demo really prints.
    const example = readmeExample() as Record<string, unknown>;
    expect(last).toMatchObject(example);
    expect(Object.keys(last).slice(0, Object.keys(example).length)).toEqual(Object.keys(example));
    expect(last.jobs).toEqual({ lanToWan: 2, wanToLan: 2, sameNetwork: 2, payroll: 3 });
    expect(last.audit.balanced).toBe(true);
    // The web: the LAN wallet on the gateway's LAN listener, the WAN wallet on the bank, the console.
    expect(last.urls).toMatchObject({
      lanWallet: `${last.urls.gatewayLan}/`,
      wanWallet: `${last.urls.wideBank}/`,
      console: `${last.urls.gatewayLan}/operator`,
      operatorToken: expect.stringMatching(/^[0-9a-f]{48}$/),
    });
    const available = Object.fromEntries(
      Object.entries(last.balances as Record<string, { available: number }>).map(([k, v]) => [
        k,
        v.available,
      ]),
    );
    // Payroll 20.00/15.00/10.00 on the LAN, 50.00 minted by each WAN terminal, then the payments.
    expect(available).toEqual({ alice: 21_50, bob: 11_50, carol: 12_01, dave: 44_74, erin: 55_25 });
    // Its seeds and keys are its user's only (issue 8 item 7): directories 0700, files 0600.
    const modes = (readdirSync(join(dir, 'demo'), { recursive: true }) as string[]).map((f) => {
      const st = statSync(join(dir, 'demo', f));
      return [f, (st.mode & 0o777).toString(8)];
    });
    expect(modes.length).toBeGreaterThan(10);
    for (const [f, mode] of modes)
      expect([f, mode]).toEqual([f, statSync(join(dir, 'demo', f!)).isDirectory() ? '700' : '600']);
    // A second run starts afresh in the same directory (the demo rebuilds what it made).
    const again = await demo(join(dir, 'demo'));
    expect(again.code, again.stderr).toBe(0);
  });

  it('refuses a non-empty directory it did not make, and changes nothing there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lancash-demo-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    const { code, stdout } = await demo(dir);
    expect(code).toBe(1);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: false });
    expect((await import('node:fs')).readdirSync(dir)).toEqual(['precious.txt']);
  });
});
