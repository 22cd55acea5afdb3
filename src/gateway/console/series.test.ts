/**
 * The reserve series on every dialect (docs/gateway.md, "Operator API"): the thinning policy keeps
 * every point of the last day, the last of each minute up to 30 days, the last of each hour up to 400
 * days, and nothing older; a long range is answered in at most `MAX_SERIES_POINTS` points ending with
 * the newest; many finished jobs at once cost one sample; a bank that does not answer gives a point
 * with `reserve: null`, not a gap.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnclearOutcome } from '../../core/http/client.js';
import type { BalanceAnswer } from '../../core/protocol/bank.js';
import type { ReservePoint } from '../../core/protocol/operator.js';
import { Mint } from '../../mint/mint.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import * as repo from './repository.js';
import { ConsoleService, MAX_SERIES_POINTS } from './service.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe.each(DIALECTS)('reserve series on %s', (dialect) => {
  let store: TestStore;
  let service: ConsoleService;
  let balances: number;
  let answering: boolean;
  const points: ReservePoint[] = [];
  const now = Date.UTC(2026, 11, 5, 12, 0, 0);

  beforeEach(async () => {
    store = await freshStore(dialect);
    balances = 0;
    answering = true;
    points.length = 0;
    service = new ConsoleService({
      store,
      unit: 'eur',
      mint: await Mint.open({ store, unit: 'eur' }),
      bank: {
        balance: async (): Promise<BalanceAnswer> => {
          balances++;
          if (!answering) throw new UnclearOutcome('network', 'test', 'bank down');
          return { account: 'acct_test', balance: 42, last: 0, at: now };
        },
        requests: async () => ({ requests: [], last: 0 }),
      },
      onPoint: (p) => points.push(p),
      everyMs: 3_600_000,
      clock: () => now,
    });
  });
  afterEach(async () => {
    await service.stop();
    await store.close();
  });

  const insert = async (from: number, to: number, stepMs: number) => {
    for (let at = from; at < to; at += stepMs)
      await repo.insertPoint(store.db, { at, reserve: 1, outstanding: 1 });
  };
  const all = async () => (await repo.pointsSince(store.db, 0)).map((p) => p.at);

  it('thins by age: every point of the last day, one a minute to 30 days, one an hour to 400 days', async () => {
    await insert(now - HOUR, now, 20_000); // last hour: 180 points, all kept
    await insert(now - 2 * DAY, now - 2 * DAY + 10 * MINUTE, 10_000); // 60 points in 10 minutes
    await insert(now - 40 * DAY, now - 40 * DAY + 3 * HOUR, 15 * MINUTE); // 12 points in 3 hours
    await insert(now - 500 * DAY, now - 500 * DAY + HOUR, MINUTE); // too old
    await service.thin(now);
    const kept = await all();
    expect(kept.filter((at) => at >= now - DAY)).toHaveLength(180);
    const days2 = kept.filter((at) => at >= now - 3 * DAY && at < now - DAY);
    // The last point of each minute (at :50 s) is the one kept.
    expect(days2).toHaveLength(10);
    for (const at of days2) expect(at % MINUTE).toBe(50_000);
    const days40 = kept.filter((at) => at >= now - 41 * DAY && at < now - 39 * DAY);
    expect(days40).toHaveLength(3);
    for (const at of days40) expect(at % HOUR).toBe(45 * MINUTE);
    expect(kept.filter((at) => at < now - 400 * DAY)).toEqual([]);
    // Thinning again changes nothing.
    await service.thin(now);
    expect(await all()).toEqual(kept);
  });

  it('a long range is answered in at most MAX_SERIES_POINTS points, ending with the newest', async () => {
    await insert(now - 3000 * 1000, now + 1, 1000);
    const { points: answer } = await service.series(0);
    expect(answer.length).toBeLessThanOrEqual(MAX_SERIES_POINTS);
    expect(answer.length).toBeGreaterThan(MAX_SERIES_POINTS / 2);
    expect(answer[answer.length - 1]!.at).toBe(now);
    const short = await service.series(now - 100_000);
    expect(short.points).toHaveLength(101);
  });

  it('many finished jobs at once cost one sample; a bank that does not answer gives reserve null', async () => {
    service.start();
    await service.sample(); // the start's sample, queued before this one
    const first = balances;
    for (let i = 0; i < 50; i++) service.jobFinished();
    for (;;) {
      if (balances > first) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await service.stop();
    expect(balances).toBe(first + 1);
    expect(points.at(-1)).toEqual({ at: now, reserve: 42, outstanding: 0 });

    answering = false;
    service.start();
    await service.sample();
    expect(points.at(-1)).toEqual({ at: now, reserve: null, outstanding: 0 });
    expect(await repo.pointsSince(store.db, now)).toEqual([{ at: now, reserve: null, outstanding: 0 }]);
  });
});
