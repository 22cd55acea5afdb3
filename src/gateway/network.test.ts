/**
 * The gateway and the wide bank as real processes with a fault-injecting proxy between them (the
 * gateway's `--wide-bank` is the proxy): for job 1's issue call and job 2's receive call, the proxy
 * drops the first 3 answers after the bank answered, holds them past the gateway's call timeout, or
 * turns them into a foreign 502 after the bank committed. Each time the transfer ends `done` with
 * exactly one issue or receipt at the bank (one idempotency row, one ledger transaction), the
 * destination gets the money once, the sender's notes are spent, and nothing is lost. A proven
 * refusal (the reserve is short), its first answer lost on the way, still refuses: the local notes are
 * released and spendable again, and the sender is told. Invariants 1 and 2 are checked after each test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BANK_ISSUE_PATH, BANK_RECEIVE_PATH } from '../core/protocol/bank.js';
import type { FaultKind, FaultRule } from '../test-support/fault-proxy.js';
import {
  bankRecordsOf,
  fundLocal,
  fundWide,
  noteStates,
  type ProcessNet,
  startProcessNet,
} from '../test-support/gateway-process.js';
import { randomId, Terminal, waitForTransfer } from '../test-support/terminal.js';

/** The gateway's per-call limit; the proxy's delay is well past it. */
const CALL_TIMEOUT_MS = 1000;

const FAULTS: { name: string; rule: Omit<FaultRule, 'path'> & { fault: FaultKind } }[] = [
  { name: 'drops the first 3 answers', rule: { fault: 'drop', times: 3 } },
  {
    name: 'holds the first 3 answers past the call timeout',
    rule: { fault: 'delay', ms: 2.5 * CALL_TIMEOUT_MS, times: 3 },
  },
  { name: 'answers 502 to the first 3 after the bank committed', rule: { fault: '502', times: 3 } },
];

