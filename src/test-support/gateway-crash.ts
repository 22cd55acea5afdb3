/**
 * The gateway's crash at every step (docs/design.md §6, invariant 4), with the real `lancash wide-bank`
 * and `lancash gateway` processes, as a suite a test file declares for one case: the gateway's database
 * dialect, and NUT-02 input fees on the local mint and the wide bank or none (docs/gateway.md, "Fees").
 * For each fault point of docs/gateway.md the gateway is started with `LANCASH_FAULT=<point>`, one
 * transfer runs until the process kills itself there, the gateway is restarted without the fault (on
 * the same ports), and the transfer must reach exactly one terminal state with the money delivered
 * exactly once, or kept by the sender, the sender's envelope still naming the same transfer; with fees,
 * the job converts exactly what the sender's notes are worth less their fee and states the fee (job 1's
 * sender holds notes of the fee-free keyset and of the fee keyset: only the second pay). Then
 * the wide bank's audit balances (invariant 1) and the reserve equals the local money outstanding plus
 * the local mint's fees collected, less what the operator withdrew (invariant 2; `auditGateway` too
 * when nothing was withdrawn).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUnclear } from '../core/http/client.js';
import type { Proof } from '../core/protocol/cashu.js';
import { getGatewayInfo, getTransfer, type TransferStatus } from '../core/protocol/gateway.js';
import { auditGateway } from '../gateway/audit.js';
import { FAULT_POINTS } from '../gateway/jobs/model.js';
import { feesAgainstRows, totals } from '../mint/repository.js';
import type { DialectName, Store } from '../store/index.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { crashGroup, died, hostPort, noticeSent } from './crash.js';
import { rotateToFee } from './fee-keyset.js';
import { stateOf } from './notes.js';
import { type Started, startProcess, wideBankArgs } from './process.js';
import { postWanToLan, Terminal, waitForTransfer } from './terminal.js';

export interface CrashCase {
  /** The gateway's database (the wide bank keeps its SQLite file). */
  dialect: DialectName;
  /** NUT-02 input fees (ppk) the operator rotates each mint to before the transfers; none when absent. */
  fees?: { local: number; wide: number };
}

/**
 * The fees the fee suites rotate to: one cent per wide note spent; at the local mint one cent per one
 * or two notes, two per three to five.
 */
export const FEES_ON_BOTH_MINTS = { wide: 1000, local: 400 } as const;

const value = (proofs: readonly Proof[]) => proofs.reduce((n, p) => n + p.amount, 0);

/** The transfer's amount, and its `inputFee` when the sender's notes paid one (the status omits a 0). */
const converted = (amount: number, fee: number): Partial<TransferStatus> => ({
  amount,
  ...(fee > 0 ? { inputFee: fee } : {}),
});

/**
 * Local notes for `l` through a WAN → LAN transfer of `amount` wide on a running gateway; answers
 * what `l` got: `amount` less the bank's fee on the wide notes and the local mint's on `l`'s receive.
 */
export async function fund(bankUrl: string, l: Terminal, lan: string, wan: string, amount: number) {
  const before = l.balance(lan);
  const w = await Terminal.create('wan');
  const proofs = await w.mintWide(bankUrl, amount);
  const fee = await w.fee(bankUrl, proofs);
  const { status } = await w.sendJob(wan, 'wan-to-lan', {
    proofs: w.takeAll(bankUrl),
    destination: l.address,
  });
  expect(await waitForTransfer(wan, status.transferId)).toMatchObject({
    state: 'done',
    ...converted(amount - fee, fee),
  });
  const { payments } = await l.receive(lan);
  expect(payments.map((p) => value(p.proofs))).toEqual([amount - fee]);
  const got = amount - fee - (await l.fee(lan, payments[0]!.proofs));
  expect(l.balance(lan)).toBe(before + got);
  return got;
}

/**
 * Every job finished; invariant 1 at the bank; invariant 2 at rest: reserve = local outstanding + the
 * local fees collected − what the operator withdrew (negative: a deposit in the reserve that no payroll
 * claimed, a surplus); with nothing withdrawn, `auditGateway` agrees (it allows a surplus, not a
 * withdrawal beyond the fees).
 */
export async function balances(bankStore: Store, gw: Store, lan: string, withdrawn = 0): Promise<void> {
  expect((await auditWideBank(bankStore)).differences).toEqual([]);
  const jobs = await gw.db.selectFrom('gateway_jobs').select('state').execute();
  expect(jobs.filter((j) => j.state !== 'done' && j.state !== 'refused')).toEqual([]);
  const local = await totals(gw.db);
  const fees = await feesAgainstRows(gw.db);
  expect(fees.running).toBe(fees.rows);
  const gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
  expect(await new Ledger(bankStore).balance(gatewayKey)).toBe(
    local.signed - local.spent + fees.rows - withdrawn,
  );
  if (withdrawn <= 0) {
    const audit = await auditGateway({ gatewayStore: gw, wideBankStore: bankStore });
    expect(audit.differences).toEqual([]);
  }
}

