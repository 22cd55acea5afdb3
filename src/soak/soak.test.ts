/**
 * `lancash soak`: a short run (half a minute of traffic, one kill -9 of each server) must come out
 * clean, and the checker must see each way a run can go wrong: a unit too many or too few in a
 * wallet, money left pending, a job still running or ended twice, an audit that does not balance.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import { DIALECTS, freshDatabase } from '../test-support/dialects.js';
import { runLancash } from '../test-support/process.js';
import { type AuditFacts, checkSoak, readJournal, type SoakFacts } from './check.js';
import type { SoakReport } from './run.js';

const audit: AuditFacts = {
  balanced: true,
  moneyIn: 1000,
  wideOutstanding: 600,
  localOutstanding: 400,
  reserve: 400,
  differences: [],
};
const clean: SoakFacts = {
  wallets: [
    { address: 'lan1a', network: 'lan', available: 400, pending: 0, open: 0 },
    { address: 'wan1b', network: 'wan', available: 600, pending: 0, open: 0 },
  ],
  journal: { active: [], twiceTerminal: [], byState: { done: 3 } },
  audit,
  payroll: 400,
  unsettled: 0,
};

describe('the soak checker', () => {
  it('finds nothing in a clean run', () => {
    expect(checkSoak(clean)).toEqual([]);
  });

  it('finds a unit made or lost in a wallet, and names the network', () => {
    const made = checkSoak({
      ...clean,
      wallets: [clean.wallets[0]!, { ...clean.wallets[1]!, available: 601 }],
    });
    expect(made).toEqual([
      'wallets hold 1001, but 1000 came in (funding): 1 off',
      'WAN wallets hold 601, the bank has 600 wide notes outstanding',
    ]);
    const lost = checkSoak({
      ...clean,
      wallets: [{ ...clean.wallets[0]!, available: 399 }, clean.wallets[1]!],
    });
    expect(lost).toContain('LAN wallets hold 399, the gateway has 400 local money outstanding');
  });

  it('finds money left pending, operations not ended, jobs running or ended twice', () => {
    const d = checkSoak({
      ...clean,
      wallets: [{ ...clean.wallets[0]!, pending: 5, open: 1 }, clean.wallets[1]!],
      journal: {
        active: [{ id: 'j1', state: 'delivering', notice: 'none' }],
        twiceTerminal: [{ id: 'j2', terminals: ['done', 'refused'] }],
        byState: {},
      },
      unsettled: 2,
    });
    expect(d).toEqual([
      'wallet lan1a: 5 still pending',
      'wallet lan1a: 1 operation(s) not ended',
      '2 wallet operation(s) still open when settling gave up',
      'gateway job j1: still delivering (notice none)',
      'gateway job j2: ended twice (done, refused)',
    ]);
  });

  it('finds an audit that does not balance, and a reserve that is not the local money', () => {
    const d = checkSoak({
      ...clean,
      audit: { ...audit, balanced: false, reserve: 399, differences: ['{"what":"x"}'] },
    });
    expect(d).toEqual([
      'the reserve holds 399, the local money outstanding is 400',
      'lancash audit: not balanced',
      'lancash audit: {"what":"x"}',
    ]);
  });
});

describe.each(DIALECTS)('the gateway journal as the soak reads it (%s)', (dialect) => {
  it('names a job still active and a job whose history ends twice', async () => {
    const fresh = await freshDatabase(dialect);
    const store = await openStore(fresh.config);
    try {
      const job = (id: string, state: 'done' | 'delivering', active: number) => ({
        id,
        direction: 'lan-to-wan' as const,
        state,
        active,
        sender_key: 'aa',
        request_hash: id,
        destination: 'wan1x',
        destination_key: 'bb',
        reply_to: null,
        amount: 5,
        journal: '{}',
        notice: 'none' as const,
        refusal: null,
        attempts: 0,
        next_attempt_at: 0,
        last_error: null,
        created_at: 1,
        updated_at: 2,
      });
      await store.db
        .insertInto('gateway_jobs')
        .values([job('ok', 'done', 0), job('twice', 'done', 0), job('stuck', 'delivering', 1)])
        .execute();
      const event = (job_id: string, seq: number, to_state: string) => ({
        job_id,
        seq,
        from_state: 'issuing',
        to_state,
        at: seq,
        detail: '',
      });
      // The doctored history: `twice` ended done, then refused as well.
      await store.db
        .insertInto('gateway_job_events')
        .values([event('ok', 1, 'done'), event('twice', 1, 'done'), event('twice', 2, 'refused')])
        .execute();
      const j = await readJournal(store.db);
      expect(j.active).toEqual([{ id: 'stuck', state: 'delivering', notice: 'none' }]);
      expect(j.twiceTerminal).toEqual([{ id: 'twice', terminals: ['done', 'refused'] }]);
      expect(j.byState).toEqual({ done: 2, delivering: 1 });
    } finally {
      await store.close();
      await fresh.drop();
    }
  });
});

describe('lancash soak, a short run', () => {
  it('refuses a usage mistake with exit 2, starting nothing', async () => {
    const run = await runLancash(['soak', '--minutes', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--minutes must be a number above 0');
    const dialect = await runLancash(['soak', '--dialect', 'mysql']);
    expect(dialect.code).toBe(2);
    expect(dialect.stderr).toContain("--dialect: sqlite or postgres, got 'mysql'");
    const gateways = await runLancash(['soak', '--gateways', '2']);
    expect(gateways.code).toBe(2);
    expect(gateways.stderr).toContain('--gateways above 1 needs --dialect postgres');
  });

  it(
    'holds traffic through faults and a kill -9 of each server, and ends clean to the unit',
    async () => {
      const run = await runLancash(['soak', '--minutes', '0.5', '--seed', '12', '--json'], {
        timeoutMs: 12 * 60_000,
      });
      expect(run.stderr).toBe('');
      const report = JSON.parse(run.stdout) as SoakReport;
      expect(report.differences).toEqual([]);
      expect(report.ok).toBe(true);
      expect(run.code).toBe(0);
      expect(report.kills.map((k) => k.process).sort()).toEqual(['gateway', 'wide-bank']);
      expect(report.faults.requests).toBeGreaterThan(0);
      // A kill can take much of half a minute on a loaded machine: some conversion, either way.
      const converted =
        (report.operations['lan-to-wan']?.ok ?? 0) + (report.operations['wan-to-lan']?.ok ?? 0);
      expect(converted).toBeGreaterThan(0);
      expect(report.operations.payroll?.ok).toBeGreaterThan(0);
      expect(report.money.wallets).toBe(report.money.in);
      expect(report.audit.balanced).toBe(true);
    },
    15 * 60_000,
  );
});
