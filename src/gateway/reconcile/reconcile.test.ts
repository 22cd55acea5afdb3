/**
 * The journal against the bank's request log, on every dialect, with a real wide bank and gateway in
 * this process (docs/gateway.md, "Reconciling with the bank"): jobs the journal lost (their rows and
 * local effects removed, as an older copy of the database would lack them) are found and named
 * (74003), rebuilt by `reconcile` from the recovery records the bank keeps, and finished by the runner
 * with the money delivered once and both audits balanced; a bank that lost requests is refused (74004).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../core/bytes.js';
import { MAX_ENVELOPE_PAYLOAD, openJson, sealJson } from '../../core/envelope/index.js';
import type { LancashError } from '../../core/errors.js';
import { PAYOUT_REQUEST, requestPayout, requestPayroll } from '../../core/protocol/gateway.js';
import type { Store } from '../../store/index.js';
import { DIALECTS, freshStore } from '../../test-support/dialects.js';
import { finish, OPERATOR_TOKEN, startNet, type TestNet } from '../../test-support/gateway-net.js';
import { stateOf } from '../../test-support/notes.js';
import { refusalOf } from '../../test-support/refusals.js';
import { totalsFromRows } from '../../test-support/running-totals.js';
import { randomId, Terminal } from '../../test-support/terminal.js';
import { auditGateway } from '../audit.js';
import type { Job } from '../jobs/model.js';
import { GatewayKeys } from '../keys.js';
import { heldNotes } from './repository.js';
import { checkAgainstBank, GATEWAY_RECOVERY, heldAsProofs, reconcile, sealRecovery } from './service.js';

/** The local notes a recovery record carries (`inputs`), opened with the gateway's keys. */
async function inputsOf(keys: GatewayKeys, record: unknown): Promise<unknown> {
  const opened = await openJson({
    envelope: record,
    recipient: keys.encryption,
    expectedSender: keys.encryption.publicKey,
    expectedType: GATEWAY_RECOVERY,
  });
  return (opened.payload as { inputs?: unknown }).inputs;
}

