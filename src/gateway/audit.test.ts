/**
 * The gateway's audit (invariant 2) on every dialect, with a real wide bank and a real gateway in this
 * process on loopback: it balances after job 2, job 1, payroll and payout; jobs whose bank answer was
 * lost are named in flight with their signed corrections and still balance; a tampered row (a local
 * signature deleted, a job's amount changed, a swap's signature deleted, a bank request deleted) is
 * named with its amounts; `lancash audit --gateway-db … --wide-bank-db …` agrees and exits 1 on a
 * difference, 2 on a usage mistake.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hex } from '../core/bytes.js';
import { sealJson } from '../core/envelope/index.js';
import { UnclearOutcome } from '../core/http/client.js';
import { PAYOUT_REQUEST, requestPayout, requestPayroll } from '../core/protocol/gateway.js';
import { DIALECTS } from '../test-support/dialects.js';
import { finish, OPERATOR_TOKEN, startNet, type TestNet, wrapBank } from '../test-support/gateway-net.js';
import { runLancash } from '../test-support/process.js';
import { randomId, Terminal } from '../test-support/terminal.js';
import { auditGateway, type GatewayAudit } from './audit.js';
import type { ReservePort } from './payroll/service.js';

describe.each(DIALECTS)('gateway audit on %s', (dialect) => {
  let net: TestNet;
  /** Answers of the next bank calls to lose after the bank committed, per call. */
  const lose = { issue: 0, receive: 0, claim: 0, withdraw: 0 };

  beforeEach(async () => {
    for (const k of Object.keys(lose) as (keyof typeof lose)[]) lose[k] = 0;
    const lost = async <T>(what: keyof typeof lose, p: Promise<T>): Promise<T> => {
      const answer = await p;
      if (lose[what]-- > 0) throw new UnclearOutcome('network', 'test', `${what} answer lost`);
      return answer;
    };
    net = await startNet(dialect, {
      bank: (real) =>
        wrapBank(real, {
          issue: (...a) => lost('issue', real.issue(...a)),
          receive: (...a) => lost('receive', real.receive(...a)),
        }),
      gateway: {
        reserve: (real): ReservePort => ({
          claim: (ref, amount) => lost('claim', real.claim(ref, amount)),
          withdraw: (ref, amount) => lost('withdraw', real.withdraw(ref, amount)),
        }),
      },
    });
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  const audit = () => auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
  const key = () => net.gw.keys.publicKeyHex;
  const cli = (extra: string[] = []) =>
    runLancash(['audit', '--gateway-db', net.gwStore.url, '--wide-bank-db', net.bankStore.url, ...extra]);

  /** One of each: job 2 (WAN → LAN, 40), payroll (25), job 1 (LAN → WAN, 16), payout (8); not yet run. */
  async function oneOfEach(): Promise<{
    l: Terminal;
    ids: Record<'job2' | 'payroll' | 'job1' | 'payout', string>;
  }> {
    const { bankUrl, lanUrl, wanUrl } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 40);
    const job2 = (
      await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address })
    ).status.transferId;
    await net.bank.ledger.deposit(key(), 25, 'payroll-a');
    const payroll = (
      await requestPayroll({
        base: lanUrl,
        operatorToken: OPERATOR_TOKEN,
        request: { ref: 'payroll-a', amount: 25, to: l.address },
      })
    ).transferId;
    await net.gw.runner.settle();
    await l.receive(lanUrl);
    expect(l.balance(lanUrl)).toBe(65);
    const notes = l.takeAll(lanUrl);
    // 40 and 25 arrive as 32 + 8 and 16 + 8 + 1: job 1 takes the 16, the payout one 8.
    const sixteen = notes.filter((p) => p.amount === 16);
    const eight = notes.filter((p) => p.amount === 8).slice(0, 1);
    l.add(
      lanUrl,
      notes.filter((p) => !sixteen.includes(p) && !eight.includes(p)),
    );
    const job1 = (await l.sendJob(lanUrl, 'lan-to-wan', { proofs: sixteen, destination: w.address })).status
      .transferId;
    const envelope = await sealJson({
      type: PAYOUT_REQUEST,
      transferId: randomId(),
      sender: l.pair,
      recipient: hex(key(), 'gateway key', 32),
      payload: { ref: 'payout-a', proofs: eight },
    });
    const payout = (await requestPayout({ base: lanUrl, operatorToken: OPERATOR_TOKEN, envelope }))
      .transferId;
    return { l, ids: { job2, payroll, job1, payout } };
  }

  it('balances after job 2, payroll, job 1 and payout; the CLI agrees', async () => {
    const empty = await audit();
    expect(empty).toMatchObject({ balanced: true, differences: [], inFlight: [] });
    const { ids } = await oneOfEach();
    for (const id of Object.values(ids)) expect((await finish(net, id)).state).toBe('done');
    const a = await audit();
    expect(a.differences).toEqual([]);
    expect(a.totals).toMatchObject({
      gatewayKey: key(),
      local: { outstanding: 65 - 16 - 8, pending: 0 },
      reserve: 65 - 16 - 8,
      inFlight: { job1: 0, job2: 0, payroll: 0, payout: 0 },
      surplus: { unclaimedDeposits: 0, other: 0 },
      expectedReserve: 41,
      jobs: 4,
    });
    const ok = await cli();
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as { balanced: boolean; gateway: GatewayAudit };
    expect(report.balanced).toBe(true);
    expect(report.gateway.totals.reserve).toBe(41);
  });

  it('names the jobs in flight (answers lost after the bank committed) and still balances', async () => {
    await net.gw.runner.stop();
    const { ids } = await oneOfEach();
    // job 2 and payroll ran in oneOfEach; job 1 and payout lose their answers now.
    lose.issue = 1;
    lose.withdraw = 1;
    await net.gw.runner.settle();
    const a = await audit();
    expect(a.differences).toEqual([]);
    expect(a.inFlight).toEqual(
      expect.arrayContaining([
        {
          job: ids.job1,
          kind: 'job1',
          state: 'issuing',
          correction: -16,
          bankRow: `issue:${key()}:${ids.job1}`,
        },
        {
          job: ids.payout,
          kind: 'payout',
          state: 'issuing',
          correction: -8,
          bankRow: `payout:${key()}:payout-a`,
        },
      ]),
    );
    expect(a.inFlight).toHaveLength(2);
    expect(a.totals).toMatchObject({ reserve: 41, local: { outstanding: 65, pending: 24 } });
    for (const id of [ids.job1, ids.payout]) expect((await finish(net, id)).state).toBe('done');
    expect((await audit()).inFlight).toEqual([]);
  });

  it('names credits in flight: job 2 credited and payroll claimed, not yet generated', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 12);
    lose.receive = 1;
    lose.claim = 1;
    const job2 = (
      await w.sendJob(net.wanUrl, 'wan-to-lan', { proofs: w.takeAll(net.bankUrl), destination: l.address })
    ).status.transferId;
    await net.bank.ledger.deposit(key(), 5, 'payroll-b');
    const payroll = (
      await requestPayroll({
        base: net.lanUrl,
        operatorToken: OPERATOR_TOKEN,
        request: { ref: 'payroll-b', amount: 5, to: l.address },
      })
    ).transferId;
    await net.gw.runner.settle();
    const a = await audit();
    expect(a.differences).toEqual([]);
    expect(a.inFlight.map((f) => [f.job, f.kind, f.correction]).sort()).toEqual(
      [
        [job2, 'job2', 12],
        [payroll, 'payroll', 5],
      ].sort(),
    );
    expect(a.totals).toMatchObject({
      reserve: 17,
      local: { outstanding: 0 },
      inFlight: { job2: 12, payroll: 5 },
    });
    for (const id of [job2, payroll]) expect((await finish(net, id)).state).toBe('done');
    expect(await audit()).toMatchObject({ balanced: true, inFlight: [], totals: { reserve: 17 } });
  });

  it('names a tampered row with its amounts, and lancash audit exits 1', async () => {
    const { ids } = await oneOfEach();
    for (const id of Object.values(ids)) await finish(net, id);
    const gw = net.gwStore.db;

    // 1. A signature of the payroll's local notes deleted: the job and its operation are named.
    const sig = await gw
      .selectFrom('mint_signatures')
      .selectAll()
      .where('operation', '=', `payroll:${ids.payroll}`)
      .orderBy('amount', 'desc')
      .executeTakeFirstOrThrow();
    await gw.deleteFrom('mint_signatures').where('b_', '=', sig.b_).execute();
    let a = await audit();
    expect(a.balanced).toBe(false);
    expect(a.differences).toContainEqual({
      what: `payroll ${ids.payroll}: local notes generated`,
      expected: 25,
      actual: 25 - Number(sig.amount),
      rows: [
        `gateway_jobs:${ids.payroll}`,
        `mint_signatures:operation=payroll:${ids.payroll}`,
        `mint_proofs:operation=payroll:${ids.payroll}`,
      ],
    });
    expect(a.differences).toContainEqual(
      expect.objectContaining({
        what: expect.stringContaining('invariant 2'),
        expected: 41 - Number(sig.amount),
        actual: 41,
      }),
    );
    const bad = await cli();
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ balanced: false, wideBank: { balanced: true } });
    expect(bad.stdout).toContain(`mint_signatures:operation=payroll:${ids.payroll}`);
    expect(bad.stderr).toContain(`payroll ${ids.payroll}: local notes generated: expected 25`);
    await gw.insertInto('mint_signatures').values(sig).execute();
    expect((await audit()).differences).toEqual([]);

    // 2. A job's amount changed: the job is named on both sides.
    await gw.updateTable('gateway_jobs').set({ amount: 41 }).where('id', '=', ids.job2).execute();
    a = await audit();
    expect(a.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          what: `job2 ${ids.job2}: local notes generated`,
          expected: 41,
          actual: 40,
          rows: expect.arrayContaining([`gateway_jobs:${ids.job2}`]),
        }),
        expect.objectContaining({
          what: `job2 ${ids.job2}: value moved at the bank`,
          expected: 41,
          actual: 40,
          rows: [`gateway_jobs:${ids.job2}`, `bank_requests:receive:${key()}:${ids.job2}`],
        }),
      ]),
    );
    expect((await cli()).code).toBe(1);
    await gw.updateTable('gateway_jobs').set({ amount: 40 }).where('id', '=', ids.job2).execute();

    // 3. A swap's signature deleted (the terminal swapped its payments at the local mint).
    const swapSig = await gw
      .selectFrom('mint_signatures')
      .selectAll()
      .where('operation', 'like', 'swap:%')
      .executeTakeFirstOrThrow();
    await gw.deleteFrom('mint_signatures').where('b_', '=', swapSig.b_).execute();
    a = await audit();
    expect(a.differences).toContainEqual(
      expect.objectContaining({
        what: expect.stringContaining(`local mint operation ${swapSig.operation}`),
        actual: expect.any(Number),
        rows: [
          `mint_signatures:operation=${swapSig.operation}`,
          `mint_proofs:operation=${swapSig.operation}`,
        ],
      }),
    );
    await gw.insertInto('mint_signatures').values(swapSig).execute();

    // 4. The bank's request row of job 1 deleted: the job is named with the row it lacks.
    const bankKey = `issue:${key()}:${ids.job1}`;
    const row = await net.bankStore.db
      .selectFrom('bank_requests')
      .selectAll()
      .where('key', '=', bankKey)
      .executeTakeFirstOrThrow();
    await net.bankStore.db.deleteFrom('bank_requests').where('key', '=', bankKey).execute();
    a = await audit();
    expect(a.differences).toContainEqual({
      what: `job1 ${ids.job1}: request at the bank`,
      expected: 1,
      actual: 0,
      rows: [`gateway_jobs:${ids.job1}`, `bank_requests:${bankKey}`],
    });
    await net.bankStore.db.insertInto('bank_requests').values(row).execute();

    const ok = await cli();
    expect(ok.code, ok.stderr).toBe(0);
    const usage = await runLancash(['audit', '--gateway-db', net.gwStore.url]);
    expect(usage.code).toBe(2);
  });

  it("names the local mint's own rows: a swap's note flipped to pending, a copied signature, a keyset's fee", async () => {
    const { ids } = await oneOfEach();
    for (const id of Object.values(ids)) expect((await finish(net, id)).state).toBe('done');
    const gw = net.gwStore.db;
    // 1. A note spent by a swap set back to pending: the row and its amount.
    const note = await gw
      .selectFrom('mint_proofs')
      .selectAll()
      .where('operation', 'like', 'swap:%')
      .executeTakeFirstOrThrow();
    await gw.updateTable('mint_proofs').set({ state: 'pending' }).where('y', '=', note.y).execute();
    expect((await audit()).differences).toContainEqual(
      expect.objectContaining({
        expected: 0,
        actual: note.amount,
        rows: expect.arrayContaining([`mint_proofs:${note.y}`]),
      }),
    );
    await gw.updateTable('mint_proofs').set({ state: 'spent' }).where('y', '=', note.y).execute();
    // 2. A signature row copied under another B_: both rows.
    const sig = await gw
      .selectFrom('mint_signatures')
      .selectAll()
      .where('operation', '=', `job2:${ids.job2}`)
      .executeTakeFirstOrThrow();
    const b_ = `03${'ab'.repeat(32)}`;
    await gw
      .insertInto('mint_signatures')
      .values({ ...sig, b_ })
      .execute();
    expect((await audit()).differences).toContainEqual(
      expect.objectContaining({
        expected: 1,
        actual: 2,
        rows: [`mint_signatures:${sig.b_}`, `mint_signatures:${b_}`].sort(),
      }),
    );
    await gw.deleteFrom('mint_signatures').where('b_', '=', b_).execute();
    // 3. A keyset's fee changed: the fee its id commits to, and the one it shows.
    const ks = await gw.selectFrom('mint_keysets').selectAll().executeTakeFirstOrThrow();
    await gw.updateTable('mint_keysets').set({ input_fee_ppk: 250 }).where('id', '=', ks.id).execute();
    const a = await audit();
    expect(a.differences).toContainEqual(
      expect.objectContaining({ expected: ks.input_fee_ppk, actual: 250, rows: [`mint_keysets:${ks.id}`] }),
    );
    await gw
      .updateTable('mint_keysets')
      .set({ input_fee_ppk: ks.input_fee_ppk })
      .where('id', '=', ks.id)
      .execute();
  });
});
