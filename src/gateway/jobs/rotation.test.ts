/**
 * A keyset retired with no grace (a key that leaked) while a job waits: job 2's local outputs
 * journaled on the retired local keyset were never signed, so the job makes fresh ones on the active
 * keyset and finishes (it must neither stay stuck with the reserve credited nor be signed by a
 * retired key); job 1's wide outputs on a bank keyset retired since are refused by the bank (12003),
 * so the job journals fresh ones on the bank's active keyset and finishes instead of being refused. Real wide bank and gateway in this process, on
 * every dialect; both audits balance.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test-support/dialects.js';
import { finish, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { Terminal } from '../../test-support/terminal.js';
import { auditGateway } from '../audit.js';

describe.each(DIALECTS)('a local keyset retired while a job waits, on %s', (dialect) => {
  let net: TestNet;
  let retireNext = false;
  let retireBankNext = false;

  beforeEach(async () => {
    retireNext = false;
    retireBankNext = false;
    net = await startNet(dialect, {
      bank: (real) =>
        wrapBank(real, {
          issue: async (...a) => {
            if (retireBankNext) {
              retireBankNext = false;
              await net.bank.mint.keysets.rotate({ graceMs: 0 });
            }
            return real.issue(...a);
          },
          receive: async (...a) => {
            const receipt = await real.receive(...a);
            if (retireNext) {
              retireNext = false;
              await net.gw.mint.keysets.rotate({ graceMs: 0 });
            }
            return receipt;
          },
        }),
    });
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    expect(
      (await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore })).differences,
    ).toEqual([]);
    await net.close();
  });

  it('job 2 finishes with notes of the active keyset, none signed by the retired one', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const old = net.gw.mint.keysets.current().id;
    await w.mintWide(net.bankUrl, 21);
    retireNext = true;
    const job = await w.sendJob(net.wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    expect(await finish(net, job.status.transferId)).toMatchObject({ state: 'done', amount: 21 });
    const active = net.gw.mint.keysets.current().id;
    expect(active).not.toBe(old);
    expect(net.gw.mint.keysets.retired(old)).toBe(true);
    const got = await l.receive(net.lanUrl);
    expect(new Set(got.payments[0]!.proofs.map((p) => p.id))).toEqual(new Set([active]));
    expect(l.balance(net.lanUrl)).toBe(21);
  });

  it('job 1 whose wide outputs are on a bank keyset retired since: renewed on the active one, done', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 13);
    const j2 = await w.sendJob(net.wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    expect(await finish(net, j2.status.transferId)).toMatchObject({ state: 'done' });
    await l.receive(net.lanUrl);
    const old = net.bank.mint.keysets.current().id;
    retireBankNext = true;
    const j1 = await l.sendJob(net.lanUrl, 'lan-to-wan', {
      proofs: l.takeAll(net.lanUrl),
      destination: w.address,
    });
    expect(await finish(net, j1.status.transferId)).toMatchObject({ state: 'done', amount: 13 });
    const active = net.bank.mint.keysets.current().id;
    expect(active).not.toBe(old);
    const got = await w.receive(net.bankUrl);
    expect(new Set(got.payments[0]!.proofs.map((p) => p.id))).toEqual(new Set([active]));
    expect(w.balance(net.bankUrl)).toBe(13);
  });
});