describe.each(DIALECTS)('reconciling the journal with the bank on %s', (dialect) => {
  let net: TestNet;

  beforeEach(async () => {
    net = await startNet(dialect);
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  /** Forgets a job as an older copy of the database would: its row, its events, its local effects. */
  async function forget(id: string, op: string): Promise<void> {
    const db = net.gwStore.db;
    await db.deleteFrom('gateway_job_events').where('job_id', '=', id).execute();
    await db.deleteFrom('gateway_jobs').where('id', '=', id).execute();
    await db.deleteFrom('mint_proofs').where('operation', '=', op).execute();
    await db.deleteFrom('mint_signatures').where('operation', '=', op).execute();
    await totalsFromRows(db);
  }

  const audited = () => auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });

  it('names lost jobs (74003), rebuilds them from the bank’s records, and they finish once', async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const l = await Terminal.create('lan');
    const w = await Terminal.create('wan');
    await w.mintWide(bankUrl, 300);
    const first = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    expect((await finish(net, first.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);
    expect(await checkAgainstBank({ store: net.gwStore, bank: gw.bank })).toMatchObject({
      checked: 1,
      last: 1,
    });
    const w2 = await Terminal.create('wan');
    const notes = l.takeAll(lanUrl);
    const job1 = await l.sendJob(lanUrl, 'lan-to-wan', { proofs: notes, destination: w2.address });
    expect((await finish(net, job1.status.transferId)).state).toBe('done');
    await w.mintWide(bankUrl, 40);
    const l2 = await Terminal.create('lan');
    const job2 = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l2.address,
    });
    expect((await finish(net, job2.status.transferId)).state).toBe('done');
    await forget(job1.status.transferId, `job1:${job1.status.transferId}`);
    await forget(job2.status.transferId, `job2:${job2.status.transferId}`);
    expect((await audited()).balanced).toBe(false);
    // From the cursor (the funding job's entry, checked above and still there), the two entries after
    // it name no job here.
    const behind = (await refusalOf(checkAgainstBank({ store: net.gwStore, bank: gw.bank }))) as LancashError;
    expect(behind.code).toBe(74003);
    expect(behind.info).toMatchObject({
      missing: [`issue:${job1.status.transferId}`, `receive:${job2.status.transferId}`],
      count: 2,
    });
    expect(behind.message).toContain('lancash gateway reconcile');

    const rebuilt = await reconcile({ store: net.gwStore, bank: gw.bank, keys: gw.keys, mint: gw.mint });
    expect(rebuilt).toEqual([
      { request: `issue:${job1.status.transferId}`, job: job1.status.transferId, amount: 300 },
      { request: `receive:${job2.status.transferId}`, job: job2.status.transferId, amount: 40 },
    ]);
    expect(await reconcile({ store: net.gwStore, bank: gw.bank, keys: gw.keys, mint: gw.mint })).toEqual([]);
    await checkAgainstBank({ store: net.gwStore, bank: gw.bank });
    expect((await finish(net, job1.status.transferId)).state).toBe('done');
    expect((await finish(net, job2.status.transferId)).state).toBe('done');

    // Delivered again, taken once; the restored local notes are spent again.
    await w2.receive(bankUrl);
    expect(w2.balance(bankUrl)).toBe(300);
    await l2.receive(lanUrl);
    expect(l2.balance(lanUrl)).toBe(40);
    expect(
      (await refusalOf(l.sendJob(lanUrl, 'lan-to-wan', { proofs: notes, destination: w2.address }))).code,
    ).toBe(11001);
    const audit = await audited();
    expect(audit.differences).toEqual([]);
    expect(audit.totals).toMatchObject({ reserve: 40, local: { outstanding: 40 } });
  });

  it("job 1's recovery record carries the notes its intake held, as the database holds them", async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const l = await Terminal.create('lan');
    const w = await Terminal.create('wan');
    await w.mintWide(bankUrl, 77);
    const fund = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    expect((await finish(net, fund.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);
    const job1 = await l.sendJob(lanUrl, 'lan-to-wan', { proofs: l.takeAll(lanUrl), destination: w.address });
    const id = job1.status.transferId;
    expect((await finish(net, id)).state).toBe('done');
    const page = await gw.bank.requests(0, 100, true);
    const entry = page.requests.find((e) => e.kind === 'issue' && e.ref === id);
    const held = heldAsProofs(await heldNotes(net.gwStore.db, `job1:${id}`));
    expect(held.length).toBeGreaterThan(0);
    // What the step sealed from its intake's notes is what a restarted gateway would read back.
    expect(await inputsOf(gw.keys, entry?.recovery)).toEqual(held);
  });

  it('refuses to rebuild a job whose notes were converted again meanwhile (74005), naming it', async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const fund = async (amount: number) => {
      const l = await Terminal.create('lan');
      const w = await Terminal.create('wan');
      await w.mintWide(bankUrl, amount);
      const s = await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
      expect((await finish(net, s.status.transferId)).state).toBe('done');
      await l.receive(lanUrl);
      return l;
    };
    const l = await fund(300);
    await fund(500);
    const notes = l.takeAll(lanUrl);
    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(lanUrl, 'lan-to-wan', { proofs: notes, destination: w2.address });
    expect((await finish(net, job1.status.transferId)).state).toBe('done');
    await forget(job1.status.transferId, `job1:${job1.status.transferId}`);
    // What a gateway without the check did on the old copy: the same notes converted again.
    const again = await l.sendJob(lanUrl, 'lan-to-wan', { proofs: notes, destination: w2.address });
    expect((await finish(net, again.status.transferId)).state).toBe('done');

    const failed = await refusalOf(
      reconcile({ store: net.gwStore, bank: gw.bank, keys: gw.keys, mint: gw.mint }),
    );
    expect(failed.code).toBe(74005);
    expect(failed.info).toMatchObject({ request: `issue:${job1.status.transferId}` });
    expect(failed.message).toContain('spent by another operation');
    // The audit names the double payment: the reserve is short by the notes' value.
    const audit = await audited();
    expect(audit.balanced).toBe(false);
    expect(audit.differences.flatMap((d) => d.rows)).toContain(
      `bank_requests:issue:${gw.keys.publicKeyHex}:${job1.status.transferId}`,
    );
  });

  it('rebuilds a lost payroll and a lost payout from their records', async () => {
    const { lanUrl, gw } = net;
    const l = await Terminal.create('lan');
    await net.bank.ledger.deposit(gw.keys.publicKeyHex, 200, 'pay-1');
    const pay = await requestPayroll({
      base: lanUrl,
      operatorToken: OPERATOR_TOKEN,
      request: { ref: 'pay-1', amount: 200, to: l.address },
    });
    expect((await finish(net, pay.transferId)).state).toBe('done');
    await l.receive(lanUrl);
    const proofs = l.takeAll(lanUrl);
    const envelope = await sealJson({
      type: PAYOUT_REQUEST,
      transferId: randomId(),
      sender: l.pair,
      recipient: gw.keys.encryption.publicKey,
      payload: { ref: 'out-1', proofs },
    });
    const out = await requestPayout({ base: lanUrl, operatorToken: OPERATOR_TOKEN, envelope });
    expect((await finish(net, out.transferId)).state).toBe('done');

    await forget(pay.transferId, `payroll:${pay.transferId}`);
    await forget(out.transferId, `payout:${out.transferId}`);
    const behind = (await refusalOf(checkAgainstBank({ store: net.gwStore, bank: gw.bank }))) as LancashError;
    expect(behind.info).toMatchObject({ missing: ['claim:pay-1', 'payout:out-1'] });
    const rebuilt = await reconcile({ store: net.gwStore, bank: gw.bank, keys: gw.keys, mint: gw.mint });
    expect(rebuilt.map((r) => [r.request, r.job])).toEqual([
      ['claim:pay-1', pay.transferId],
      ['payout:out-1', out.transferId],
    ]);
    expect((await finish(net, pay.transferId)).state).toBe('done');
    expect((await finish(net, out.transferId)).state).toBe('done');
    expect(await stateOf(lanUrl, proofs)).toEqual(proofs.map(() => 'SPENT'));
    expect((await audited()).differences).toEqual([]);
  });

  it('refuses a bank that lost requests the journal holds (74004), naming the jobs', async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const l = await Terminal.create('lan');
    const w = await Terminal.create('wan');
    await w.mintWide(bankUrl, 50);
    const job2 = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    expect((await finish(net, job2.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);
    // As a restored bank database would: the request log lost its entry.
    await net.bankStore.db.deleteFrom('bank_request_log').execute();
    const behind = (await refusalOf(checkAgainstBank({ store: net.gwStore, bank: gw.bank }))) as LancashError;
    expect(behind.code).toBe(74004);
    expect(behind.info).toMatchObject({ bankLast: 0, expectedAtLeast: 1, missing: [job2.status.transferId] });
    expect(behind.message).toContain('point-in-time recovery');
  });
});

