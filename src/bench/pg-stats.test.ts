/**
 * `bench --pg-stats`: the figures per unit of work from pg_stat_statements' totals, and, on a
 * throwaway PostgreSQL that loads the extension, a window that counts the bench database's own
 * statements only (not those before the reset, not the admin connection's).
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { newestPostgresBin } from '../store/postgres/throwaway.js';
import { DIALECTS } from '../test-support/dialects.js';
import { type ServerSample, StatsWindow, serverFigures, statementFigures } from './pg-stats.js';
import { openBenchStore } from './stores.js';

describe('pg-stats figures', () => {
  it('divides the totals by the units of work and ranks the statements by calls and by time', () => {
    const f = statementFigures(
      [
        {
          query: 'insert into t\n   values ($1)',
          calls: 40,
          plans: 10,
          execMs: 8,
          planMs: 2,
          walBytes: 4000,
          walRecords: 80,
        },
        { query: 'select 1', calls: 10, plans: 10, execMs: 30, planMs: 0, walBytes: 0, walRecords: 0 },
        {
          query: `update u set x = $1 where ${'y'.repeat(200)}`,
          calls: 0,
          plans: 0,
          execMs: 0,
          planMs: 0,
          walBytes: 0,
          walRecords: 0,
        },
      ],
      20,
      'conversion',
    );
    expect(f).toMatchObject({
      per: 'conversion',
      units: 20,
      statements: 2.5,
      execUs: 1900,
      planUs: 100,
      walBytes: 200,
    });
    expect(f.topByCalls[0]).toEqual({
      callsPer: 2,
      usPerCall: 200,
      planUsPerCall: 50,
      plansPerCall: 0.25,
      walBytesPerCall: 100,
      walRecordsPerCall: 2,
      query: 'insert into t values ($1)',
    });
    expect(f.topByTime.map((s) => s.query)).toEqual([
      'select 1',
      'insert into t values ($1)',
      expect.any(String),
    ]);
    expect(f.topByTime[2]!.query).toHaveLength(120);
  });

  it('splits the server’s CPU by process, counting an ended process’s time inside the window only', () => {
    const at = (
      processes: [number, string, number][],
      o: {
        postmaster: number;
        reaped: number;
        commits: number;
        deadlocks: number;
        records: number;
        updates: number;
        hot: number;
      },
    ): ServerSample => ({
      processes: new Map(processes.map(([pid, kind, ms]) => [pid, { kind, ms }])),
      postmasterMs: o.postmaster,
      reapedMs: o.reaped,
      commits: o.commits,
      rollbacks: 0,
      deadlocks: o.deadlocks,
      wal: { records: o.records, fpi: 0, bytes: o.records * 100, writes: 0, syncs: o.commits },
      tables: new Map([
        ['jobs', { vacuums: 0, analyzes: 1, updates: o.updates, hotUpdates: o.hot }],
        ['still', { vacuums: 0, analyzes: 0, updates: 5, hotUpdates: 5 }],
      ]),
    });
    // Backend 10 runs on, 11 ends (having spent 30 ms before the window, 50 in all: 20 inside), 12
    // starts; an autovacuum worker starts and ends inside (15 ms): the postmaster reaped 50 + 15.
    const a = at(
      [
        [10, 'client backend', 100],
        [11, 'client backend', 30],
        [20, 'walwriter', 5],
      ],
      { postmaster: 40, reaped: 200, commits: 10, deadlocks: 4, records: 100, updates: 3, hot: 1 },
    );
    const b = at(
      [
        [10, 'client backend', 180],
        [12, 'client backend', 40],
        [20, 'walwriter', 9],
      ],
      { postmaster: 41, reaped: 265, commits: 30, deadlocks: 6, records: 300, updates: 13, hot: 2 },
    );
    expect(serverFigures(a, b, 10)).toEqual({
      cpuUs: 16_000,
      cpuUsByProcess: { 'client backend': 12_000, 'ended meanwhile': 3500, walwriter: 400, postmaster: 100 },
      commits: 2,
      rollbacks: 0,
      // The window's, not per unit: each is a second's stall.
      deadlocks: 2,
      walRecords: 20,
      walFpi: 0,
      walBytes: 2000,
      walWrites: 0,
      walSyncs: 2,
      tables: { jobs: { vacuums: 0, analyzes: 0, updates: 10, hotUpdates: 1 } },
    });
  });

  it('counts the WAL segment files that appeared in the window, when the server lists them', () => {
    const at = (walFiles?: string[]): ServerSample => ({
      processes: new Map(),
      postmasterMs: 0,
      reapedMs: 0,
      commits: 0,
      rollbacks: 0,
      deadlocks: 0,
      wal: { records: 0, fpi: 0, bytes: 0, writes: 0, syncs: 0 },
      ...(walFiles ? { walFiles: new Set(walFiles) } : {}),
      tables: new Map(),
    });
    const seg = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;
    // Segment 1 recycled away, 2 and 3 there before, 4 and 5 created: over the window, not per unit.
    expect(
      serverFigures(at([seg(1), seg(2), seg(3)]), at([seg(2), seg(3), seg(4), seg(5)]), 10),
    ).toMatchObject({ walSegmentsCreated: 2 });
    expect(serverFigures(at([seg(2)]), at(), 10)).not.toHaveProperty('walSegmentsCreated');
  });

  it('answers a failed reset as an error rather than failing the bench', async () => {
    const w = new StatsWindow([
      { reset: () => Promise.reject(new Error('no extension')), read: async () => [] },
    ]);
    w.close();
    expect(await w.figures(1, 'swap')).toEqual({ error: 'no extension' });
  });
});

const postgres = DIALECTS.includes('postgres') && newestPostgresBin() !== undefined;

describe.runIf(postgres)('pg-stats on a throwaway PostgreSQL', () => {
  it('counts the bench database’s statements between the reset and the read', async () => {
    // A throwaway server of its own (serverUrl ''): the tests' shared one does not load the extension.
    const bench = await openBenchStore('postgres', { pgStats: true, serverUrl: '' });
    try {
      const probe = bench.statements!;
      const settings = () => bench.store.db.selectFrom('settings').selectAll().execute();
      await settings(); // before the window: not counted
      const w = new StatsWindow([probe]);
      await w.opened();
      for (let i = 0; i < 3; i++) {
        await bench.store.db
          .insertInto('settings')
          .values({ key: `pg-stats-${i}`, value: 'x' })
          .execute();
      }
      await settings();
      w.close();
      const figures = await w.figures(3, 'conversion');
      if (!Array.isArray(figures)) throw new Error(figures.error);
      const [f] = figures;
      expect(f).toMatchObject({ per: 'conversion', units: 3 });
      // Three inserts and one select over three units; nothing of the admin connection's.
      expect(f!.statements).toBeCloseTo(4 / 3, 2);
      expect(f!.walBytes).toBeGreaterThan(0);
      expect(f!.execUs).toBeGreaterThan(0);
      const insert = f!.topByCalls.find((s) => s.query.startsWith('insert into "settings"'));
      expect(insert).toMatchObject({ callsPer: 1 });
      expect(insert!.walBytesPerCall).toBeGreaterThan(0);
      // The row and its primary key's entry at least.
      expect(insert!.walRecordsPerCall).toBeGreaterThanOrEqual(2);
      expect(f!.topByCalls.find((s) => s.query.startsWith('select'))).toMatchObject({ callsPer: 0.333 });
      expect(f!.topByCalls.some((s) => s.query.includes('pg_stat_statements'))).toBe(false);
      // The server as a whole (its counters of commits and WAL reach the shared statistics up to a
      // second late, so only their presence is checked here), and the probe's own reads are not
      // among the statements.
      const server = f!.server;
      if (server === undefined || 'error' in server) throw new Error(`no server figures: ${server?.error}`);
      expect(server).toMatchObject({ cpuUs: expect.any(Number), commits: expect.any(Number) });
      expect(server.walRecords).toBeGreaterThanOrEqual(0);
      expect(f!.topByCalls.some((s) => s.query.includes('pg_stat_user_tables'))).toBe(false);
    } finally {
      await bench.close();
    }
  }, 60_000);

  it('counts the deadlocks the server broke in the bench database', async () => {
    const bench = await openBenchStore('postgres', { pgStats: true, serverUrl: '' });
    const db = bench.store.db;
    try {
      const sample = bench.statements!.sample!;
      const before = (await sample()).deadlocks;
      await sql`create table crossed (id int primary key)`.execute(db);
      await sql`insert into crossed values (1), (2)`.execute(db);
      // Two transactions (Kysely's own: no retry) each hold one row, then ask for the other's.
      const held = [latch(), latch()];
      const crossing = (mine: 1 | 2, theirs: 1 | 2) =>
        db.transaction().execute(async (trx) => {
          await sql`update crossed set id = id where id = ${mine}`.execute(trx);
          held[mine - 1]!.open();
          await held[theirs - 1]!.opened;
          await sql`update crossed set id = id where id = ${theirs}`.execute(trx);
        });
      const outcomes = await Promise.allSettled([crossing(1, 2), crossing(2, 1)]);
      expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
      // Backends report it to the shared statistics up to a second later (PGSTAT_MIN_INTERVAL): polled.
      let after = before;
      for (let i = 0; i < 100 && after === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = (await sample()).deadlocks;
      }
      expect(after - before).toBe(1);
    } finally {
      await bench.close();
    }
  }, 60_000);
});

function latch(): { open: () => void; opened: Promise<void> } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}
