/**
 * Migration 031 on a journal written before it, on every dialect: the runner's index holds the active
 * jobs only and its reads answer as before; the unique (kind, ref) index leaves out the conversions
 * (no ref) and still refuses a second live operator job of one ref, as migration 006's did.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../../test-support/dialects.js';
import { jobRow } from '../../test-support/jobs.js';
import { migratedUpTo } from '../../test-support/older-database.js';
import { insertOperatorJob } from '../payroll/repository.js';
import * as repo from './repository.js';

describe.each(DIALECTS)('migration 031 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  it('rebuilds the two indexes partial; the runner and the live ref read as before', async () => {
    fresh = await freshDatabase(dialect);
    const db = await migratedUpTo(fresh.config, '031_gateway_job_partial_indexes');
    // Every row lists every column (a multi-row insert writes NULL, not the default, into a missing one).
    const transfer = (id: string) => ({ ...jobRow(id), kind: 'transfer', ref: null });
    await db
      .insertInto('gateway_jobs')
      .values([
        { ...transfer('due'), next_attempt_at: 10 },
        { ...transfer('later'), state: 'delivering', next_attempt_at: 30 },
        { ...transfer('finished'), state: 'done', active: 0, next_attempt_at: 5 },
        { ...jobRow('pay-1'), kind: 'payroll', ref: 'r1', state: 'delivering', next_attempt_at: 20 },
        { ...jobRow('pay-0'), kind: 'payroll', ref: 'r1', state: 'refused', active: 0 },
      ])
      .execute();
    await db.destroy();

    store = await openStore(fresh.config);
    const s = store;
    // The definitions as migrated (each dialect prints them its own way).
    const definition = async (name: string) =>
      dialect === 'sqlite'
        ? (await sql<{ d: string }>`select sql as d from sqlite_master where name = ${name}`.execute(s.db))
            .rows[0]?.d
        : (
            await sql<{ d: string }>`select indexdef as d from pg_indexes where indexname = ${name}`.execute(
              s.db,
            )
          ).rows[0]?.d;
    expect((await definition('gateway_jobs_due_idx'))?.replace(/[()"\s]/g, '')).toMatch(
      /next_attempt_at.*WHEREactive=1$/i,
    );
    expect((await definition('gateway_jobs_kind_ref_idx'))?.replace(/[()"\s]/g, '')).toMatch(
      /refISNOTNULL$/i,
    );
    // The runner's reads: active jobs only, oldest due first.
    expect(await repo.dueJobs(s.db, 100, 10)).toEqual(['due', 'pay-1', 'later']);
    expect(await repo.nextDueAt(s.db)).toBe(10);
    expect((await repo.dueInLane(s.db, 'money', 100, 10)).map((r) => r.id)).toEqual(['due']);
    expect((await repo.dueInLane(s.db, 'delivery', 100, 10)).map((r) => r.id)).toEqual(['pay-1', 'later']);
    expect(await repo.resumeAll(s.db, 0)).toBe(3);
    expect(await repo.nextDueAt(s.db)).toBe(0);

    // A second live payroll of ref r1 is refused (nothing written); a refused one and conversions are not.
    const payroll = (id: string, state: repo.JobRow['state'] = 'delivering') => ({
      ...jobRow(id),
      kind: 'payroll' as const,
      ref: 'r1',
      state,
      parked_at: null,
      lease_owner: null,
      lease_until: null,
      pruned_at: null,
    });
    expect(await s.transaction((trx) => insertOperatorJob(trx, payroll('pay-2')))).toBe(false);
    expect(await repo.getJob(s.db, 'pay-2')).toBeUndefined();
    expect(await s.transaction((trx) => insertOperatorJob(trx, payroll('pay-3', 'refused')))).toBe(true);
    await s.db
      .insertInto('gateway_jobs')
      .values([jobRow('t1'), jobRow('t2')])
      .execute();
    const indexed = await s.db
      .selectFrom('gateway_jobs')
      .select('id')
      .where('ref', 'is not', null)
      .where('state', '<>', 'refused')
      .execute();
    expect(indexed.map((r) => r.id)).toEqual(['pay-1']);

    if (dialect === 'postgres') {
      // An event's bulk up to a page stays in line: no TOAST chunks for a step's notes and payment.
      const options = await sql<{ o: string[] | null }>`select reloptions as o from pg_class
        where relname = 'gateway_job_events'`.execute(s.db);
      expect(options.rows[0]?.o).toContain('toast_tuple_target=8160');
      const bulk = JSON.stringify({ delivery: 'ab'.repeat(2500) });
      await s.transaction((trx) =>
        repo.moveWithEvent(trx, {
          id: 't1',
          kind: 'transfer',
          createdAt: 0,
          from: 'issuing',
          to: 'delivering',
          lease: undefined,
          release: false,
          bulk,
          now: 1,
          detail: '',
        }),
      );
      expect(await repo.bulkOf(s.db, 't1')).toEqual([bulk]);
      const toast = await sql<{ t: string }>`select reltoastrelid::regclass::text as t from pg_class
        where relname = 'gateway_job_events'`.execute(s.db);
      const toasted = await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.raw(toast.rows[0]!.t)}`.execute(s.db);
      expect(toasted.rows[0]?.n).toBe(0);
    }
  });
});
