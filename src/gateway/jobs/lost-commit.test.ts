/**
 * The commits after a delivery (the `done` move, a notice marked sent) return without waiting for the
 * log's flush (`MOVES_NO_VALUE`), so a power loss may lose them. On every dialect: those commits, and
 * only they, are the relaxed ones of a conversion; and when one is lost (the job row and its events
 * put back exactly as they were before it), the job delivers the journaled envelope again and ends as
 * it did, and the envelope arrives exactly once, whether the recipient had drained it before the loss
 * (the mailbox's tombstone) or not (the same bytes again store nothing).
 */
import type { Selectable } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransactionOptions } from '../../store/index.js';
import type { Database } from '../../store/schema.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { commitMode } from '../../test-support/durability.js';
import { finish, startNet, type TestNet } from '../../test-support/gateway-net.js';
import { Terminal } from '../../test-support/terminal.js';

type JobRow = Selectable<Database['gateway_jobs']>;

/** The job and its last event as they stood just before its first relaxed commit. */
interface Before {
  job: JobRow;
  lastEvent: number;
}

describe.each(DIALECTS)('a lost commit after a delivery on %s', (dialect) => {
  let net: TestNet;

  beforeEach(async () => {
    net = await startNet(dialect);
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  /** Local notes for a new LAN terminal, through a WAN → LAN conversion. */
  async function funded(amount: number): Promise<Terminal> {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, amount);
    await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await gw.runner.settle();
    await l.receive(lanUrl);
    expect(l.balance(lanUrl)).toBe(amount);
    return l;
  }

  /**
   * Runs `steps` recording every gateway transaction's durability (read inside it), and the job `id()` as it stood
   * before the first relaxed one (what a power loss after that commit returned would leave).
   */
  async function recording(
    steps: () => Promise<void>,
    id: () => string,
  ): Promise<{ durable: boolean[]; before: Before }> {
    const { gwStore } = net;
    const durable: boolean[] = [];
    let before: Before | undefined;
    const transaction = gwStore.transaction.bind(gwStore);
    gwStore.transaction = async (fn, options?: TransactionOptions) => {
      if (options?.durable === false && before === undefined) {
        const job = await gwStore.db
          .selectFrom('gateway_jobs')
          .selectAll()
          .where('id', '=', id())
          .executeTakeFirstOrThrow();
        const events = await gwStore.db
          .selectFrom('gateway_job_events')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .where('job_id', '=', job.id)
          .executeTakeFirstOrThrow();
        before = { job, lastEvent: Number(events.seq) };
      }
      // The mode the transaction runs in, read inside it: what the store did with the options.
      return transaction(async (trx) => {
        durable.push((await commitMode(trx, gwStore.dialect)) === 'durable');
        return fn(trx);
      }, options);
    };
    try {
      await steps();
    } finally {
      gwStore.transaction = transaction;
    }
    if (before === undefined) throw new Error('no relaxed commit');
    return { durable, before };
  }

  /** The power loss: the relaxed commit is gone, the job's row and events as before it. */
  async function lose({ job, lastEvent }: Before): Promise<void> {
    const { gwStore } = net;
    const { id, ...columns } = job;
    await gwStore.db.updateTable('gateway_jobs').set(columns).where('id', '=', id).execute();
    await gwStore.db
      .deleteFrom('gateway_job_events')
      .where('job_id', '=', id)
      .where('seq', '>', lastEvent)
      .execute();
  }

  /** The job's events after `lastEvent`, as `from→to detail`. */
  async function eventsSince({ job, lastEvent }: Before): Promise<string[]> {
    const rows = await net.gwStore.db
      .selectFrom('gateway_job_events')
      .select(['from_state', 'to_state', 'detail'])
      .where('job_id', '=', job.id)
      .where('seq', '>', lastEvent)
      .orderBy('seq')
      .execute();
    return rows.map((e) => `${e.from_state}→${e.to_state} ${e.detail}`);
  }

  it.each(['after the recipient drained it', 'before the recipient drained it'])(
    'LAN → WAN, the done move lost %s: delivered again, done, the payment arrives once',
    async (when) => {
      const { bankUrl, lanUrl, gw } = net;
      const l = await funded(40);
      const w = await Terminal.create('wan');
      const { status } = await l.sendJob(lanUrl, 'lan-to-wan', {
        proofs: l.takeAll(lanUrl),
        destination: w.address,
      });
      const id = status.transferId;
      const { durable, before } = await recording(
        () => gw.runner.settle(),
        () => id,
      );
      expect(await gw.jobs.status(id)).toMatchObject({ state: 'done' });
      // The commit (the local notes erased) durable; the done move after the deposit relaxed.
      expect(durable).toEqual([true, false]);
      expect(before.job).toMatchObject({ state: 'delivering', active: 1 });
      if (when.startsWith('after')) expect((await w.receive(bankUrl)).payments).toHaveLength(1);

      await lose(before);
      expect(await gw.jobs.status(id)).toMatchObject({ state: 'delivering' });
      await gw.runner.settle();
      expect(await gw.jobs.status(id)).toMatchObject({ state: 'done' });
      expect(await eventsSince(before)).toEqual(['delivering→done delivered']);
      if (when.startsWith('before')) expect((await w.receive(bankUrl)).payments).toHaveLength(1);
      // Exactly once: nothing more in the inbox, the value received once, the reserve as after one.
      expect(await w.drainInbox(bankUrl)).toEqual([]);
      expect(w.balance(bankUrl)).toBe(40);
      expect(await net.reserve()).toBe(0);
      expect(await net.localOutstanding()).toBe(0);
    },
  );

  it('WAN → LAN refused, the notice marked sent lost: the notice sent again, it arrives once', async () => {
    const { bankUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const proofs = await w.mintWide(bankUrl, 16);
    await gw.runner.stop();
    const { status } = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs,
      destination: l.address,
      replyTo: w.address,
    });
    const id = status.transferId;
    await w.swap(bankUrl, proofs); // spent before the gateway hands them in: the bank refuses
    const { durable, before } = await recording(
      async () => {
        expect(await finish(net, id)).toMatchObject({ state: 'refused' });
      },
      () => id,
    );
    // The refusal's commit durable, the notice marked sent relaxed.
    expect(durable).toEqual([true, false]);
    expect(before.job).toMatchObject({ state: 'refused', notice: 'pending', active: 1 });
    expect((await w.receive(bankUrl)).notices).toHaveLength(1);

    await lose(before);
    expect((await gw.jobs.job(id))?.notice).toBe('pending');
    await gw.runner.settle();
    expect((await gw.jobs.job(id))?.notice).toBe('sent');
    expect(await eventsSince(before)).toEqual(['refused→refused notice delivered']);
    expect(await w.drainInbox(bankUrl)).toEqual([]);
    expect(await net.reserve()).toBe(0);
  });
});
