/**
 * The journal's bulk apart from its row (migration 029, `model.ts` `journalColumns`): what a write puts
 * in the row and on its event, and migration 029 on a journal written before it, on every dialect: a
 * job in flight, one finished, one pruned and one without events read back exactly as before, the rows
 * split keep the head only and their bulk rides on their last event, the batches cross a page edge,
 * and a migrated job's next move adds its part after the old bulk.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../../test-support/dialects.js';
import { jobRow } from '../../test-support/jobs.js';
import { migratedUpTo } from '../../test-support/older-database.js';
import { type Journal, journalColumns, mergeJournal, newJournalColumns } from './model.js';
import { jobOf } from './reads.js';
import * as repo from './repository.js';

const outputs = [{ amount: 1, id: '00aa', B_: '02bb', secret: 'cc', r: 'dd' }];
const proofs = [{ amount: 1, id: '00aa', secret: 's', C: '02cc' }];
const envelope = {
  v: 1 as const,
  type: 'lancash.payment',
  transferId: 't',
  sender: 'a',
  recipient: 'b',
  enc: 'e',
  ct: 'c',
};

describe('the journal split for writing', () => {
  it('puts the head in the row and only the new bulk parts on the event', () => {
    const journal: Journal = { outputs, inputYs: ['02ee'], memo: 'rent', inputFee: 1 };
    expect(newJournalColumns(journal)).toEqual({
      head: '{"memo":"rent","inputFee":1}',
      bulk: JSON.stringify({ outputs, inputYs: ['02ee'] }),
    });
    expect(newJournalColumns({ outputs: [] })).toEqual({ head: '{}', bulk: '{"outputs":[]}' });
    // A step passing the whole journal writes only what it adds; the head only when a head part changes.
    expect(journalColumns(journal, { ...journal, wideProofs: proofs })).toEqual({
      head: undefined,
      bulk: JSON.stringify({ wideProofs: proofs }),
    });
    expect(journalColumns(journal, { receipt: { x: 1 } as unknown as Journal['receipt'] })).toEqual({
      head: '{"memo":"rent","inputFee":1,"receipt":{"x":1}}',
      bulk: undefined,
    });
    expect(journalColumns(journal, {})).toEqual({ head: undefined, bulk: undefined });
  });

  it("reads the head and the events' bulk in order, a later part over an earlier", () => {
    expect(mergeJournal('{"memo":"m"}', ['{"outputs":[1],"inputYs":["y"]}', '{"outputs":[2]}'])).toEqual({
      memo: 'm',
      outputs: [2],
      inputYs: ['y'],
    });
    expect(mergeJournal('{"receipt":1}', [])).toEqual({ outputs: [], receipt: 1 });
  });
});

describe.each(DIALECTS)('migration 029 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  it('splits every job not pruned onto its last event; pruned jobs and jobs without events read as before', async () => {
    fresh = await freshDatabase(dialect);
    const db = await migratedUpTo(fresh.config, '029_gateway_job_event_bulk');
    const inFlight: Journal = { outputs, inputYs: ['02ee'], memo: 'rent', inputFee: 2 };
    const finished: Journal = { outputs, wideProofs: proofs, delivery: envelope };
    const pruned = { outputs: [], memo: 'old' };
    const row = (id: string, journal: unknown, over: Partial<repo.JobRow> = {}): Record<string, unknown> => ({
      ...jobRow(id, { journal: JSON.stringify(journal), ...over }),
    });
    await db
      .insertInto('gateway_jobs')
      .values([
        row('flight', inFlight),
        row('finished', finished, { state: 'done', active: 0 }),
        row('pruned', pruned, { state: 'done', active: 0, pruned_at: 5 }),
        row('eventless', inFlight),
      ])
      .execute();
    const event = (job_id: string, seq: number) => ({
      job_id,
      seq,
      from_state: 'received',
      to_state: 'issuing',
      at: 0,
      detail: '',
    });
    await db
      .insertInto('gateway_job_events')
      .values([event('flight', 1), event('finished', 1), event('finished', 2), event('finished', 3)])
      .execute();
    // Enough more to cross a batch's edge (500), sorting before and after the three.
    const many = Array.from({ length: 620 }, (_, i) =>
      row(`${i < 310 ? 'a' : 'z'}${String(i).padStart(4, '0')}`, { outputs: [i], memo: `${i}` }),
    );
    for (let i = 0; i < many.length; i += 100) {
      await db
        .insertInto('gateway_jobs')
        .values(many.slice(i, i + 100))
        .execute();
      await db
        .insertInto('gateway_job_events')
        .values(many.slice(i, i + 100).map((r) => event(String(r.id), 1)))
        .execute();
    }
    await db.destroy();

    store = await openStore(fresh.config);
    const s = store;
    const journalOf = async (id: string) => (await jobOf(s.db, id))?.journal;
    expect(await journalOf('flight')).toEqual(inFlight);
    expect(await journalOf('finished')).toEqual(finished);
    expect(await journalOf('pruned')).toEqual(pruned);
    expect((await repo.getJob(s.db, 'flight'))?.journal).toBe('{"memo":"rent","inputFee":2}');
    expect((await repo.getJob(s.db, 'finished'))?.journal).toBe('{}');
    expect((await repo.getJob(s.db, 'pruned'))?.journal).toBe(JSON.stringify(pruned));
    expect(await repo.bulkOf(s.db, 'pruned')).toEqual([]);
    expect(await journalOf('eventless')).toEqual(inFlight);
    // The bulk rides on the last event of each job split.
    const carried = await s.db
      .selectFrom('gateway_job_events')
      .select(['job_id', 'seq'])
      .where('bulk', 'is not', null)
      .execute();
    expect(carried).toHaveLength(2 + many.length);
    expect(Number(carried.find((e) => e.job_id === 'finished')?.seq)).toBe(3);
    expect(await journalOf('z0619')).toEqual({ outputs: [619], memo: '619' });

    // The migrated job's next move adds its part on its own event, after the old bulk.
    const moved = await s.transaction((trx) =>
      repo.moveWithEvent(trx, {
        id: 'flight',
        kind: 'transfer',
        createdAt: 0,
        from: 'issuing',
        to: 'delivering',
        lease: undefined,
        release: false,
        bulk: JSON.stringify({ wideProofs: proofs }),
        now: 1,
        detail: '',
      }),
    );
    expect(moved).toBe(true);
    expect(await journalOf('flight')).toEqual({ ...inFlight, wideProofs: proofs });
  });
});
