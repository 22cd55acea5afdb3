/**
 * `bench --pg-stats`: the figures per unit of work from pg_stat_statements' totals, and, on a
 * throwaway PostgreSQL that loads the extension, a window that counts the bench database's own
 * statements only (not those before the reset, not the admin connection's).
 */
import { describe, expect, it } from 'vitest';
import { newestPostgresBin } from '../store/postgres/throwaway.js';
import { DIALECTS } from '../test-support/dialects.js';
import { StatsWindow, statementFigures } from './pg-stats.js';
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
    } finally {
      await bench.close();
    }
  }, 60_000);
});
