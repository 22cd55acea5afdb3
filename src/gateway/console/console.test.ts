/**
 * The operator console's API against real `lancash wide-bank` and `lancash gateway` processes, once per
 * dialect: every route wants the operator token; after a payroll, a conversion each way and a refused
 * payroll, the summary, the reserve series, the jobs lists and the gateway-side audit tell the same
 * numbers (reserve == local money outstanding, balanced); a payroll adds a series point soon after it
 * finished; bad queries get 400 with a stable code; a key rotation leaves old notes redeemable and
 * conversions both ways working.
 */
import type { TSchema } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../core/http/client.js';
import { requestPayroll } from '../../core/protocol/gateway.js';
import {
  OPERATOR_AUDIT_PATH,
  OPERATOR_JOBS_PATH,
  OPERATOR_KEYSETS_PATH,
  OPERATOR_ROTATE_PATH,
  OPERATOR_SERIES_PATH,
  OPERATOR_SUMMARY_PATH,
  type OperatorJob,
  type OperatorKeysets,
  type OperatorSummary,
  type ReservePoint,
  type RotateAnswer,
} from '../../core/protocol/operator.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { type ProcessNet, startProcessNet } from '../../test-support/gateway-process.js';
import { codeOf } from '../../test-support/refusals.js';
import { randomId, Terminal, waitForTransfer } from '../../test-support/terminal.js';

const TOKEN = 'console-test-operator-token';

