/**
 * A local keyset retired with no grace (a key that leaked) while a job 2 waits between the bank's
 * receipt and its local notes: the outputs journaled on the retired keyset were never signed, so the
 * job makes fresh ones on the active keyset and finishes (it must neither stay stuck with the
 * reserve credited nor be signed by a retired key). Real wide bank and gateway in this process, on
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

  beforeEach(async () => {
    retireNext = false;
    net = await startNet(dialect, {
      bank: (real) =>
        wrapBank(real, {
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
});
