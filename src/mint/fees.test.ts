/**
 * NUT-02 input fees end to end (issue 10 item 5, docs/gateway.md and docs/wide-bank.md "Fees"), against
 * real processes: the operator rotates both mints to keysets with a fee (`keyset rotate
 * --input-fee-ppk`); cashu-ts pays it on both mints (change right after a swap, a receive paying it out
 * of what is received); a swap that does not pay it is refused with Cashu 11005 and changes nothing;
 * conversions both ways take exactly the amount left once the sender's notes paid their fee, state the
 * fee, and both audits balance to the unit with the fees accounted.
 */
import { getEncodedToken, Wallet } from '@cashu/cashu-ts';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeysetListing } from '../cli/keysets.js';
import { call } from '../core/http/client.js';
import type { Proof } from '../core/protocol/cashu.js';
import { auditGateway } from '../gateway/audit.js';
import { localFeesCollected } from '../gateway/console/repository.js';
import { DIALECTS } from '../test-support/dialects.js';
import { rotateToFee } from '../test-support/fee-keyset.js';
import {
  fundLocal,
  fundWide,
  noteStates,
  type ProcessNet,
  startProcessNet,
} from '../test-support/gateway-process.js';
import { runLancash } from '../test-support/process.js';
import { refusalOf } from '../test-support/refusals.js';
import { Terminal, waitForTransfer } from '../test-support/terminal.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';

const BANK_PPK = 1000; // one cent per wide note spent
const LOCAL_PPK = 400; // one cent per 1 to 2 local notes, two per 3 to 5, …

const total = (ps: readonly { amount: unknown }[]) => ps.reduce((n, p) => n + Number(p.amount), 0);
const feeOf = (notes: number, ppk: number) => Math.ceil((notes * ppk) / 1000);