describe('gateway ↔ wide bank through a faulty network', () => {
  let net: ProcessNet;

  beforeAll(async () => {
    net = await startProcessNet({ proxy: true, callTimeoutMs: CALL_TIMEOUT_MS, retryCapMs: 500 });
  });
  afterEach(async () => {
    net.proxy!.plan([]);
    expect(await net.audit()).toEqual([]);
  });
  afterAll(async () => {
    await net?.close();
  });

  /** How often the proxy applied `fault` while `run` ran. */
  async function counting<T>(fault: FaultKind, run: () => Promise<T>): Promise<[T, number]> {
    const before = net.proxy!.stats().faults[fault];
    const result = await run();
    return [result, net.proxy!.stats().faults[fault] - before];
  }

  describe.each(FAULTS)('the proxy $name', ({ rule }) => {
    it('job 2 (WAN → LAN): one receipt at the bank, the money arrives once', async () => {
      const w = await Terminal.create('wan');
      const l = await Terminal.create('lan');
      await fundWide(net, [{ terminal: w, amount: 21 }]);
      const proofs = w.takeAll(net.bankUrl);
      net.proxy!.plan([{ path: BANK_RECEIVE_PATH, method: 'POST', ...rule }]);

      const [status, hurt] = await counting(rule.fault, async () => {
        const { status } = await w.sendJob(net.wan, 'wan-to-lan', {
          proofs,
          destination: l.address,
          replyTo: w.address,
        });
        return waitForTransfer(net.wan, status.transferId);
      });
      expect(status).toMatchObject({ state: 'done', amount: 21 });
      expect(hurt).toBe(3);
      expect(await bankRecordsOf(net, status.transferId)).toEqual({ requests: ['receive'], transactions: 1 });
      expect(await noteStates(net.bankUrl, proofs)).toEqual(proofs.map(() => 'SPENT'));

      const got = await l.receive(net.lan);
      expect(got.payments.map((p) => p.transferId)).toEqual([status.transferId]);
      expect(l.balance(net.lan)).toBe(21);
      expect(await l.drainInbox(net.lan)).toEqual([]);
      expect(await w.drainInbox(net.bankUrl)).toEqual([]); // no notice: nothing was refused
    });

    it('job 1 (LAN → WAN): one issue at the bank, the money arrives once', async () => {
      const l = await Terminal.create('lan');
      const w = await Terminal.create('wan');
      await fundLocal(net, await Terminal.create('wan'), await Terminal.create('lan'), [
        { terminal: l, amount: 21 },
      ]);
      const proofs = l.takeAll(net.lan);
      net.proxy!.plan([{ path: BANK_ISSUE_PATH, method: 'POST', ...rule }]);

      const [status, hurt] = await counting(rule.fault, async () => {
        const { status } = await l.sendJob(net.lan, 'lan-to-wan', {
          proofs,
          destination: w.address,
          replyTo: l.address,
        });
        return waitForTransfer(net.lan, status.transferId);
      });
      expect(status).toMatchObject({ state: 'done', amount: 21 });
      expect(hurt).toBe(3);
      expect(await bankRecordsOf(net, status.transferId)).toEqual({ requests: ['issue'], transactions: 1 });
      expect(await noteStates(net.lan, proofs)).toEqual(proofs.map(() => 'SPENT'));

      // The payment names the wide bank as the gateway reaches it (here: through the proxy).
      const got = await w.receive(net.bankUrl);
      expect(got.payments.map((p) => [p.transferId, p.mint])).toEqual([
        [status.transferId, net.gatewayBankUrl],
      ]);
      expect(w.balance(net.gatewayBankUrl)).toBe(21);
      expect(await w.drainInbox(net.bankUrl)).toEqual([]);
      expect(await l.drainInbox(net.lan)).toEqual([]);
    });
  });

  it('a proven refusal, its first answer lost: job 1 refused, local notes released and spendable', async () => {
    const l = await Terminal.create('lan');
    const w = await Terminal.create('wan');
    await fundLocal(net, await Terminal.create('wan'), await Terminal.create('lan'), [
      { terminal: l, amount: 13 },
    ]);
    const proofs = l.takeAll(net.lan);
    // The operator pays the whole reserve out: the issue server must refuse the gateway.
    const reserve = await net.ledger.balance(net.gatewayKey);
    await net.ledger.withdraw(net.gatewayKey, reserve, randomId());
    net.proxy!.plan([{ path: BANK_ISSUE_PATH, method: 'POST', fault: 'drop' }]);

    const [status, dropped] = await counting('drop', async () => {
      const { status } = await l.sendJob(net.lan, 'lan-to-wan', {
        proofs,
        destination: w.address,
        replyTo: l.address,
      });
      return waitForTransfer(net.lan, status.transferId);
    });
    expect(dropped).toBe(1);
    expect(status).toMatchObject({ state: 'refused', amount: 13, refusal: { code: 73002 } });
    expect(await bankRecordsOf(net, status.transferId)).toEqual({ requests: [], transactions: 0 });
    expect(await net.ledger.balance(net.gatewayKey)).toBe(0);

    // Released, not spent: the sender swaps them again.
    expect(await noteStates(net.lan, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
    l.add(net.lan, await l.swap(net.lan, proofs));
    expect(l.balance(net.lan)).toBe(13);
    // The sender is told (best effort, after the refusal): wait for the notice.
    let notices: Awaited<ReturnType<Terminal['receive']>>['notices'] = [];
    while (notices.length === 0) {
      notices = (await l.receive(net.lan)).notices;
      if (notices.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(notices.map((n) => [n.transferId, n.status.state, n.status.refusal?.code])).toEqual([
      [status.transferId, 'refused', 73002],
    ]);
    expect(await w.drainInbox(net.bankUrl)).toEqual([]);

    await net.ledger.deposit(net.gatewayKey, reserve, randomId());
  });
});
