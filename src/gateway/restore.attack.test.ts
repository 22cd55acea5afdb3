/**
 * Issue 8, item 2: an older gateway database converts the same local notes twice. Against the real
 * `lancash wide-bank` and `lancash gateway` processes: a copy of `gateway.db` is taken (SQLite online
 * backup API) before a job 1, the job runs, the gateway is stopped and the old copy put back. Started
 * again on it, the gateway must refuse to run (74003, naming the transfer the bank answered and the
 * repair), so the same local notes cannot be converted a second time; `lancash audit` over both
 * databases must name the journal behind the bank; after `lancash gateway reconcile` the gateway
 * starts, finishes the rebuilt job, refuses the same notes again, and the audit balances. The converse:
 * the bank's database restored from an older copy under a running journal is refused too (74004).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { getTransfer } from '../core/protocol/gateway.js';
import { gatewayArgs, runLancash, type Started, startProcess } from '../test-support/process.js';
import { refusalOf } from '../test-support/refusals.js';
import { type System, startSystem } from '../test-support/system.js';
import { Terminal, waitForTransfer } from '../test-support/terminal.js';

let sys: System | undefined;
let dir = '';

afterEach(async () => {
  await sys?.close();
  sys = undefined;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** A consistent copy of a live SQLite database, as docs/storage.md tells operators to take one. */
async function backup(file: string, to: string): Promise<void> {
  const db = new Database(file, { readonly: true });
  try {
    await db.backup(to);
  } finally {
    db.close();
  }
}

/** Puts an old copy back in place of a stopped server's database (its WAL files go with the old state). */
function restore(copy: string, file: string): void {
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  copyFileSync(copy, file);
}

/** The gateway of `sys`'s bank on the data directory `data`. */
const gatewayOn = (bank: string, data: string) => gatewayArgs(bank, '--data', data);

/** Local notes worth `amount` for a new LAN terminal, through a job 2. */
async function funded(s: System, amount: number): Promise<Terminal> {
  const l = await Terminal.create('lan');
  const w = await Terminal.create('wan');
  await w.mintWide(s.bank, amount);
  const { status } = await w.sendJob(s.wan, 'wan-to-lan', {
    proofs: w.takeAll(s.bank),
    destination: l.address,
  });
  expect((await waitForTransfer(s.wan, status.transferId)).state).toBe('done');
  await l.receive(s.lan);
  expect(l.balance(s.lan)).toBe(amount);
  return l;
}