describe.each(DIALECTS)('input fees on both mints, real processes, on %s', (dialect) => {
  let net: ProcessNet;
  /** Per mint: the fee keyset, and a terminal per test holding 300 in notes of the fee-free keyset. */
  const wan = { keyset: '', funded: [] as Terminal[] };
  const lan = { keyset: '', funded: [] as Terminal[] };

  beforeAll(async () => {
    net = await startProcessNet({ dialect });
    wan.funded = await Promise.all([0, 1, 2, 3].map(() => Terminal.create('wan')));
    lan.funded = await Promise.all([0, 1, 2, 3].map(() => Terminal.create('lan')));
    // Funded on the fee-free keysets; every note made after the rotations pays its fee.
    await fundWide(
      net,
      wan.funded.map((terminal) => ({ terminal, amount: 300 })),
    );
    await fundLocal(
      net,
      await Terminal.create('wan'),
      await Terminal.create('lan'),
      lan.funded.map((terminal) => ({ terminal, amount: 300 })),
    );
    for (const [role, ppk, side, url] of [
      ['wide-bank', BANK_PPK, wan, net.bankUrl],
      ['gateway', LOCAL_PPK, lan, net.lan],
    ] as const) {
      const { rotated, listed } = await rotateToFee(
        role,
        role === 'wide-bank' ? net.bankDbArgs : net.gatewayDbArgs,
        ppk,
        url,
      );
      expect(rotated.active.inputFeePpk).toBe(ppk);
      expect(rotated.said).toContain(`input fee of ${ppk} ppk`);
      side.keyset = rotated.active.id;
      // Every server process reads the keysets within a second; NUT-02 lists the fee.
      expect(listed.input_fee_ppk).toBe(ppk);
    }
  });
  afterAll(async () => {
    await net?.close();
  });

  it.each([
    ['wide bank', 'bank', BANK_PPK],
    ['local mint', 'lan', LOCAL_PPK],
  ] as const)(
    'cashu-ts on the %s: swaps pay the fee, change is right, a receive pays it',
    async (_n, which, ppk) => {
      const base = which === 'bank' ? net.bankUrl : net.lan;
      const keyset = which === 'bank' ? wan.keyset : lan.keyset;
      const old = (which === 'bank' ? wan : lan).funded[0]!.takeAll(base);
      const wallet = new Wallet(base, { unit: 'eur' });
      await wallet.loadMint();
      // Inputs of the fee-free keyset cost nothing: all of it arrives, as notes of the fee keyset.
      const received = await wallet.receive(
        old.map(({ id, amount, secret, C }) => ({ id, amount, secret, C })),
      );
      expect(total(received)).toBe(total(old));
      expect(new Set(received.map((p) => p.id))).toEqual(new Set([keyset]));
      expect(Number(wallet.getFeesForProofs(received))).toBe(feeOf(received.length, ppk));

      // A send swaps: what comes back is the inputs it spent less their fee, to the unit.
      const { keep, send } = await wallet.send(13, received);
      expect(total(send)).toBe(13);
      const states = await noteStates(base, received as unknown as Proof[]);
      const spent = received.filter((_, i) => states[i] === 'SPENT');
      expect(spent.length).toBeGreaterThan(0);
      expect(total(keep) + total(send)).toBe(total(received) - feeOf(spent.length, ppk));

      // The receiver's swap pays the fee out of what it receives (the sender did not include it) …
      const receiver = new Wallet(base, { unit: 'eur' });
      await receiver.loadMint();
      const got = await receiver.receive(getEncodedToken({ mint: base, unit: 'eur', proofs: send }));
      expect(total(got)).toBe(13 - feeOf(send.length, ppk));
      // … unless the sender includes it (cashu-ts includeFees): then exactly the amount arrives.
      const paid = await wallet.send(7, keep, { includeFees: true });
      const exact = await receiver.receive(getEncodedToken({ mint: base, unit: 'eur', proofs: paid.send }));
      expect(total(exact)).toBe(7);
      expect(await net.audit()).toEqual([]);
    },
  );

  it.each([
    ['wide bank', 'bank'],
    ['local mint', 'lan'],
  ] as const)('an unpaid fee is refused with Cashu 11005 at the %s, nothing changed', async (_n, which) => {
    const base = which === 'bank' ? net.bankUrl : net.lan;
    const t = (which === 'bank' ? wan : lan).funded[1]!;
    const keyset = which === 'bank' ? wan.keyset : lan.keyset;
    const notes = await t.swap(base, t.takeAll(base));
    expect(new Set(notes.map((p) => p.id))).toEqual(new Set([keyset]));
    const fee = await t.fee(base, notes);
    expect(fee).toBeGreaterThan(0);
    const before = await net.audit();
    // Outputs worth all of the inputs: the fee is not paid.
    const outputs = t.outputs(keyset, total(notes)).map(({ amount, id, B_ }) => ({ amount, id, B_ }));
    const refusal = await refusalOf(
      call({
        base,
        method: 'POST',
        path: '/v1/swap',
        body: { inputs: notes, outputs },
        schema: Type.Unknown(),
      }),
    );
    expect(refusal.code).toBe(11005);
    expect(refusal.info).toMatchObject({ inputs: total(notes), outputs: total(notes), fees: fee });
    expect(await noteStates(base, notes)).toEqual(notes.map(() => 'UNSPENT'));
    expect(await net.audit()).toEqual(before);
  });

  it('cashu-ts melts with notes of the fee keyset: an unpaid fee refused (11005), then paid, change right', async () => {
    const base = net.bankUrl;
    const wallet = new Wallet(base, { unit: 'eur' });
    await wallet.loadMint();
    const old = wan.funded[3]!.takeAll(base);
    const proofs = await wallet.receive(old.map(({ id, amount, secret, C }) => ({ id, amount, secret, C })));
    const { request } = await createFakeLightning().createInvoice({ amount: 21 });
    const quote = await wallet.createMeltQuoteBolt11(request);
    const needed = 21 + Number(quote.fee_reserve);
    // Notes worth exactly amount + fee reserve leave nothing for their input fee: refused, nothing held.
    const exact = await wallet.send(needed, proofs);
    expect(total(exact.send)).toBe(needed);
    const unpaid = await refusalOf(
      call({
        base,
        method: 'POST',
        path: '/v1/melt/bolt11',
        body: {
          quote: quote.quote,
          inputs: exact.send.map(({ id, amount, secret, C }) => ({ id, amount: Number(amount), secret, C })),
        },
        schema: Type.Unknown(),
      }),
    );
    expect(unpaid.code).toBe(11005);
    expect(await noteStates(base, exact.send as unknown as Proof[])).toEqual(exact.send.map(() => 'UNSPENT'));
    // With the fee included, the melt is paid and the change is the rest, to the unit.
    const paying = await wallet.send(needed, [...exact.keep, ...exact.send], { includeFees: true });
    const fee = feeOf(paying.send.length, BANK_PPK);
    const melt = await wallet.meltProofsBolt11(quote, paying.send);
    expect(melt.quote.state).toBe('PAID');
    expect(total(melt.change)).toBe(total(paying.send) - fee - 21); // the fake Lightning charges nothing
    expect(await net.audit()).toEqual([]);
  });

  it('conversions both ways with fee-bearing keysets: exact amounts, the fee stated, audits balanced', async () => {
    const from = await Terminal.create('wan');
    const to = await Terminal.create('lan');
    const lanFrom = await Terminal.create('lan');
    const wanTo = await Terminal.create('wan');
    // Notes of the fee keysets at each mint (the fee-free inputs cost nothing).
    from.add(net.bankUrl, await wan.funded[2]!.swap(net.bankUrl, wan.funded[2]!.takeAll(net.bankUrl)));
    lanFrom.add(net.lan, await lan.funded[2]!.swap(net.lan, lan.funded[2]!.takeAll(net.lan)));
    const before = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });

    // Job 2: the WAN sender's notes pay the bank's fee; the reserve is credited, and the LAN
    // destination gets, exactly what is left.
    const wide = from.takeAll(net.bankUrl);
    const wideFee = feeOf(wide.length, BANK_PPK);
    const job2 = await from.sendJob(net.wan, 'wan-to-lan', { proofs: wide, destination: to.address });
    expect(job2.status).toMatchObject({ amount: total(wide) - wideFee, inputFee: wideFee });
    expect(await waitForTransfer(net.wan, job2.status.transferId)).toMatchObject({
      state: 'done',
      amount: total(wide) - wideFee,
      inputFee: wideFee,
    });
    const delivered = (await to.receive(net.lan)).payments;
    expect(delivered.map((p) => total(p.proofs))).toEqual([total(wide) - wideFee]);
    // The destination's receive swap pays the local fee, as any Cashu receive.
    const receiveFee = feeOf(delivered[0]!.proofs.length, LOCAL_PPK);
    expect(to.balance(net.lan)).toBe(total(wide) - wideFee - receiveFee);

    // Job 1: the LAN sender's notes pay the local fee (the organisation's income).
    const local = lanFrom.takeAll(net.lan);
    const localFee = feeOf(local.length, LOCAL_PPK);
    const job1 = await lanFrom.sendJob(net.lan, 'lan-to-wan', { proofs: local, destination: wanTo.address });
    expect(job1.status).toMatchObject({ amount: total(local) - localFee, inputFee: localFee });
    expect((await waitForTransfer(net.lan, job1.status.transferId)).state).toBe('done');
    const paid = (await wanTo.receive(net.bankUrl)).payments;
    expect(paid.map((p) => total(p.proofs))).toEqual([total(local) - localFee]);

    // Notes that do not cover their own fee are refused at intake (11005), nothing taken.
    const one = await Terminal.create('wan');
    await one.mintWide(net.bankUrl, 1);
    const tiny = one.takeAll(net.bankUrl);
    const refused = await refusalOf(
      one.sendJob(net.wan, 'wan-to-lan', { proofs: tiny, destination: to.address }),
    );
    expect(refused.code).toBe(11005);
    expect(await noteStates(net.bankUrl, tiny)).toEqual(['UNSPENT']);

    expect(await net.audit()).toEqual([]);
    const after = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
    // The local fees kept: job 1's and the destination's receive swap (wallet swaps are swaps too).
    expect(after.totals.fees.conversions - before.totals.fees.conversions).toBe(localFee);
    expect(after.totals.fees.swaps - before.totals.fees.swaps).toBeGreaterThanOrEqual(receiveFee);
    // The operator console's summary reads the same figure from the local mint alone.
    expect(await localFeesCollected(net.gwStore.db)).toBe(after.totals.fees.collected);
    expect(after.totals.reserve).toBe(
      after.totals.local.outstanding + after.totals.fees.collected + after.totals.surplus.unclaimedDeposits,
    );

    // The fee income may leave the reserve (the operator's withdrawal), one cent more may not.
    const reserve = after.totals.reserveAccount!;
    await net.ledger.withdraw(reserve, after.totals.fees.collected, `fees-${Date.now()}`);
    expect(await net.audit()).toEqual([]);
    await net.ledger.withdraw(reserve, 1, `more-${Date.now()}`);
    const short = await auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
    expect(short.differences.map((d) => d.what)).toContain(
      'reserve surplus below minus the local fees collected: money left the reserve outside payouts while it backed local money',
    );
    await net.ledger.deposit(reserve, 1, `back-${Date.now()}`);
    expect(await net.audit()).toEqual([]);
  });

  it('the bank’s audit names a swap whose kept fee is not booked under it (tampered ref), then balances', async () => {
    const db = net.bankStore.db;
    const entry = await db
      .selectFrom('bank_entries')
      .select(['tx_id', 'ref', 'amount'])
      .where('kind', '=', 'fee')
      .where('ref', 'like', 'swap:%')
      .where('amount', '<', 0)
      .executeTakeFirstOrThrow();
    // Every sum still holds (the posting moved whole); only the link to its swap is gone.
    await db.updateTable('bank_entries').set({ ref: 'elsewhere' }).where('tx_id', '=', entry.tx_id).execute();
    try {
      const { differences } = await auditWideBank(net.bankStore);
      expect(differences).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            what: `swap ${entry.ref}: the input fee it kept against the ledger’s fee entries on notes_outstanding`,
            expected: Number(entry.amount),
            actual: 0,
          }),
        ]),
      );
    } finally {
      await db.updateTable('bank_entries').set({ ref: entry.ref }).where('tx_id', '=', entry.tx_id).execute();
    }
    expect(await net.audit()).toEqual([]);
  });

  it('a rotation without --input-fee-ppk keeps the active keyset’s fee', async () => {
    const run = await runLancash(['gateway', 'keyset', 'rotate', '--grace', '1', ...net.gatewayDbArgs]);
    expect(run.code, run.stderr).toBe(0);
    const rotated = JSON.parse(run.stdout) as { active: KeysetListing; said: string };
    expect(rotated.active.inputFeePpk).toBe(LOCAL_PPK);
    expect(rotated.said).toContain(`input fee of ${LOCAL_PPK} ppk`);
  });
});
