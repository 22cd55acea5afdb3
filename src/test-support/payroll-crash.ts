/**
 * Payroll and payout survive a crash at every step (docs/design.md §6, invariant 4), with the real
 * `lancash wide-bank` and `lancash gateway` processes, as a suite a test file declares for one case
 * (`CrashCase`, as the conversions' suite in `gateway-crash.ts`: the gateway's database dialect, and
 * NUT-02 input fees on both mints or none). For each fault point of the operator jobs (and the shared
 * delivery and notice steps they end with) the gateway is started with `LANCASH_FAULT=<point>`, the
 * job runs until the process kills itself there, the gateway is restarted on the same ports without the
 * fault, and the job must reach exactly one terminal state: the payroll paid once (or nothing generated
 * when refused), the payout's notes erased once (or kept when refused), one claim or withdrawal at the
 * bank; the operator's retry names the same job. With fees (docs/gateway.md, "Fees"), the payroll
 * generates exactly its amount, the member's receive swap pays the local mint's fee on it, and a
 * payout withdraws exactly its notes' value less their fee: the reserve keeps the local fees collected.
 * Invariants 1 and 2 balance after each (`balances`, and `auditGateway`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hex } from '../core/bytes.js';
import { sealJson } from '../core/envelope/index.js';
import { isUnclear } from '../core/http/client.js';
import type { Proof } from '../core/protocol/cashu.js';
import {
  getGatewayInfo,
  type OperatorJobStatus,
  PAYOUT_REQUEST,
  type PayrollRequest,
  requestPayout,
  requestPayroll,
} from '../core/protocol/gateway.js';
import { OPERATOR_FAULT_POINTS } from '../gateway/payroll/service.js';
import { feesAgainstRows } from '../mint/repository.js';
import { openStore, type Store } from '../store/index.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { crashGroup, died, noticeSent } from './crash.js';
import { rotateToFee } from './fee-keyset.js';
import { balances, type CrashCase } from './gateway-crash.js';
import { stateOf } from './notes.js';
import { type Started, startProcess, wideBankArgs } from './process.js';
import { randomId, Terminal, waitForTransfer } from './terminal.js';

const value = (proofs: readonly Proof[]) => proofs.reduce((n, p) => n + p.amount, 0);

/** Declares the suite "payroll and payout: crash at every step" for `c`, titled `title`. */
export function describePayrollCrash(title: string, c: CrashCase): void {
  describe(title, () => {
    const dir = mkdtempSync(join(tmpdir(), 'lancash-payroll-crash-'));
    const group = crashGroup({ dialect: c.dialect });
    const { startGateway } = group;
    const bankData = join(dir, 'bank');
    let bank: Started;
    let bankStore: Store;
    let ledger: Ledger;

    beforeAll(async () => {
      bank = await startProcess(wideBankArgs(bankData));
      // Outside the group: the bank and its store outlive each test.
      bankStore = await openStore({ dialect: 'sqlite', file: join(bankData, 'wide-bank.db') });
      ledger = new Ledger(bankStore);
      if (c.fees !== undefined && c.fees.wide > 0) {
        await rotateToFee('wide-bank', ['--data', bankData], c.fees.wide, bank.url);
      }
    });
    afterEach(() => group.close());
    afterAll(async () => {
      await bank.kill();
      await bankStore.close();
      await group.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** A gateway armed at `point` (its local mint at the case's fee), its key, token, database and listeners. */
    async function armed(point: string) {
      const data = join(dir, point.replaceAll(':', '_'));
      const g = await startGateway(data, bank.url, { fault: point });
      const [lan, wan] = g.urls as [string, string];
      if (c.fees !== undefined && c.fees.local > 0) {
        await rotateToFee('gateway', await group.gatewayDbArgs(data), c.fees.local, lan);
      }
      return {
        g,
        lan,
        wan,
        gw: await group.openGateway(data),
        key: (await getGatewayInfo(lan)).encryptionKey,
        token: group.operatorToken(data),
        restart: () => startGateway(data, bank.url, { lan: new URL(lan).host, wan: new URL(wan).host }),
      };
    }
    type Armed = Awaited<ReturnType<typeof armed>>;

    /**
     * Both invariants, every job finished, `unclaimed` deposited in the reserve beyond the local money
     * (a refused payroll's); with local fees and notes spent, that some were collected.
     */
    async function balanced(n: Armed, unclaimed = 0): Promise<void> {
      await balances(bankStore, n.gw, n.lan, -unclaimed);
      if (c.fees !== undefined && c.fees.local > 0 && unclaimed === 0) {
        expect((await feesAgainstRows(n.gw.db)).rows).toBeGreaterThan(0);
      }
    }

    const requestRows = (key: string) =>
      bankStore.db.selectFrom('bank_requests').select('key').where('key', '=', key).execute();

    const payrollPoints = [
      ...OPERATOR_FAULT_POINTS.payroll.filter((p) => !p.endsWith('refuse')),
      // Its last steps are the conversions' delivery (job 2's points).
      'gateway:job2:after-deliver',
      'gateway:job2:after-done',
    ];

    it.each(payrollPoints)('payroll, crash at %s: paid once, one claim', async (point) => {
      const n = await armed(point);
      const ref = `payroll-${randomId()}`;
      await ledger.deposit(n.key, 48, ref);
      const l = await Terminal.create('lan');
      const request: PayrollRequest = { ref, amount: 48, to: l.address };
      const first = await requestPayroll({ base: n.lan, operatorToken: n.token, request }).catch(
        (e: unknown) => e,
      );
      if (point.endsWith('after-intake')) expect(isUnclear(first)).toBe(true);
      await died(n.g, point);

      await n.restart();
      // The operator's retry (its first answer may have been lost) names the same job.
      const s = await requestPayroll({ base: n.lan, operatorToken: n.token, request });
      if (!isUnclear(first)) expect(s.transferId).toBe((first as OperatorJobStatus).transferId);
      // The payroll generates exactly its amount, fee or not (no notes are spent to make it).
      expect(await waitForTransfer(n.lan, s.transferId)).toMatchObject({ state: 'done', amount: 48 });
      const got = await l.receive(n.lan);
      expect(got.payments.map((p) => value(p.proofs))).toEqual([48]);
      // The member's receive swap pays the local mint's fee on the delivered notes.
      expect(l.balance(n.lan)).toBe(48 - (await l.fee(n.lan, got.payments[0]!.proofs)));
      expect(await l.drainInbox(n.lan)).toEqual([]);
      expect(await requestRows(`claim:${n.key}:${ref}`)).toHaveLength(1);
      await balanced(n);
    });

    it('payroll refused (another amount), crash at gateway:payroll:after-refuse: nothing generated', async () => {
      const point = 'gateway:payroll:after-refuse';
      const n = await armed(point);
      const ref = `payroll-${randomId()}`;
      await ledger.deposit(n.key, 48, ref);
      const l = await Terminal.create('lan');
      const s = await requestPayroll({
        base: n.lan,
        operatorToken: n.token,
        request: { ref, amount: 47, to: l.address },
      });
      await died(n.g, point);
      await n.restart();
      expect(await waitForTransfer(n.lan, s.transferId)).toMatchObject({
        state: 'refused',
        refusal: { code: 70001 },
      });
      expect(await l.drainInbox(n.lan)).toEqual([]);
      expect(await requestRows(`claim:${n.key}:${ref}`)).toEqual([]);
      // The deposit stays in the reserve, backing nothing: a surplus the audit allows.
      await balanced(n, 48);
    });

    const payoutPoints = [
      ...OPERATOR_FAULT_POINTS.payout.filter((p) => !p.endsWith('refuse')),
      // A payout with `replyTo` ends with the done notice (job 1's notice points).
      'gateway:job1:after-notice',
      'gateway:job1:after-notice-sent',
    ];

    /** Local notes for a fresh terminal through a payroll on the armed gateway (its points are not armed). */
    async function paid(n: Armed, amount: number): Promise<Terminal> {
      const ref = `seed-${randomId()}`;
      await ledger.deposit(n.key, amount, ref);
      const l = await Terminal.create('lan');
      const s = await requestPayroll({
        base: n.lan,
        operatorToken: n.token,
        request: { ref, amount, to: l.address },
      });
      expect((await waitForTransfer(n.lan, s.transferId)).state).toBe('done');
      await l.receive(n.lan);
      return l;
    }

    it.each(payoutPoints)('payout, crash at %s: the notes erased once, one withdrawal', async (point) => {
      const n = await armed(point);
      const l = await paid(n, 24);
      const proofs = l.takeAll(n.lan);
      // As job 1: the payout converts its notes' value less their fee, and states the fee.
      const fee = await l.fee(n.lan, proofs);
      const amount = value(proofs) - fee;
      const ref = `payout-${randomId()}`;
      const envelope = await sealJson({
        type: PAYOUT_REQUEST,
        transferId: randomId(),
        sender: l.pair,
        recipient: hex(n.key, 'gateway key', 32),
        payload: { ref, proofs, replyTo: l.address },
      });
      const first = await requestPayout({ base: n.lan, operatorToken: n.token, envelope }).catch(
        (e: unknown) => e,
      );
      if (point.endsWith('after-intake')) expect(isUnclear(first)).toBe(true);
      await died(n.g, point);

      await n.restart();
      const s = await requestPayout({ base: n.lan, operatorToken: n.token, envelope });
      expect(s.transferId).toBe(envelope.transferId);
      expect(await waitForTransfer(n.lan, s.transferId)).toMatchObject({
        state: 'done',
        amount,
        ...(fee > 0 ? { inputFee: fee } : {}),
      });
      await noticeSent(n.gw, s.transferId);
      expect(await stateOf(n.lan, proofs)).toEqual(proofs.map(() => 'SPENT'));
      const { notices } = await l.receive(n.lan);
      expect(notices.map((x) => x.status.state)).toEqual(['done']);
      expect(await requestRows(`payout:${n.key}:${ref}`)).toHaveLength(1);
      // The 24 deposited less exactly the amount withdrawn: what stays is the local fees collected.
      expect(await ledger.balance(n.key)).toBe(24 - amount);
      await balanced(n);
    });

    it('payout refused (reserve short), crash at gateway:payout:after-refuse: the notes kept', async () => {
      const point = 'gateway:payout:after-refuse';
      const n = await armed(point);
      const l = await paid(n, 24);
      const proofs = l.takeAll(n.lan);
      await ledger.withdraw(n.key, 24, `short-${randomId()}`);
      const envelope = await sealJson({
        type: PAYOUT_REQUEST,
        transferId: randomId(),
        sender: l.pair,
        recipient: hex(n.key, 'gateway key', 32),
        payload: { ref: `payout-${randomId()}`, proofs },
      });
      const s = await requestPayout({ base: n.lan, operatorToken: n.token, envelope });
      await died(n.g, point);
      await n.restart();
      expect(await waitForTransfer(n.lan, s.transferId)).toMatchObject({
        state: 'refused',
        refusal: { code: 73002 },
      });
      expect(await stateOf(n.lan, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
      // The bank's operator puts the money back: the reserve backs the kept notes again.
      await ledger.deposit(n.key, 24, `back-${randomId()}`);
      await balanced(n);
    });
  });
}