/** Declares the suite "crash at every step" for `c`, titled `title`. */
export function describeCrashAtEveryStep(title: string, c: CrashCase): void {
  describe(title, () => {
    const dir = mkdtempSync(join(tmpdir(), 'lancash-gw-crash-'));
    const group = crashGroup({ dialect: c.dialect });
    const { startGateway, openGateway } = group;
    const bankData = join(dir, 'bank');
    let bank: Started;
    let bankStore: Store;

    beforeAll(async () => {
      bank = await startProcess(wideBankArgs(bankData));
      bankStore = await group.openAt(join(bankData, 'wide-bank.db'));
      if (c.fees !== undefined && c.fees.wide > 0) {
        await rotateToFee('wide-bank', ['--data', bankData], c.fees.wide, bank.url);
      }
    });
    afterEach(async () => {
      // The bank and its store outlive each test: only the gateways and their stores go.
      await group.close();
      bankStore = await group.openAt(join(bankData, 'wide-bank.db'));
    });
    afterAll(async () => {
      await bank.kill();
      await group.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** The gateway on `data`, armed at `fault`, its local mint rotated to the case's fee if any. */
    async function firstGateway(data: string, fault: string): Promise<Started> {
      const g = await startGateway(data, bank.url, { fault });
      await localFee(data, g.urls[0]!);
      return g;
    }

    /** The local mint at `lan` (its database for `data`) rotated to the case's fee, if it has one. */
    async function localFee(data: string, lan: string): Promise<void> {
      if (c.fees !== undefined && c.fees.local > 0) {
        await rotateToFee('gateway', await group.gatewayDbArgs(data), c.fees.local, lan);
      }
    }

    /**
     * A job 1 sender on the gateway on `data` (armed at `fault`): 20 in local notes of the fee-free
     * keyset, then, once the local mint has the case's fee, 20 more in notes of the fee keyset (so its
     * notes mix both, and only the second ones pay). Answers the gateway and what the sender holds.
     */
    async function lanSender(data: string, fault: string) {
      const g1 = await startGateway(data, bank.url, { fault });
      const [lan, wan] = g1.urls as [string, string];
      const l = await Terminal.create('lan');
      const free = await fund(bank.url, l, lan, wan, 20);
      await localFee(data, lan);
      const held = free + (await fund(bank.url, l, lan, wan, 20));
      return { g1, lan, wan, l, held };
    }

    /** Local fees were collected when the case has them: the test did exercise them. */
    async function balanced(data: string, lan: string, withdrawn = 0): Promise<void> {
      const gw = await openGateway(data);
      await balances(bankStore, gw, lan, withdrawn);
      if (c.fees !== undefined && c.fees.local > 0) {
        expect((await feesAgainstRows(gw.db)).rows).toBeGreaterThan(0);
      }
    }

    const job1 = FAULT_POINTS.job1.filter((p) => !/refuse|notice/.test(p));
    const job1Refused = FAULT_POINTS.job1.filter((p) => /refuse|notice/.test(p));
    const job2 = FAULT_POINTS.job2.filter((p) => !/refuse|notice/.test(p));
    const job2Refused = FAULT_POINTS.job2.filter((p) => /refuse|notice/.test(p));

    it.each(job1)('LAN → WAN, crash at %s: done once, the local notes spent', async (point) => {
      const data = join(dir, point.replaceAll(':', '_'));
      const { g1, lan, wan, l, held } = await lanSender(data, point);
      const w2 = await Terminal.create('wan');
      const proofs = l.takeAll(lan);
      const fee = await l.fee(lan, proofs);
      const env = await l.sealJob(await getGatewayInfo(lan), 'lan-to-wan', {
        proofs,
        destination: w2.address,
        replyTo: l.address,
      });
      const answer = await l.postJob(lan, 'lan-to-wan', env).catch((e: unknown) => e);
      if (point.endsWith('after-intake')) expect(isUnclear(answer)).toBe(true);
      await died(g1, point);

      await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
      // The sender may send its envelope again: it names the same transfer.
      expect((await l.postJob(lan, 'lan-to-wan', env)).transferId).toBe(env.transferId);
      expect(await waitForTransfer(lan, env.transferId)).toMatchObject({
        state: 'done',
        ...converted(held - fee, fee),
      });
      const messages = await w2.drainInbox(bank.url);
      expect(messages.map((m) => m.type)).toEqual(['lancash.payment']);
      const paid = await w2.accept(messages[0]!);
      expect(value(paid!.proofs)).toBe(held - fee);
      expect(w2.balance(bank.url)).toBe(held - fee - (await w2.fee(bank.url, paid!.proofs)));
      expect(await stateOf(lan, proofs)).toEqual(proofs.map(() => 'SPENT'));
      expect(await l.drainInbox(lan)).toEqual([]);
      await balanced(data, lan);
    });

    it.each(job1Refused)(
      'LAN → WAN refused, crash at %s: the sender keeps its notes and is told once',
      async (point) => {
        const data = join(dir, point.replaceAll(':', '_'));
        const { g1, lan, wan, l, held } = await lanSender(data, point);
        // The operator pays the whole reserve out, so the issue server refuses the conversion.
        const gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
        const ledger = new Ledger(bankStore);
        const withdrawn = await ledger.balance(gatewayKey);
        await ledger.withdraw(gatewayKey, withdrawn, `payout-${point}`);
        const w2 = await Terminal.create('wan');
        const proofs = l.takeAll(lan);
        const fee = await l.fee(lan, proofs);
        const { status } = await l.sendJob(lan, 'lan-to-wan', {
          proofs,
          destination: w2.address,
          replyTo: l.address,
        });
        await died(g1, point);

        await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
        expect(await waitForTransfer(lan, status.transferId)).toMatchObject({
          state: 'refused',
          refusal: { code: 73002 },
          ...converted(held - fee, fee),
        });
        await noticeSent(await openGateway(data), status.transferId);
        const messages = await l.drainInbox(lan);
        expect(messages.map((m) => [m.type, m.transferId])).toEqual([['gateway.notice', status.transferId]]);
        expect(await stateOf(lan, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
        l.add(lan, await l.swap(lan, proofs));
        expect(l.balance(lan)).toBe(held - fee);
        expect(await w2.drainInbox(bank.url)).toEqual([]);
        await balanced(data, lan, withdrawn);
      },
    );

    it.each(job2)('WAN → LAN, crash at %s: done once, the wide notes spent', async (point) => {
      const data = join(dir, point.replaceAll(':', '_'));
      const g1 = await firstGateway(data, point);
      const [lan, wan] = g1.urls as [string, string];
      const { w, l, proofs, env, answer } = await postWanToLan(bank.url, wan, 25);
      const fee = await w.fee(bank.url, proofs);
      if (point.endsWith('after-intake')) expect(isUnclear(answer)).toBe(true);
      await died(g1, point);

      await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
      expect((await w.postJob(wan, 'wan-to-lan', env)).transferId).toBe(env.transferId);
      expect(await waitForTransfer(wan, env.transferId)).toMatchObject({
        state: 'done',
        ...converted(25 - fee, fee),
      });
      const messages = await l.drainInbox(lan);
      expect(messages.map((m) => m.type)).toEqual(['lancash.payment']);
      const paid = await l.accept(messages[0]!);
      expect(value(paid!.proofs)).toBe(25 - fee);
      expect(l.balance(lan)).toBe(25 - fee - (await l.fee(lan, paid!.proofs)));
      expect(await stateOf(bank.url, proofs)).toEqual(proofs.map(() => 'SPENT'));
      expect(await w.drainInbox(bank.url)).toEqual([]);
      await balanced(data, lan);
    });

    it.each(job2Refused)(
      'WAN → LAN refused, crash at %s: nothing generated, the sender told once',
      async (point) => {
        const data = join(dir, point.replaceAll(':', '_'));
        const intake = 'gateway:job2:after-intake';
        const g1 = await startGateway(data, bank.url, { fault: intake });
        const [lan, wan] = g1.urls as [string, string];
        const { w, l, proofs, env, answer } = await postWanToLan(bank.url, wan, 16);
        const fee = await w.fee(bank.url, proofs);
        expect(isUnclear(answer)).toBe(true);
        await died(g1, intake);
        // While the gateway is down, the sender spends the notes: the receiving server will refuse them.
        await w.swap(bank.url, proofs);
        const g2 = await startGateway(data, bank.url, {
          fault: point,
          lan: hostPort(lan),
          wan: hostPort(wan),
        });
        await died(g2, point);

        await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
        expect(await waitForTransfer(wan, env.transferId)).toMatchObject({
          state: 'refused',
          refusal: { code: 11001 },
        });
        await noticeSent(await openGateway(data), env.transferId);
        const messages = await w.drainInbox(bank.url);
        expect(messages.map((m) => [m.type, m.transferId])).toEqual([['gateway.notice', env.transferId]]);
        expect(await l.drainInbox(lan)).toEqual([]);
        expect(await getTransfer(wan, env.transferId)).toMatchObject(converted(16 - fee, fee));
        // No local fee: nothing was generated, nothing swapped at the local mint.
        await balances(bankStore, await openGateway(data), lan);
        const gw = await openGateway(data);
        expect((await totals(gw.db)).signed).toBe(0);
      },
    );
  });
}
