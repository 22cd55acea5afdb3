/**
 * Payroll and payout on every dialect, with a real wide bank and a real gateway in this process on
 * loopback: a deposit into the reserve becomes local money at a LAN address exactly once (replays,
 * racing requests, a lost claim answer), is refused with nothing generated for an unknown ref or
 * another amount, and may be tried again once the deposit is right; a terminal's local notes are paid
 * out of the reserve exactly once (held pending, erased only on the bank's receipt, released on a
 * refusal, the terminal told either way); the per-terminal history names every one. After every test
 * the wide bank's audit (invariant 1) and the gateway's (invariant 2) balance.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hex } from '../../core/bytes.js';
import { generateEncryptionKeyPair, sealJson } from '../../core/envelope/index.js';
import { isLancashError } from '../../core/errors.js';
import { call, UnclearOutcome } from '../../core/http/client.js';
import {
  type OperatorJobStatus,
  PAYOUT_PATH,
  PAYOUT_REQUEST,
  type PayoutRequest,
  type PayrollRequest,
  requestPayout,
  requestPayroll,
} from '../../core/protocol/gateway.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { finish, OPERATOR_TOKEN, startNet, type TestNet } from '../../test-support/gateway-net.js';
import { stateOf } from '../../test-support/notes.js';
import { codeOf } from '../../test-support/refusals.js';
import { randomId, Terminal } from '../../test-support/terminal.js';
import { auditGateway } from '../audit.js';
import type { ReservePort } from './service.js';

describe.each(DIALECTS)('payroll and payout on %s', (dialect) => {
  let net: TestNet;
  /** How many answers of the next reserve calls to lose after the bank committed. */
  const lose = { claim: 0, withdraw: 0 };
  let calls: { claim: number; withdraw: number };

  beforeEach(async () => {
    lose.claim = 0;
    lose.withdraw = 0;
    calls = { claim: 0, withdraw: 0 };
    const losing = (real: ReservePort): ReservePort => ({
      claim: async (ref, amount) => {
        calls.claim++;
        const receipt = await real.claim(ref, amount);
        if (lose.claim-- > 0) throw new UnclearOutcome('network', 'test', 'claim answer lost');
        return receipt;
      },
      withdraw: async (ref, amount) => {
        calls.withdraw++;
        const receipt = await real.withdraw(ref, amount);
        if (lose.withdraw-- > 0) throw new UnclearOutcome('network', 'test', 'withdraw answer lost');
        return receipt;
      },
    });
    net = await startNet(dialect, { gateway: { reserve: losing } });
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    const audit = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
    expect(audit.differences).toEqual([]);
    await net.close();
  });

  const gatewayKey = () => net.gw.keys.publicKeyHex;
  const deposit = (amount: number, ref: string) => net.bank.ledger.deposit(gatewayKey(), amount, ref);
  const payroll = (request: PayrollRequest, token = OPERATOR_TOKEN): Promise<OperatorJobStatus> =>
    requestPayroll({ base: net.lanUrl, operatorToken: token, request });
  const bankRows = (prefix: string) =>
    net.bankStore.db.selectFrom('bank_requests').select('key').where('key', 'like', `${prefix}%`).execute();

  async function sealPayout(from: Terminal, payload: PayoutRequest, transferId = randomId()) {
    return sealJson({
      type: PAYOUT_REQUEST,
      transferId,
      sender: from.pair,
      recipient: hex(gatewayKey(), 'gateway key', 32),
      payload,
    });
  }

  /** Local money for a fresh LAN terminal through a payroll. */
  async function paidTerminal(amount: number, ref = `seed-${randomId()}`): Promise<Terminal> {
    const l = await Terminal.create('lan');
    await deposit(amount, ref);
    const s = await payroll({ ref, amount, to: l.address });
    expect(await finish(net, s.transferId)).toMatchObject({ state: 'done' });
    await l.receive(net.lanUrl);
    expect(l.balance(net.lanUrl)).toBe(amount);
    return l;
  }

  it('payroll: a deposit into the reserve becomes local money at the LAN address, once', async () => {
    const l = await Terminal.create('lan');
    await deposit(250, 'payroll-2026-11');
    const request = { ref: 'payroll-2026-11', amount: 250, to: l.address, memo: 'November' };
    const s = await payroll(request);
    expect(s).toMatchObject({
      kind: 'payroll',
      ref: 'payroll-2026-11',
      direction: 'wan-to-lan',
      state: 'receiving',
      amount: 250,
    });
    // The operator's retry (the same request) is the same job.
    expect((await payroll(request)).transferId).toBe(s.transferId);
    await net.gw.runner.settle();
    expect(await net.gw.jobs.status(s.transferId)).toMatchObject({ state: 'done' });
    const got = await l.receive(net.lanUrl);
    expect(got.payments).toHaveLength(1);
    expect(got.payments[0]).toMatchObject({
      mint: net.lanUrl,
      unit: 'eur',
      memo: 'November',
      via: { gateway: gatewayKey(), direction: 'wan-to-lan' },
    });
    expect(l.balance(net.lanUrl)).toBe(250);
    expect(await net.reserve()).toBe(250);
    expect(await net.localOutstanding()).toBe(250);
    // Once done, the same request still answers the same job; another amount under the ref is refused.
    expect(await payroll(request)).toMatchObject({ transferId: s.transferId, state: 'done' });
    expect(await codeOf(payroll({ ...request, amount: 249 }))).toBe(72001);
    expect(await bankRows('claim:')).toEqual([{ key: `claim:${gatewayKey()}:payroll-2026-11` }]);
    expect(calls.claim).toBe(1);
    const job = await net.gw.jobs.job(s.transferId);
    expect(job?.journal).toMatchObject({
      reserveReceipt: { kind: 'claim', ref: 'payroll-2026-11', amount: 250, account: gatewayKey() },
    });
  });

  it('payroll refused (no such deposit, another amount): nothing generated; the ref may be tried again', async () => {
    const l = await Terminal.create('lan');
    const unknown = await payroll({ ref: 'p-1', amount: 100, to: l.address });
    expect(await finish(net, unknown.transferId)).toMatchObject({
      state: 'refused',
      refusal: { code: 72002 },
    });
    await deposit(100, 'p-1');
    const wrong = await payroll({ ref: 'p-1', amount: 90, to: l.address });
    expect(wrong.transferId).not.toBe(unknown.transferId);
    expect(await finish(net, wrong.transferId)).toMatchObject({ state: 'refused', refusal: { code: 70001 } });
    expect(await net.localOutstanding()).toBe(0);
    expect(await bankRows('claim:')).toEqual([]);
    // The deposit waits for a right request; until then the reserve holds it as a surplus.
    const waiting = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
    expect(waiting.totals).toMatchObject({ reserve: 100, surplus: { unclaimedDeposits: 100, other: 0 } });
    const right = await payroll({ ref: 'p-1', amount: 100, to: l.address });
    expect(await finish(net, right.transferId)).toMatchObject({ state: 'done' });
    await l.receive(net.lanUrl);
    expect(l.balance(net.lanUrl)).toBe(100);
    expect(await net.localOutstanding()).toBe(100);
  });

  it('payroll intake refusals change nothing: no token, a WAN address, a bad amount', async () => {
    const l = await Terminal.create('lan');
    const w = await Terminal.create('wan');
    await deposit(5, 'r');
    expect(await codeOf(payroll({ ref: 'r', amount: 5, to: l.address }, 'wrong'))).toBe(74001);
    expect(await codeOf(payroll({ ref: 'r', amount: 5, to: w.address }))).toBe(71005);
    expect(await codeOf(payroll({ ref: 'r', amount: 0, to: l.address }))).toBe(70000);
    expect(await codeOf(payroll({ ref: '', amount: 5, to: l.address }))).toBe(70000);
    const jobs = await net.gwStore.db.selectFrom('gateway_jobs').select('id').execute();
    expect(jobs).toEqual([]);
  });

  it('payroll: racing requests for one ref make one job; a lost claim answer is retried, one claim', async () => {
    const l = await Terminal.create('lan');
    await deposit(64, 'race');
    await net.gw.runner.stop();
    const all = await Promise.all(
      Array.from({ length: 12 }, () => payroll({ ref: 'race', amount: 64, to: l.address })),
    );
    expect(new Set(all.map((s) => s.transferId)).size).toBe(1);
    lose.claim = 2;
    const id = all[0]!.transferId;
    await net.gw.runner.settle();
    const stuck = await net.gw.jobs.job(id);
    expect(stuck).toMatchObject({ state: 'receiving', attempts: 1 });
    expect(stuck?.lastError).toContain('claim answer lost');
    // The bank claimed it already: in flight, and the audit says so.
    const audit = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
    expect(audit.balanced).toBe(true);
    expect(audit.inFlight).toEqual([
      { job: id, kind: 'payroll', state: 'receiving', correction: 64, bankRow: `claim:${gatewayKey()}:race` },
    ]);
    expect(await finish(net, id)).toMatchObject({ state: 'done' });
    expect(calls.claim).toBe(3);
    expect(await bankRows('claim:')).toHaveLength(1);
    const got = await l.receive(net.lanUrl);
    expect(got.payments).toHaveLength(1);
    expect(l.balance(net.lanUrl)).toBe(64);
    expect(await net.localOutstanding()).toBe(64);
  });

  it('payout: local notes leave through the reserve once; held pending until the bank’s receipt', async () => {
    const l = await paidTerminal(120);
    const proofs = l.takeAll(net.lanUrl);
    await net.gw.runner.stop();
    const envelope = await sealPayout(l, { ref: 'payout-7', proofs, replyTo: l.address });
    const s = await requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope });
    expect(s).toMatchObject({ kind: 'payout', ref: 'payout-7', direction: 'lan-to-wan', state: 'issuing' });
    expect(await stateOf(net.lanUrl, proofs)).toEqual(proofs.map(() => 'PENDING'));
    // Replayed envelope: the same job.
    expect(
      (await requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope })).transferId,
    ).toBe(s.transferId);
    lose.withdraw = 1;
    expect(await finish(net, s.transferId)).toMatchObject({ state: 'done', amount: 120 });
    expect(calls.withdraw).toBe(2);
    expect(await stateOf(net.lanUrl, proofs)).toEqual(proofs.map(() => 'SPENT'));
    expect(await net.reserve()).toBe(0);
    expect(await net.localOutstanding()).toBe(0);
    expect(await net.bank.ledger.balance('funding')).toBe(0);
    expect(await bankRows('payout:')).toEqual([{ key: `payout:${gatewayKey()}:payout-7` }]);
    const { notices } = await l.receive(net.lanUrl);
    expect(notices).toEqual([
      { transferId: s.transferId, status: expect.objectContaining({ state: 'done' }) },
    ]);
    expect((await net.gw.jobs.job(s.transferId))?.notice).toBe('sent');
  });

  it('payout refused (reserve short): the notes are released and the terminal told; spent notes are refused at intake', async () => {
    const l = await paidTerminal(40);
    const proofs = l.takeAll(net.lanUrl);
    // The bank's operator takes money out of the reserve directly: it no longer covers a payout.
    await net.bank.ledger.withdraw(gatewayKey(), 40, 'oops');
    const short = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
    expect(short.balanced).toBe(false);
    const envelope = await sealPayout(l, { ref: 'payout-8', proofs, replyTo: l.address });
    const s = await requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope });
    expect(await finish(net, s.transferId)).toMatchObject({ state: 'refused', refusal: { code: 73002 } });
    expect(await stateOf(net.lanUrl, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
    const { notices } = await l.receive(net.lanUrl);
    expect(notices.map((n) => n.status.refusal?.code)).toEqual([73002]);
    // The money comes back to the reserve and the terminal keeps its notes: the books balance again.
    await net.bank.ledger.deposit(gatewayKey(), 40, 'oops-back');
    const again = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
    expect(again.totals.surplus).toEqual({ unclaimedDeposits: 40, other: -40 });
    const kept = await l.swap(net.lanUrl, proofs);
    expect(
      await codeOf(
        sealPayout(l, { ref: 'payout-9', proofs }).then((envelope) =>
          requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope }),
        ),
      ),
    ).toBe(11001);
    l.add(net.lanUrl, kept);
    expect(l.balance(net.lanUrl)).toBe(40);
  });

  it('payout intake: no token, another key, a ref or id reused for another request are refused', async () => {
    const l = await paidTerminal(6);
    const proofs = l.takeAll(net.lanUrl);
    expect(proofs.map((p) => p.amount).sort()).toEqual([2, 4]);
    const envelope = await sealPayout(l, { ref: 'p', proofs: [proofs[0]!] });
    expect(await codeOf(requestPayout({ base: net.lanUrl, operatorToken: 'nope', envelope }))).toBe(74001);
    const res = await call({ base: net.lanUrl, method: 'POST', path: PAYOUT_PATH, body: envelope }).catch(
      (e: unknown) => e,
    );
    expect(isLancashError(res) && res.code).toBe(74001);
    const stranger = await generateEncryptionKeyPair();
    const elsewhere = await sealJson({
      type: PAYOUT_REQUEST,
      transferId: randomId(),
      sender: l.pair,
      recipient: stranger.publicKey,
      payload: { ref: 'p', proofs: [proofs[0]!] },
    });
    expect(
      await codeOf(requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope: elsewhere })),
    ).toBe(71003);
    const first = await requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope });
    // The same ref with other notes; the same transfer id with another ref.
    const other = await sealPayout(l, { ref: 'p', proofs: [proofs[1]!] });
    expect(
      await codeOf(requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope: other })),
    ).toBe(72001);
    const sameId = await sealPayout(l, { ref: 'q', proofs: [proofs[1]!] }, first.transferId);
    expect(
      await codeOf(requestPayout({ base: net.lanUrl, operatorToken: OPERATOR_TOKEN, envelope: sameId })),
    ).toBe(72001);
    expect(await finish(net, first.transferId)).toMatchObject({ state: 'done' });
  });

  it('the operator’s history names every conversion of a terminal: job 2, payroll, payout, job 1', async () => {
    const l = await paidTerminal(7, 'payroll-h');
    const w = await Terminal.create('wan');
    await w.mintWide(net.bankUrl, 8);
    const j2 = await w.sendJob(net.wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    await finish(net, j2.status.transferId);
    await l.receive(net.lanUrl);
    const notes = l.takeAll(net.lanUrl);
    const seven = notes.filter((p) => p.amount !== 8);
    const eight = notes.filter((p) => p.amount === 8);
    const po = await requestPayout({
      base: net.lanUrl,
      operatorToken: OPERATOR_TOKEN,
      envelope: await sealPayout(l, { ref: 'payout-h', proofs: seven }),
    });
    await finish(net, po.transferId);
    const j1 = await l.sendJob(net.lanUrl, 'lan-to-wan', { proofs: eight, destination: w.address });
    await finish(net, j1.status.transferId);

    const history = async (key: string) =>
      (await call({
        base: net.lanUrl,
        method: 'GET',
        path: `/v1/gateway/history?terminal=${key}`,
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      })) as { transfers: Record<string, unknown>[] };
    const mine = (await history(l.key)).transfers;
    const brief = mine.map((t) => [t.kind, t.direction, t.amount, t.state, t.sender, t.destination, t.ref]);
    expect(brief).toEqual(
      expect.arrayContaining([
        ['payroll', 'wan-to-lan', 7, 'done', gatewayKey(), l.address, 'payroll-h'],
        ['transfer', 'wan-to-lan', 8, 'done', w.key, l.address, undefined],
        ['payout', 'lan-to-wan', 7, 'done', l.key, 'outside', 'payout-h'],
        ['transfer', 'lan-to-wan', 8, 'done', l.key, w.address, undefined],
      ]),
    );
    expect(mine).toHaveLength(4);
    // Newest first, each with when it happened and every state change.
    const at = mine.map((t) => t.createdAt as number);
    expect([...at].sort((x, y) => y - x)).toEqual(at);
    const payout = mine.find((t) => t.kind === 'payout')!;
    expect(payout.events).toEqual([
      expect.objectContaining({ seq: 1, from: 'received', to: 'issuing' }),
      expect.objectContaining({ seq: 2, from: 'issuing', to: 'done' }),
    ]);
    // The reserve's own history (the gateway's key): its payroll and its payout.
    const reserve = (await history(gatewayKey())).transfers.map((t) => t.kind);
    expect(reserve.sort()).toEqual(['payout', 'payroll']);
  });
});
