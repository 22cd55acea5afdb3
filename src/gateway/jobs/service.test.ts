/**
 * The conversion jobs on every dialect, with a real wide bank and a real gateway in this process on
 * loopback, and test terminals: WAN → LAN and LAN → WAN arrive exactly once and the reserve follows
 * the local money (invariant 2 when nothing is in flight); replays are the same transfer; every
 * refusal changes nothing or ends the job with the sender told and the money where it was; unclear
 * outcomes are retried with the same transfer id; deliveries are retried until an inbox accepts.
 * The wide bank's audit (invariant 1) runs after every test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getTransfer } from '../../core/protocol/gateway.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { Terminal } from '../../test-support/terminal.js';
import { startNet, type TestNet } from '../test-fixture.js';

describe.each(DIALECTS)('gateway jobs on %s', (dialect) => {
  let net: TestNet;

  beforeEach(async () => {
    net = await startNet(dialect);
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  it('WAN → LAN, then LAN → WAN: the money arrives once and the reserve follows the local money', async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 100);

    const job2 = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
      replyTo: w.address,
      memo: 'salary',
    });
    expect(job2.status).toMatchObject({ direction: 'wan-to-lan', state: 'receiving', amount: 100 });
    await gw.runner.settle();
    expect(await getTransfer(wanUrl, job2.status.transferId)).toMatchObject({ state: 'done', amount: 100 });
    const got = await l.receive(lanUrl);
    expect(got.payments).toHaveLength(1);
    expect(got.payments[0]).toMatchObject({
      mint: lanUrl,
      unit: 'eur',
      memo: 'salary',
      via: { gateway: gw.keys.publicKeyHex, direction: 'wan-to-lan' },
    });
    expect(l.balance(lanUrl)).toBe(100);
    expect(await net.reserve()).toBe(100);
    expect(await net.localOutstanding()).toBe(100);

    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(lanUrl, 'lan-to-wan', {
      proofs: l.takeAll(lanUrl),
      destination: w2.address,
      replyTo: l.address,
    });
    expect(job1.status).toMatchObject({ direction: 'lan-to-wan', state: 'issuing', amount: 100 });
    await gw.runner.settle();
    expect(await getTransfer(lanUrl, job1.status.transferId)).toMatchObject({ state: 'done' });
    const paid = await w2.receive(bankUrl);
    expect(paid.payments.map((p) => p.mint)).toEqual([bankUrl]);
    expect(w2.balance(bankUrl)).toBe(100);
    expect(await net.reserve()).toBe(0);
    expect(await net.localOutstanding()).toBe(0);
    // Nothing more arrives: each transfer was delivered once.
    expect(await l.drainInbox(lanUrl)).toEqual([]);
    expect(await w2.drainInbox(bankUrl)).toEqual([]);
  });
});