describe('a gateway database restored from an older copy (issue 8, item 2)', () => {
  it('refuses to start until reconciled; the same local notes convert once; the audit balances after the repair', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lancash-restore-'));
    sys = await startSystem(dir);
    const gwData = join(dir, 'gw');
    const gwDb = join(gwData, 'gateway.db');
    const bankDb = join(dir, 'bank', 'wide-bank.db');
    const l = await funded(sys, 300);
    // Others' local money: the reserve holds more than the notes converted, as in any real deployment.
    await funded(sys, 500);

    await backup(gwDb, join(dir, 'gateway.db.bak'));
    const notes = l.takeAll(sys.lan);
    const w = await Terminal.create('wan');
    const { status } = await l.sendJob(sys.lan, 'lan-to-wan', { proofs: notes, destination: w.address });
    expect((await waitForTransfer(sys.lan, status.transferId)).state).toBe('done');

    await sys.gateway.kill();
    await sys.gwStore.close();
    restore(join(dir, 'gateway.db.bak'), gwDb);

    // Started again on the old copy. The old code runs, and converts the same local notes a second
    // time: the bank pays the reserve out twice, which the audit shows, and the test fails here.
    let started: Started | undefined;
    let refusal = '';
    try {
      started = await startProcess(gatewayOn(sys.bank, gwData), { listeners: 2, startTimeoutMs: 45_000 });
    } catch (e) {
      refusal = (e as Error).message;
    }
    if (started !== undefined) {
      const lan = started.urls[0]!;
      const twice = await l.sendJob(lan, 'lan-to-wan', { proofs: notes, destination: w.address });
      const state = (await waitForTransfer(lan, twice.status.transferId)).state;
      await started.kill();
      const audit = await runLancash(['audit', '--wide-bank-db', bankDb, '--gateway-db', gwDb]);
      expect.fail(
        `the gateway ran on a journal behind the bank; the same notes again: ${state}\n${audit.stderr}`,
      );
    }
    expect(refusal).toContain('exited with 1 before listening');
    expect(refusal).toContain('refusing to start (74003)');
    expect(refusal).toContain(`issue:${status.transferId}`);
    expect(refusal).toContain('lancash gateway reconcile');
    const wire = JSON.parse(refusal.trim().split('\n').at(-1)!) as { error: { code: number; info: unknown } };
    expect(wire.error).toMatchObject({
      code: 74003,
      info: { missing: [`issue:${status.transferId}`], count: 1 },
    });

    // The audit over both databases names the request the journal lacks.
    const behind = await runLancash(['audit', '--wide-bank-db', bankDb, '--gateway-db', gwDb]);
    expect(behind.code).toBe(1);
    expect(behind.stderr).toContain('journal behind the wide bank');
    expect(behind.stderr).toContain(`bank_requests:issue:${sys.gatewayKey}:${status.transferId}`);

    // The documented repair, then the gateway starts and finishes the rebuilt job.
    const repaired = await runLancash(['gateway', 'reconcile', '--data', gwData, '--wide-bank', sys.bank]);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({
      rebuilt: [{ request: `issue:${status.transferId}`, job: status.transferId, amount: 300 }],
    });
    const gateway = await startProcess(gatewayOn(sys.bank, gwData), { listeners: 2 });
    const lan = gateway.urls[0]!;
    expect((await waitForTransfer(lan, status.transferId)).state).toBe('done');

    // The same local notes under a new transfer id: spent, refused, nothing converted.
    const again = await refusalOf(l.sendJob(lan, 'lan-to-wan', { proofs: notes, destination: w.address }));
    expect(again.code).toBe(11001);
    await w.receive(sys.bank);
    expect(w.balance(sys.bank)).toBe(300);
    expect((await getTransfer(lan, status.transferId)).amount).toBe(300);

    const audit = await runLancash(['audit', '--wide-bank-db', bankDb, '--gateway-db', gwDb]);
    expect(audit.stderr).toBe('');
    expect(audit.code).toBe(0);
  }, 180_000);

  it('refuses to start on a wide bank whose database was restored from before the journal’s last request', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lancash-restore-'));
    sys = await startSystem(dir);
    const bankDb = join(dir, 'bank', 'wide-bank.db');
    const l = await funded(sys, 100);
    await sys.gateway.kill();
    await backup(bankDb, join(dir, 'wide-bank.db.bak'));
    // One more conversion after the bank's copy was taken.
    const gateway = await startProcess(gatewayOn(sys.bank, join(dir, 'gw')), { listeners: 2 });
    const lan = gateway.urls[0]!;
    const w = await Terminal.create('wan');
    const { status } = await l.sendJob(lan, 'lan-to-wan', {
      proofs: l.takeAll(sys.lan),
      destination: w.address,
    });
    expect((await waitForTransfer(lan, status.transferId)).state).toBe('done');
    await gateway.kill();

    // The bank restored from its old copy (stopped first, as a restore is done).
    await sys.bankProcess.kill();
    restore(join(dir, 'wide-bank.db.bak'), bankDb);
    const bank = await startProcess([
      'wide-bank',
      '--lightning',
      'fake',
      '--listen',
      new URL(sys.bank).host,
      '--data',
      join(dir, 'bank'),
    ]);
    expect(bank.url).toBe(sys.bank);

    const refused = await runLancash(gatewayOn(sys.bank, join(dir, 'gw')), { timeoutMs: 45_000 });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('refusing to start (74004)');
    expect(refused.stderr).toContain(status.transferId);
    expect(refused.stderr).toContain('point-in-time recovery');
  }, 180_000);
});
