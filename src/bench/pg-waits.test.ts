/**
 * `pg-waits.ts`: the figures of a span from the samples in it, and, on the test PostgreSQL server, a
 * sampler that sees a backend waiting for a row lock another session holds, and no longer once it
 * is let go.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { traceClock } from '../core/step-trace.js';
import { DIALECTS, freshDatabaseUrl, postgresUrl } from '../test-support/dialects.js';
import { recordWaits, waitFigures } from './pg-waits.js';

describe('waitFigures', () => {
  it('gives the mean processes per kind of work over the samples, and the worst lateness and answer', () => {
    const f = waitFigures([
      { lateMs: 0.5, rttMs: 1, busy: ['active CPU update', 'active IO:WALSync COMMIT'] },
      { lateMs: 7, rttMs: 2, busy: ['active IO:WALSync COMMIT', 'active IO:WALSync COMMIT'] },
      { lateMs: 1, rttMs: 30, busy: [] },
      { lateMs: 0, rttMs: 1, busy: ['autovacuum worker CPU'] },
    ]);
    expect(f).toEqual({
      samples: 4,
      busy: { 'active IO:WALSync COMMIT': 0.75, 'active CPU update': 0.25, 'autovacuum worker CPU': 0.25 },
      maxLateMs: 7,
      maxRttMs: 30,
    });
    expect(waitFigures([])).toEqual({ samples: 0, busy: {}, maxLateMs: 0, maxRttMs: 0 });
  });
});

describe.runIf(DIALECTS.includes('postgres'))('recordWaits on PostgreSQL', () => {
  it('sees a backend waiting for a row lock while it waits, and not after', async () => {
    const url = await freshDatabaseUrl('postgres');
    const database = new URL(url).pathname.slice(1);
    const [holder, waiter] = [
      new pg.Client({ connectionString: url }),
      new pg.Client({ connectionString: url }),
    ];
    await Promise.all([holder.connect(), waiter.connect()]);
    try {
      await holder.query('create table t (id int primary key, n int); insert into t values (1, 0)');
      const recorder = await recordWaits(postgresUrl()!, database, 5);
      await holder.query('begin');
      await holder.query('update t set n = n + 1 where id = 1');
      const from = traceClock();
      const waiting = waiter.query('update t set n = n + 1 where id = 1');
      // Until the sampler has seen the wait a few times (each look is its own sample).
      await new Promise((resolve) => setTimeout(resolve, 200));
      const to = traceClock();
      await holder.query('commit');
      await waiting;
      await new Promise((resolve) => setTimeout(resolve, 100));
      const between = await recorder.stop();
      const during = between(from, to);
      const label = 'active Lock:transactionid update t set';
      expect(during.samples).toBeGreaterThan(3);
      expect(during.busy[label]).toBeGreaterThan(0.5);
      // The holder sat idle in its transaction, waiting for its client.
      expect(Object.keys(during.busy)).toContain('idle in transaction Client:ClientRead update t set');
      const after = between(traceClock() - 60, traceClock());
      expect(after.busy[label]).toBeUndefined();
    } finally {
      await Promise.all([holder.end(), waiter.end()]);
    }
  });
});
