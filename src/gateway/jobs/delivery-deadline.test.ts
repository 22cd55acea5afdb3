/**
 * The delivery deadline on every dialect, in this process with the gateway's movable clock: a payment
 * no inbox takes is retried until the deadline, then parked (state and sealed payment kept, the runner
 * leaves it alone, invariant 2 holds), and the operator's retry delivers it; a money step whose bank
 * call stays unclear is never parked, however long it takes. Retrying a job that is not parked is
 * refused (74008), an unknown one is not found (72002). A parked refusal notice may be abandoned by the
 * operator (no money moves); a parked payment may not (74009).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LancashError } from '../../core/errors.js';
import { call, UnclearOutcome } from '../../core/http/client.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { finish, OPERATOR_TOKEN, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { codeOf } from '../../test-support/refusals.js';
import { Terminal } from '../../test-support/terminal.js';
import { auditGateway } from '../audit.js';

const DEADLINE_MS = 5000;

describe.each(DIALECTS)('delivery deadline on %s', (dialect) => {
  let net: TestNet | undefined;
  afterEach(async () => {
    if (net !== undefined) {
      expect(await net.audit()).toEqual([]);
      expect(
        (await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore })).differences,
      ).toEqual([]);
    }
    await net?.close();
    net = undefined;
  });

  it('parks a payment past its deadline, never a money step; the operator’s retry delivers it', async () => {
    const down = { deposit: false, receive: false };
    net = await startNet(dialect, {
      gateway: { deliveryDeadlineMs: DEADLINE_MS },
      bank: (real) =>
        wrapBank(real, {
          deposit: async (...a) => {
            if (down.deposit)
              throw new UnclearOutcome('network', 'test deposit', 'the mailbox does not answer');
            return real.deposit(...a);
          },
          receive: async (...a) => {
            if (down.receive) throw new UnclearOutcome('network', 'test receive', 'the bank does not answer');
            return real.receive(...a);
          },
        }),
    });
    const { bankUrl, lanUrl, wanUrl, gw, clock } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');

    // l gets local notes for a job 1.
    await w.mintWide(bankUrl, 4);
    const funding = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    expect((await finish(net, funding.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);

    // The WAN mailbox stops taking deposits: job 1's payment waits in `delivering`.
    down.deposit = true;
    const stuck = await l.sendJob(lanUrl, 'lan-to-wan', {
      proofs: l.takeAll(lanUrl),
      destination: w.address,
    });
    // The bank stops answering job 2's receive call: its outcome is unclear.
    down.receive = true;
    await w.mintWide(bankUrl, 5);
    const unclear = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });

    for (let t = 0; t <= DEADLINE_MS + 2000; t += 1000) {
      await gw.runner.settle();
      clock.advance(1000);
    }
    await gw.runner.settle();
    const parked = await gw.jobs.job(stuck.status.transferId);
    expect(parked).toMatchObject({ state: 'delivering' });
    expect(parked?.parkedAt).toBeTypeOf('number');
    expect(parked?.journal.delivery).toBeDefined();
    expect(await gw.jobs.parked()).toMatchObject([
      { transferId: stuck.status.transferId, delivery: 'payment', route: 'mailbox:wan', state: 'delivering' },
    ]);
    const money = await gw.jobs.job(unclear.status.transferId);
    expect(money).toMatchObject({ state: 'receiving' });
    expect(money?.parkedAt).toBeUndefined();
    expect(money?.attempts).toBeGreaterThan(DEADLINE_MS / 1000);

    // Parked means left alone, whatever the clock does.
    const attempts = parked?.attempts;
    clock.advance(60_000);
    await gw.runner.settle();
    expect((await gw.jobs.job(stuck.status.transferId))?.attempts).toBe(attempts);

    // The mailbox is back, the operator retries: the same payment arrives.
    down.deposit = false;
    await gw.jobs.retryParked(stuck.status.transferId);
    expect((await finish(net, stuck.status.transferId)).state).toBe('done');
    const got = await w.receive(bankUrl);
    expect(got.payments.map((p) => p.transferId)).toEqual([stuck.status.transferId]);
    expect(w.balance(bankUrl)).toBe(4);
    expect(await codeOf(gw.jobs.retryParked(stuck.status.transferId))).toBe(74008);
    expect(await codeOf(gw.jobs.retryParked('no-such-transfer'))).toBe(72002);

    down.receive = false;
    expect((await finish(net, unclear.status.transferId)).state).toBe('done');
  });
  it('a parked refusal notice may be abandoned by the operator; a parked payment may not', async () => {
    const down = { deposit: false, refuse: false };
    net = await startNet(dialect, {
      gateway: { deliveryDeadlineMs: DEADLINE_MS },
      bank: (real) =>
        wrapBank(real, {
          deposit: async (...a) => {
            if (down.deposit)
              throw new UnclearOutcome('network', 'test deposit', 'the mailbox does not answer');
            return real.deposit(...a);
          },
          receive: async (...a) => {
            if (down.refuse) throw new LancashError('ProofsAlreadySpent', { Ys: [] }, 'notes already spent');
            return real.receive(...a);
          },
        }),
    });
    const { bankUrl, lanUrl, wanUrl, gw, clock } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 4);
    const funding = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    expect((await finish(net, funding.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);

    // A job 2 the bank refuses, whose notice to the WAN mailbox nobody takes; and a payment stuck the same way.
    down.deposit = true;
    down.refuse = true;
    await w.mintWide(bankUrl, 3);
    const refused = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
      replyTo: w.address,
    });
    const stuck = await l.sendJob(lanUrl, 'lan-to-wan', {
      proofs: l.takeAll(lanUrl),
      destination: w.address,
    });
    for (let t = 0; t <= DEADLINE_MS + 2000; t += 1000) {
      await gw.runner.settle();
      clock.advance(1000);
    }
    await gw.runner.settle();
    const parked = await gw.jobs.parked();
    expect(parked.map((p) => [p.transferId, p.delivery]).sort()).toEqual(
      [
        [refused.status.transferId, 'notice'],
        [stuck.status.transferId, 'payment'],
      ].sort(),
    );

    const abandon = (id: string, token = OPERATOR_TOKEN) =>
      call({
        base: lanUrl,
        method: 'POST',
        path: `/v1/gateway/operator/parked/${id}/abandon`,
        headers: { authorization: `Bearer ${token}` },
      });
    expect(await codeOf(abandon(refused.status.transferId, 'wrong'))).toBe(74001);
    expect(await codeOf(abandon(stuck.status.transferId))).toBe(74009);
    expect(await abandon(refused.status.transferId)).toMatchObject({ state: 'refused' });
    expect(await gw.jobs.job(refused.status.transferId)).toMatchObject({
      notice: 'abandoned',
      state: 'refused',
    });
    expect((await gw.jobs.parked()).map((p) => p.transferId)).toEqual([stuck.status.transferId]);
    expect(await codeOf(abandon(refused.status.transferId))).toBe(74008);
    expect(await codeOf(abandon('no-such-transfer'))).toBe(72002);
    // Left alone from now on, whatever the clock does.
    clock.advance(60_000);
    await gw.runner.settle();
    expect(await gw.jobs.job(refused.status.transferId)).toMatchObject({ notice: 'abandoned' });

    // The payment is retried once the mailbox is back.
    down.deposit = false;
    await gw.jobs.retryParked(stuck.status.transferId);
    expect((await finish(net, stuck.status.transferId)).state).toBe('done');
  });
});