describe.each(DIALECTS)('operator console API on %s (real processes)', (dialect) => {
  let net: ProcessNet;
  const op = <T>(method: 'GET' | 'POST', path: string, o: { token?: string; schema?: TSchema } = {}) =>
    call<T>({
      base: net.lan,
      method,
      path,
      headers: { authorization: `Bearer ${o.token ?? TOKEN}` },
    });
  const poll = async <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
    for (;;) {
      const v = await read();
      if (done(v)) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    net = await startProcessNet({ dialect, env: { LANCASH_OPERATOR_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await net?.close();
  });

  it('every route wants the operator token: 401 (74001) without it or with a wrong one', async () => {
    const routes: ['GET' | 'POST', string][] = [
      ['GET', OPERATOR_SUMMARY_PATH],
      ['GET', `${OPERATOR_SERIES_PATH}?since=0`],
      ['GET', `${OPERATOR_JOBS_PATH}?state=done`],
      ['POST', OPERATOR_AUDIT_PATH],
      ['GET', OPERATOR_KEYSETS_PATH],
      ['POST', OPERATOR_ROTATE_PATH],
    ];
    for (const [method, path] of routes) {
      expect(await codeOf(call({ base: net.lan, method, path }))).toBe(74001);
      expect(await codeOf(op(method, path, { token: 'wrong' }))).toBe(74001);
    }
    // Not even on the WAN listener.
    const wan = { base: net.wan, method: 'GET' as const, headers: { authorization: `Bearer ${TOKEN}` } };
    expect(await codeOf(call({ ...wan, path: OPERATOR_SUMMARY_PATH }))).toBe(72002);
    // The token was checked before anything else: the keyset did not rotate.
    const ks = await op<OperatorKeysets>('GET', OPERATOR_KEYSETS_PATH);
    expect(ks.keysets).toHaveLength(1);
  });

  it('bad queries: 400 with a stable code, nothing changes', async () => {
    expect(await codeOf(op('GET', `${OPERATOR_JOBS_PATH}?state=lost`))).toBe(70000);
    expect(await codeOf(op('GET', `${OPERATOR_JOBS_PATH}?limit=0`))).toBe(70000);
    expect(await codeOf(op('GET', `${OPERATOR_JOBS_PATH}?limit=1001`))).toBe(70000);
    expect(await codeOf(op('GET', `${OPERATOR_SERIES_PATH}?since=yesterday`))).toBe(70000);
    expect(await codeOf(op('GET', `${OPERATOR_SERIES_PATH}?until=1`))).toBe(70000);
  });

  it('after a payroll, a conversion each way and a refused payroll: summary, series, jobs and audit agree', async () => {
    // Job 2 (WAN → LAN) of 30, a payroll of 50 to another terminal, then job 1 (LAN → WAN) of the 30.
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 30);
    const job2 = await w.sendJob(net.wan, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    expect(await waitForTransfer(net.wan, job2.status.transferId)).toMatchObject({ state: 'done' });
    await l.receive(net.lan);

    const before = Date.now();
    const ref = `salary-${randomId()}`;
    await net.ledger.deposit(net.gatewayKey, 50, ref);
    const payroll = await requestPayroll({
      base: net.lan,
      operatorToken: TOKEN,
      request: { ref, amount: 50, to: (await Terminal.create('lan')).address },
    });
    expect(await waitForTransfer(net.lan, payroll.transferId)).toMatchObject({ state: 'done' });
    // The chart moves soon after the payroll: a point with the new local money (no timed assertion).
    const series = await poll(
      () => op<{ points: ReservePoint[] }>('GET', `${OPERATOR_SERIES_PATH}?since=${before}`),
      (s) => s.points.some((p) => p.outstanding === 80 && p.reserve === 80),
    );
    expect(series.points.every((p) => p.at >= before)).toBe(true);
    expect(series.points.map((p) => p.at)).toEqual([...series.points.map((p) => p.at)].sort((a, b) => a - b));

    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(net.lan, 'lan-to-wan', {
      proofs: l.takeAll(net.lan),
      destination: w2.address,
    });
    expect(await waitForTransfer(net.lan, job1.status.transferId)).toMatchObject({ state: 'done' });

    // A payroll against no deposit: refused by the bank, nothing generated.
    const bad = await requestPayroll({
      base: net.lan,
      operatorToken: TOKEN,
      request: { ref: `nothing-${randomId()}`, amount: 5, to: l.address },
    });
    expect(await waitForTransfer(net.lan, bad.transferId)).toMatchObject({ state: 'refused' });

    const summary = await op<OperatorSummary>('GET', OPERATOR_SUMMARY_PATH);
    expect(summary).toMatchObject({ unit: 'eur', reserve: 50, outstanding: 50, inFlight: 0 });
    const count = (kind: string, state: string) =>
      summary.jobs.find((j) => j.kind === kind && j.state === state)?.count ?? 0;
    expect(count('transfer', 'done')).toBe(2);
    expect(count('payroll', 'done')).toBe(1);
    expect(count('payroll', 'refused')).toBe(1);
    for (const j of summary.jobs) expect(j.oldestAt).toBeGreaterThan(0);

    const done = await op<{ jobs: OperatorJob[] }>('GET', `${OPERATOR_JOBS_PATH}?state=done&limit=10`);
    expect(done.jobs.map((j) => j.transferId).sort()).toEqual(
      [job2.status.transferId, payroll.transferId, job1.status.transferId].sort(),
    );
    expect(done.jobs.find((j) => j.transferId === job1.status.transferId)).toMatchObject({
      kind: 'transfer',
      direction: 'lan-to-wan',
      amount: 30,
      destination: w2.address,
    });
    const refused = await op<{ jobs: OperatorJob[] }>('GET', `${OPERATOR_JOBS_PATH}?state=refused`);
    expect(refused.jobs).toHaveLength(1);
    expect(refused.jobs[0]).toMatchObject({ transferId: bad.transferId, kind: 'payroll', code: 72002 });
    expect(refused.jobs[0]!.reason).toMatch(/deposit/);
    const one = await op<{ jobs: OperatorJob[] }>('GET', `${OPERATOR_JOBS_PATH}?limit=1`);
    expect(one.jobs).toHaveLength(1);

    const audit = await op<{
      balanced: boolean;
      totals: { reserve: number; local: { outstanding: number }; jobs: number };
      checked: string[];
      notChecked: string[];
    }>('POST', OPERATOR_AUDIT_PATH);
    expect(audit.balanced).toBe(true);
    expect(audit.totals).toMatchObject({ reserve: 50, local: { outstanding: 50 }, jobs: 4 });
    expect(audit.checked.length).toBeGreaterThan(0);
    expect(audit.notChecked.length).toBeGreaterThan(0);
    expect(await net.audit()).toEqual([]);
  });

  it('the audit route finds money missing from the reserve, and balances once it is back', async () => {
    const summary = await op<OperatorSummary>('GET', OPERATOR_SUMMARY_PATH);
    expect(summary.reserve).toBe(summary.outstanding);
    // The bank's operator takes 7 out of the reserve behind the gateway's back.
    await net.ledger.withdraw(net.gatewayKey, 7, `oops-${randomId()}`);
    type Report = { balanced: boolean; differences: { what: string; expected: number; actual: number }[] };
    const short = await op<Report>('POST', OPERATOR_AUDIT_PATH);
    expect(short.balanced).toBe(false);
    expect(short.differences).toContainEqual(expect.objectContaining({ expected: 0, actual: -7 }));
    expect((await op<OperatorSummary>('GET', OPERATOR_SUMMARY_PATH)).reserve).toBe(summary.outstanding - 7);
    await net.ledger.deposit(net.gatewayKey, 7, `back-${randomId()}`);
    expect((await op<Report>('POST', OPERATOR_AUDIT_PATH)).balanced).toBe(true);
    expect(await net.audit()).toEqual([]);
  });

  it('key rotation: the old keyset stays redeemable, conversions both ways succeed after it', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 40);
    const first = await w.sendJob(net.wan, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    expect(await waitForTransfer(net.wan, first.status.transferId)).toMatchObject({ state: 'done' });
    await l.receive(net.lan);
    const oldNotes = l.takeAll(net.lan);

    const before = await op<OperatorKeysets>('GET', OPERATOR_KEYSETS_PATH);
    const rotated = await op<RotateAnswer>('POST', OPERATOR_ROTATE_PATH);
    expect(rotated.previous).toBe(before.active);
    expect(rotated.active).toMatchObject({ active: true, outstanding: 0, inputFeePpk: 0 });
    const after = await op<OperatorKeysets>('GET', OPERATOR_KEYSETS_PATH);
    expect(after.active).toBe(rotated.active.id);
    expect(after.keysets.find((k) => k.id === before.active)).toMatchObject({ active: false });
    expect(after.keysets.find((k) => k.id === before.active)!.outstanding).toBeGreaterThan(0);

    // Old notes: LAN → WAN straight away (job 1 takes them as inputs).
    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(net.lan, 'lan-to-wan', { proofs: oldNotes, destination: w2.address });
    expect(await waitForTransfer(net.lan, job1.status.transferId)).toMatchObject({
      state: 'done',
      amount: 40,
    });
    // WAN → LAN: the new local notes are of the new keyset.
    await w.mintWide(net.bankUrl, 9);
    const job2 = await w.sendJob(net.wan, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    expect(await waitForTransfer(net.wan, job2.status.transferId)).toMatchObject({
      state: 'done',
      amount: 9,
    });
    const got = await l.receive(net.lan);
    expect(new Set(got.payments[0]!.proofs.map((p) => p.id))).toEqual(new Set([rotated.active.id]));

    const audit = await op<{ balanced: boolean }>('POST', OPERATOR_AUDIT_PATH);
    expect(audit.balanced).toBe(true);
    expect(await net.audit()).toEqual([]);
  });
});
