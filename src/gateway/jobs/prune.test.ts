/**
 * Pruning finished jobs' bulk on every dialect, with a real wide bank and gateway in this process: two
 * conversions done and one held in flight (its bank call failing); a round past the retention prunes
 * exactly the two done ones (their journal's bulk dropped from their events, `pruned_at` set), leaves the job in
 * flight byte for byte (row and bulk),
 * and changes nothing the statuses, the terminals' histories or the gateway audit show; the job in
 * flight then finishes and the audit still balances. A row that changed since it was read is not pruned.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../core/bytes.js';
import { UnclearOutcome } from '../../core/http/client.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { finish, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { Terminal } from '../../test-support/terminal.js';
import { auditGateway } from '../audit.js';
import type { Journal } from './model.js';
import { DEFAULT_PRUNE_AFTER_MS, pruneFinishedJobs, slimJournal } from './prune.js';
import { historyOf, jobOf } from './reads.js';
import * as repo from './repository.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('pruning finished jobs on %s', (dialect) => {
  let net: TestNet;
  let issueDown = false;

  beforeEach(async () => {
    issueDown = false;
    net = await startNet(dialect, {
      bank: (real) =>
        wrapBank(real, {
          issue: (...a) => {
            if (issueDown) throw new UnclearOutcome('network', 'test', 'issue server unreachable');
            return real.issue(...a);
          },
        }),
      gateway: { pruning: false },
    });
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  const audit = () => auditGateway({ gatewayStore: net.gwStore, wideBankStore: net.bankStore });
  const row = async (id: string) => {
    const r = await repo.getJob(net.gwStore.db, id);
    if (r === undefined) throw new Error(`no job ${id}`);
    return r;
  };
  const journal = async (id: string) => (await jobOf(net.gwStore.db, id))!.journal;
  const bulk = (id: string) => repo.bulkOf(net.gwStore.db, id);

  it('slims only finished jobs past the retention; statuses, histories and the audit stay the same', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 40);
    const job2 = (
      await w.sendJob(net.wanUrl, 'wan-to-lan', { proofs: w.takeAll(net.bankUrl), destination: l.address })
    ).status.transferId;
    expect((await finish(net, job2)).state).toBe('done');
    await l.receive(net.lanUrl);
    const notes = l.takeAll(net.lanUrl);
    const eight = notes.filter((p) => p.amount === 8);
    const thirtyTwo = notes.filter((p) => p.amount === 32);
    const job1 = (await l.sendJob(net.lanUrl, 'lan-to-wan', { proofs: eight, destination: w.address })).status
      .transferId;
    expect((await finish(net, job1)).state).toBe('done');
    // The third stays in flight: its issue call fails until the issue server is back.
    issueDown = true;
    const held = (await l.sendJob(net.lanUrl, 'lan-to-wan', { proofs: thirtyTwo, destination: w.address }))
      .status.transferId;
    await net.gw.runner.settle();
    expect((await net.gw.jobs.status(held)).state).toBe('issuing');

    const ids = [job2, job1, held];
    const keys = [bytesToHex(w.pair.publicKey), bytesToHex(l.pair.publicKey)];
    const statuses = await Promise.all(ids.map((id) => net.gw.jobs.status(id)));
    const histories = await Promise.all(keys.map((k) => historyOf(net.gwStore.db, k)));
    const before = await audit();
    expect(before.differences).toEqual([]);
    const heldRow = await row(held);
    const heldBulk = await bulk(held);
    const doneJournal = await journal(job1);
    expect(doneJournal.outputs.length).toBeGreaterThan(0);
    expect(doneJournal.delivery).toBeDefined();
    // The row holds the head only; the bulk is in its own rows (the intake's, the issue step's).
    expect(JSON.parse((await row(job1)).journal)).not.toHaveProperty('outputs');
    expect((await bulk(job1)).length).toBe(2);

    // Within the retention nothing is pruned; past it, exactly the two done jobs.
    const now = net.clock.now;
    expect(await pruneFinishedJobs({ store: net.gwStore, now, afterMs: DEFAULT_PRUNE_AFTER_MS })).toBe(0);
    const later = now + 8 * DAY;
    expect(await pruneFinishedJobs({ store: net.gwStore, now: later, afterMs: DEFAULT_PRUNE_AFTER_MS })).toBe(
      2,
    );
    expect(await pruneFinishedJobs({ store: net.gwStore, now: later, afterMs: DEFAULT_PRUNE_AFTER_MS })).toBe(
      0,
    );
    for (const id of [job1, job2]) {
      const r = await row(id);
      expect(Number(r.pruned_at)).toBe(later);
      expect(await bulk(id)).toEqual([]);
      const j = await journal(id);
      expect(j).toEqual(slimJournal(j));
      expect(j.outputs).toEqual([]);
      expect(j.delivery).toBeUndefined();
    }
    // Job 2 keeps its receipt: the bank's word that it credited the reserve.
    expect(((await journal(job2)) as Journal).receipt).toBeDefined();
    expect(await row(held)).toEqual(heldRow);
    expect(await bulk(held)).toEqual(heldBulk);

    expect(await Promise.all(ids.map((id) => net.gw.jobs.status(id)))).toEqual(statuses);
    expect(await Promise.all(keys.map((k) => historyOf(net.gwStore.db, k)))).toEqual(histories);
    expect(await audit()).toEqual(before);

    // The job in flight finishes as if nothing happened, and everything still balances.
    issueDown = false;
    expect((await finish(net, held)).state).toBe('done');
    const after = await audit();
    expect(after.differences).toEqual([]);
    expect(after.balanced).toBe(true);
  });

  it('leaves a row that changed since it was read', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 3);
    const id = (
      await w.sendJob(net.wanUrl, 'wan-to-lan', { proofs: w.takeAll(net.bankUrl), destination: l.address })
    ).status.transferId;
    expect((await finish(net, id)).state).toBe('done');
    const [read] = await repo.prunable(net.gwStore.db, net.clock.now + 1, 10);
    expect(read?.id).toBe(id);
    if (read === undefined) return;
    const stale = { ...read, updated_at: Number(read.updated_at) - 1 };
    const written = await bulk(id);
    expect(written.length).toBeGreaterThan(0);
    expect(await repo.pruneJob(net.gwStore.db, stale, net.clock.now)).toBe(false);
    expect(await bulk(id)).toEqual(written);
    expect(await repo.pruneJob(net.gwStore.db, read, net.clock.now)).toBe(true);
    expect(await bulk(id)).toEqual([]);
    expect(await repo.pruneJob(net.gwStore.db, read, net.clock.now)).toBe(false);
  });
});