describe('the recovery record', () => {
  it("of a job 1 this process took in: its intake's notes, no read of the database", async () => {
    const store = await freshStore('sqlite');
    try {
      const keys = await GatewayKeys.load(store);
      const heldInputs = [
        { amount: 4, id: '00ab', secret: 's1', C: '02cd' },
        { amount: 1, id: '00ab', secret: 's2', C: '03ef', witness: '{"signatures":[]}' },
      ];
      const job = {
        id: 'j1',
        kind: 'transfer',
        direction: 'lan-to-wan',
        journal: { outputs: [] },
        heldInputs,
      } as unknown as Job;
      // Any use of the store (a read of the held notes) fails the seal.
      const untouchable = new Proxy({} as Store, {
        get: () => {
          throw new Error('the store was used');
        },
      });
      expect(await inputsOf(keys, await sealRecovery(untouchable, keys, job))).toEqual(heldInputs);
    } finally {
      await store.close();
    }
  });

  it('of a job 2 of 1000 notes fits beside them in one receive request', async () => {
    const store = await freshStore('sqlite');
    try {
      const keys = await GatewayKeys.load(store);
      const hexOf = (n: number) => bytesToHex(randomBytes(n));
      const proofs = Array.from({ length: 1000 }, () => ({
        amount: 1024,
        id: `00${hexOf(7)}`,
        secret: hexOf(32),
        C: `02${hexOf(32)}`,
        dleq: { e: hexOf(32), s: hexOf(32), r: hexOf(32) },
      }));
      const outputs = Array.from({ length: 20 }, () => ({
        amount: 1,
        id: `00${hexOf(7)}`,
        B_: `02${hexOf(32)}`,
        secret: hexOf(32),
        r: hexOf(32),
      }));
      const job: Job = {
        id: hexOf(16),
        kind: 'transfer',
        ref: null,
        direction: 'wan-to-lan',
        state: 'receiving',
        senderKey: hexOf(32),
        requestHash: hexOf(32),
        destination: 'lan1…',
        destinationKey: hexOf(32),
        replyTo: null,
        amount: 1024 * 1000,
        journal: { wideProofs: proofs, outputs },
        notice: 'none',
        refusal: null,
        attempts: 0,
        nextAttemptAt: 0,
        lastError: null,
        createdAt: 0,
        updatedAt: 0,
      };
      const recovery = await sealRecovery(store, keys, job, { proofs });
      expect(recovery).toBeDefined();
      // The request as the gateway seals it to the bank: it must not be too large to send.
      await sealJson({
        type: 'bank.receive.request',
        transferId: job.id,
        sender: keys.encryption,
        recipient: keys.encryption.publicKey,
        payload: { proofs, account: keys.publicKeyHex, recovery },
      });
      // Beside a request that leaves no room, the call goes without one.
      expect(
        await sealRecovery(store, keys, job, { proofs, pad: 'x'.repeat(MAX_ENVELOPE_PAYLOAD) }),
      ).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
