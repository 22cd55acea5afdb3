/**
 * A key rotation of the local mint while jobs are in flight (docs/gateway.md, "Operator API"): a job 2
 * and a payroll journal their local outputs on the active keyset at intake; the operator rotates after
 * the bank answered and before the local notes are signed. Both must still finish (their outputs
 * signed by the keyset they were made for, now inactive), the notes must stay redeemable at the local
 * mint, and both audits must balance. Real wide bank and gateway in this process, on every dialect.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requestPayroll } from '../../core/protocol/gateway.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { finish, OPERATOR_TOKEN, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { randomId, Terminal } from '../../test-support/terminal.js';
import { auditGateway } from '../audit.js';

const sum = (notes: readonly { amount: number }[]) => notes.reduce((s, p) => s + p.amount, 0);

describe.each(DIALECTS)('key rotation with jobs in flight on %s', (dialect) => {
  let net: TestNet;
  /** Rotates the local keyset once, right after the bank's next answer (receive or claim). */
  let rotateNext = false;
  const rotateIfAsked = async () => {
    if (!rotateNext) return;
    rotateNext = false;
    await net.gw.console.rotate();
  };

  beforeEach(async () => {
    rotateNext = false;
    net = await startNet(dialect, {
      bank: (real) =>
        wrapBank(real, {
          receive: async (...a) => {
            const receipt = await real.receive(...a);
            await rotateIfAsked();
            return receipt;
          },
        }),
      gateway: {
        reserve: (real) => ({
          ...real,
          claim: async (...a) => {
            const receipt = await real.claim(...a);
            await rotateIfAsked();
            return receipt;
          },
        }),
      },
    });
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    expect(
      (await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore })).differences,
    ).toEqual([]);
    expect((await net.gw.console.audit()).balanced).toBe(true);
    await net.close();
  });

  it('job 2: rotated between the bank’s receipt and the local notes, it finishes on its own keyset', async () => {
    const { bankUrl, lanUrl, wanUrl } = net;
    const old = net.gw.mint.keysets.current().id;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 20);
    rotateNext = true;
    const job = await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    expect(await finish(net, job.status.transferId)).toMatchObject({ state: 'done', amount: 20 });
    expect(net.gw.mint.keysets.current().id).not.toBe(old);

    // The payment's notes are of the keyset the outputs were made for; the terminal's swap redeems them.
    const got = await l.receive(lanUrl);
    expect(new Set(got.payments[0]!.proofs.map((p) => p.id))).toEqual(new Set([old]));
    const fresh = l.takeAll(lanUrl);
    expect(sum(fresh)).toBe(20);
    expect(new Set(fresh.map((p) => p.id))).toEqual(new Set([net.gw.mint.keysets.current().id]));
    const out = await l.sendJob(lanUrl, 'lan-to-wan', { proofs: fresh, destination: w.address });
    expect(await finish(net, out.status.transferId)).toMatchObject({ state: 'done', amount: 20 });
    expect(await net.reserve()).toBe(0);
    expect(await net.localOutstanding()).toBe(0);
  });

  it('payroll: rotated between the bank’s claim receipt and the local notes, it finishes on its own keyset', async () => {
    const old = net.gw.mint.keysets.current().id;
    const l = await Terminal.create('lan');
    const ref = `pay-${randomId()}`;
    await net.bank.ledger.deposit(net.gw.keys.publicKeyHex, 33, ref);
    rotateNext = true;
    const s = await requestPayroll({
      base: net.lanUrl,
      operatorToken: OPERATOR_TOKEN,
      request: { ref, amount: 33, to: l.address },
    });
    expect(await finish(net, s.transferId)).toMatchObject({ state: 'done', amount: 33 });
    expect(net.gw.mint.keysets.current().id).not.toBe(old);
    const got = await l.receive(net.lanUrl);
    expect(new Set(got.payments[0]!.proofs.map((p) => p.id))).toEqual(new Set([old]));
    // Redeemed by the terminal's swap into the new keyset.
    expect(l.balance(net.lanUrl)).toBe(33);
    expect(l.notes(net.lanUrl).every((p) => p.id !== old)).toBe(true);
    expect(await net.reserve()).toBe(33);
    expect(await net.localOutstanding()).toBe(33);
  });
});
