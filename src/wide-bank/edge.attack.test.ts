/**
 * Attacks on the wide bank's HTTP edge (issue 8, item 10) against real `lancash wide-bank` processes.
 *   - A full disk answers 503 `StorageUnavailable` (retry later), never 500: the process runs with a
 *     file size limit (RLIMIT_FSIZE) just above what its database needs, so SQLite's writes fail for
 *     real (SQLITE_FULL / SQLITE_IOERR_WRITE), on a route whose repository writes outside a transaction.
 *   - `--metrics-listen`: `/metrics` and `/docs/json` leave the WAN listener for the operators' one.
 *   - `--trust-proxy`: the rate limit keys on `X-Forwarded-For` only from the proxies named; a bad
 *     entry is a usage mistake.
 * The bank's audit (invariant 1) is checked after each test that moved anything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sendJson } from '../test-support/http.js';
import { killAll, runLancash, startProcess, wideBankArgs } from '../test-support/process.js';
import { expectBankBalanced } from '../test-support/system.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-bank-edge-'));
  dirs.push(dir);
  return dir;
}

describe('wide bank edge attack', () => {
  afterEach(() => killAll());
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 StorageUnavailable, not 500, when the disk is full; reads still work', async () => {
    const data = freshDir();
    // First start: the database and its migrations, then a clean stop (the WAL is folded back).
    const first = await startProcess(wideBankArgs(data));
    expect(await first.kill()).toBe(0);
    // Again, with room for only a few more pages of write-ahead log.
    const bank = await startProcess(wideBankArgs(data), { maxFileBytes: 64 * 1024 });
    let refusal: { status: number; json: { code: number; error: string } } | undefined;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      const r = await sendJson(bank.url, 'POST', '/v1/mint/quote/bolt11', { amount: 1, unit: 'eur' });
      if (r.status !== 200) refusal = r;
    }
    expect(refusal, 'the file size limit never bit').toBeDefined();
    expect(refusal?.status, JSON.stringify(refusal?.json)).toBe(503);
    expect(refusal?.json).toMatchObject({ code: 79001, error: 'StorageUnavailable' });
    // The process is up and reads are served.
    expect((await sendJson(bank.url, 'GET', '/v1/keysets')).status).toBe(200);
    expect(await bank.kill()).toBe(0);
    await expectBankBalanced(data);
  });

  it('serves /metrics and /docs/json on --metrics-listen only, and trusts X-Forwarded-For from --trust-proxy', async () => {
    const data = freshDir();
    const bank = await startProcess(
      wideBankArgs(data, '--metrics-listen', '127.0.0.1:0', '--trust-proxy', '127.0.0.0/8'),
      { listeners: 2 },
    );
    const [wan, ops] = bank.urls as [string, string];
    for (const path of ['/metrics', '/docs/json']) {
      const res = await request(`${wan}${path}`);
      expect([path, res.statusCode]).toEqual([path, 404]);
      await res.body.dump();
    }
    expect((await sendJson(wan, 'GET', '/v1/info')).status).toBe(200);
    const metrics = await request(`${ops}/metrics`);
    expect(metrics.statusCode).toBe(200);
    const text = await metrics.body.text();
    expect(text).toMatch(
      /http_requests_total\{server="wide-bank",method="GET",route="\/v1\/info",status="200"\}/,
    );
    expect(text).toContain('lancash_bank_value_total');
    const docs = await sendJson(ops, 'GET', '/docs/json');
    expect(Object.keys(docs.json.paths)).toContain('/v1/swap');

    // Each client the trusted proxy forwards has a budget of its own.
    const remaining = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await request(`${wan}/v1/info`, {
          headers: { 'x-forwarded-for': `198.51.100.${i + 1}` },
        });
        await res.body.dump();
        return Number(res.headers['x-ratelimit-remaining']);
      }),
    );
    expect(new Set(remaining).size).toBe(1);
    expect(await bank.kill()).toBe(0);
  });

  it('refuses a --trust-proxy entry that is not an address or CIDR block (usage, exit 2)', async () => {
    for (const bad of ['true', '10.0.0.0/33', 'proxy.example', '::1/129']) {
      const run = await runLancash(wideBankArgs(freshDir(), '--trust-proxy', bad), { timeoutMs: 30_000 });
      expect([bad, run.code]).toEqual([bad, 2]);
      expect(run.stderr).toContain('trust-proxy');
    }
  });
});
