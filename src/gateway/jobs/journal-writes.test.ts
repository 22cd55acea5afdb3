/**
 * Migration 035 on a journal written before it, on every dialect: the index of unfinished jobs is
 * gone and the console's summary reads the same counts and value in flight through the runner's and
 * the parked jobs' partial indexes (both planners can use them: their predicates are written
 * literally); PostgreSQL's events no longer carry a foreign key to their job (its trigger locked the
 * job's row anew for every event: a WAL record and a query each), SQLite's keep theirs; the events
 * written before read as they did, and running the migration again changes nothing. What the key
 * guaranteed, no event without its job, is the writes' shape now: an intake whose id is taken and a
 * move that finds no job in its `from` state (or no job at all) write no event.
 */
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.js';
import { up } from '../../store/migrations/035_gateway_journal_writes.js';
import type { Database } from '../../store/schema.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../../test-support/dialects.js';
import { jobRow } from '../../test-support/jobs.js';
import { migratedUpTo } from '../../test-support/older-database.js';
import { jobCounts, unfinishedJobs, valueInFlight } from '../console/repository.js';
import * as repo from './repository.js';

describe.each(DIALECTS)('migration 035 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  /** The tables `gateway_job_events` references through a foreign key, as the catalogue lists them. */
  async function referenced(db: Kysely<Database>): Promise<string[]> {
    const { rows } =
      dialect === 'sqlite'
        ? await sql<{
            t: string;
          }>`select "table" as t from pragma_foreign_key_list('gateway_job_events')`.execute(db)
        : await sql<{ t: string }>`select confrelid::regclass::text as t from pg_constraint
            where contype = 'f' and conrelid = 'gateway_job_events'::regclass`.execute(db);
    return rows.map((r) => r.t);
  }

  /** Whether an index of that name exists. */
  async function hasIndex(db: Kysely<Database>, name: string): Promise<boolean> {
    const { rows } =
      dialect === 'sqlite'
        ? await sql`select 1 from sqlite_master where type = 'index' and name = ${name}`.execute(db)
        : await sql`select 1 from pg_indexes where indexname = ${name}`.execute(db);
    return rows.length === 1;
  }

  /** The plan of the console's two reads, flattened to one string (PostgreSQL with sequential scans off). */
  async function plans(s: Store): Promise<string> {
    // The console's own read, as compiled: its predicates are literals (no parameter to bind).
    const compiled = unfinishedJobs(s.db).compile();
    expect(compiled.parameters).toEqual([]);
    const unfinishedSql = sql.raw(compiled.sql);
    const reads = [
      sql`select kind, state, count(*) from (${unfinishedSql}) u group by kind, state`,
      sql`select sum(amount) from (${unfinishedSql}) u`,
    ];
    if (dialect === 'sqlite') {
      const out = [];
      for (const q of reads)
        out.push(...(await sql<{ detail: string }>`explain query plan ${q}`.execute(s.db)).rows);
      return out.map((r) => r.detail).join('\n');
    }
    return s.transaction(async (trx) => {
      // Only a usable index can replace the scan: a predicate the planner cannot prove leaves it a scan.
      await sql`set local enable_seqscan = off`.execute(trx);
      const out = [];
      for (const q of reads)
        out.push(...(await sql<{ 'QUERY PLAN': string }>`explain ${q}`.execute(trx)).rows);
      return out.map((r) => r['QUERY PLAN']).join('\n');
    });
  }
  it('drops the unfinished index (and the events’ key on PostgreSQL); the summary reads the same', async () => {
    fresh = await freshDatabase(dialect);
    const old = await migratedUpTo(fresh.config, '035_gateway_journal_writes');
    const job = (id: string, o: Partial<repo.JobRow>) => ({
      ...jobRow(id),
      kind: 'transfer',
      ref: null,
      parked_at: null,
      request_hash: id,
      ...o,
    });
    await old
      .insertInto('gateway_jobs')
      .values([
        job('issuing', { amount: 3, created_at: 5 }),
        job('receiving', { state: 'receiving', direction: 'wan-to-lan', amount: 4, created_at: 6 }),
        job('delivering', { state: 'delivering', amount: 5, created_at: 4 }),
        job('parked', { state: 'delivering', active: 0, parked_at: 9, amount: 7, created_at: 2 }),
        job('done', { state: 'done', active: 0, amount: 100, created_at: 1 }),
        job('notice', { state: 'refused', active: 1, notice: 'pending', amount: 200, created_at: 1 }),
        job('parked-notice', { state: 'refused', active: 0, notice: 'pending', parked_at: 8, amount: 300 }),
      ])
      .execute();
    await old
      .insertInto('gateway_job_events')
      .values([
        {
          job_id: 'done',
          seq: 1,
          from_state: 'received',
          to_state: 'issuing',
          at: 1,
          detail: 'in',
          bulk: '{"a":1}',
        },
        { job_id: 'done', seq: 2, from_state: 'issuing', to_state: 'done', at: 2, detail: 'x', bulk: null },
      ])
      .execute();
    expect(await hasIndex(old as unknown as Kysely<Database>, 'gateway_jobs_unfinished_idx')).toBe(true);
    expect(await referenced(old as unknown as Kysely<Database>)).toEqual(['gateway_jobs']);
    await old.destroy();

    store = await openStore(fresh.config);
    const s = store;
    expect(await hasIndex(s.db, 'gateway_jobs_unfinished_idx')).toBe(false);
    expect(await referenced(s.db)).toEqual(dialect === 'postgres' ? [] : ['gateway_jobs']);
    // The jobs not finished, parked ones included; finished ones come from the running totals only
    // (none here: these rows were written around them).
    expect(await jobCounts(s.db)).toEqual([
      { kind: 'transfer', state: 'delivering', count: 2, oldestAt: 2 },
      { kind: 'transfer', state: 'issuing', count: 1, oldestAt: 5 },
      { kind: 'transfer', state: 'receiving', count: 1, oldestAt: 6 },
    ]);
    expect(await valueInFlight(s.db)).toBe(3 + 4 + 5 + 7);
    const plan = await plans(s);
    expect(plan).toContain('gateway_jobs_due_idx');
    expect(plan).toContain('gateway_jobs_parked_idx');
    expect(plan).not.toMatch(/SCAN gateway_jobs\b(?! USING)|Seq Scan/);
    // The events written before read as they did.
    expect(await repo.bulkOf(s.db, 'done')).toEqual(['{"a":1}']);
    expect((await repo.eventsOf(s.db, ['done'])).map((e) => `${Number(e.seq)} ${e.detail}`)).toEqual([
      '1 in',
      '2 x',
    ]);
    // Again: nothing left to drop, nothing else changes.
    await up(s.db as unknown as Kysely<unknown>);
    expect(await referenced(s.db)).toEqual(dialect === 'postgres' ? [] : ['gateway_jobs']);
    expect(await valueInFlight(s.db)).toBe(19);
  });

  it('writes no event without its job: a taken intake, a lost move and a move of no job write none', async () => {
    fresh = await freshDatabase(dialect);
    store = await openStore(fresh.config);
    const s = store;
    const {
      kind: _k,
      ref: _r,
      parked_at: _p,
      lease_owner: _o,
      lease_until: _u,
      pruned_at: _x,
      ...row
    } = jobRow('j', { created_at: 7, updated_at: 7, next_attempt_at: 7 });
    expect(await s.transaction((trx) => repo.insertIntake(trx, row, 'in', undefined, '{"b":1}'))).toBe(true);
    expect(await s.transaction((trx) => repo.insertIntake(trx, row, 'again', undefined, '{"b":2}'))).toBe(
      false,
    );
    const move = (id: string, from: repo.JobRow['state']) =>
      s.transaction((trx) =>
        repo.moveWithEvent(trx, {
          id,
          kind: 'transfer',
          createdAt: 7,
          from,
          to: 'delivering',
          lease: undefined,
          release: false,
          now: 9,
          detail: 'moved',
          bulk: '{"delivery":1}',
        }),
      );
    expect(await move('j', 'receiving')).toBe(false);
    expect(await move('nobody', 'issuing')).toBe(false);
    const all = await s.db
      .selectFrom('gateway_job_events')
      .select(['job_id', 'seq', 'detail', 'bulk'])
      .execute();
    expect(all.map((e) => [e.job_id, Number(e.seq), e.detail, e.bulk])).toEqual([['j', 1, 'in', '{"b":1}']]);
  });
});
