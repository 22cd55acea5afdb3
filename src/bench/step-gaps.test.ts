/** The step trace of `bench gateway --trace-steps`: marks become gaps in time order, and nothing is kept when off. */
import { describe, expect, it } from 'vitest';
import { traceStart, traceStep } from '../core/step-trace.js';
import { recordSteps } from './step-gaps.js';

describe('step gaps', () => {
  it('answers the gaps between a conversion’s marks in time order, and each mark’s time from the post', () => {
    const steps = recordSteps();
    // Marked out of order (two paths overlap): the gaps follow the times.
    traceStep('a', 'intake', 1002);
    traceStep('a', 'local', 1010);
    traceStep('a', 'bank', 1007);
    traceStep('b', 'intake', 2004);
    const trace = steps.stop([
      { id: 'a', direction: 'wan-to-lan', postedAt: 1000, drainedAt: 1012 },
      { id: 'b', direction: 'wan-to-lan', postedAt: 2000, drainedAt: 2010 },
    ]);
    const gaps = trace.gapsMs['wan-to-lan'];
    expect(Object.keys(gaps)).toEqual([
      'posted → intake',
      'intake → bank',
      'intake → arrived',
      'bank → local',
      'local → arrived',
      'total',
    ]);
    expect(gaps['posted → intake']).toEqual({ p50: 2, p99: 4, n: 2 });
    expect(gaps['bank → local']).toEqual({ p50: 3, p99: 3, n: 1 });
    expect(gaps.total).toEqual({ p50: 10, p99: 12, n: 2 });
    expect(trace.atMs['wan-to-lan'].local).toEqual({ p50: 10, p99: 10, n: 1 });
    expect(trace.gapsMs['lan-to-wan']).toEqual({});
    // The slowest first, each placed in time from the first post, with its largest gaps.
    expect(trace.originMs).toBe(1000);
    expect(trace.slowest['wan-to-lan']).toEqual([
      {
        postedAtS: 0,
        totalMs: 12,
        gapsMs: { 'bank → local': 3, 'intake → bank': 5, 'posted → intake': 2, 'local → arrived': 2 },
      },
      { postedAtS: 1, totalMs: 10, gapsMs: { 'intake → arrived': 6, 'posted → intake': 4 } },
    ]);
    expect(trace.slowest['lan-to-wan']).toEqual([]);
  });

  it('lists the slowest 1 % of a direction, at least five', () => {
    const steps = recordSteps();
    const finished = Array.from({ length: 700 }, (_, i) => ({
      id: `c${i}`,
      direction: 'lan-to-wan' as const,
      postedAt: 1000 + i,
      drainedAt: 1000 + i + 10 + i,
    }));
    const trace = steps.stop(finished);
    expect(trace.slowest['lan-to-wan'].map((s) => s.totalMs)).toEqual([709, 708, 707, 706, 705, 704, 703]);
    expect(trace.slowest['lan-to-wan'][0]!.postedAtS).toBe(0.699);
  });

  it('ranks the conversions it is given to rank (the open loop’s: posted inside the window), not those it times', () => {
    const steps = recordSteps();
    traceStep('late', 'intake', 1001);
    const inside = { id: 'in', direction: 'lan-to-wan' as const, postedAt: 1000, drainedAt: 1010 };
    // Posted inside the window and drained after it: not among those drained inside, the slowest all the same.
    const late = { id: 'late', direction: 'lan-to-wan' as const, postedAt: 1000, drainedAt: 1500 };
    const trace = steps.stop([inside], [inside, late]);
    expect(trace.gapsMs['lan-to-wan'].total).toEqual({ p50: 10, p99: 10, n: 1 });
    expect(trace.slowest['lan-to-wan'].map((s) => s.totalMs)).toEqual([500, 10]);
    expect(trace.slowest['lan-to-wan'][0]!.gapsMs).toEqual({ 'intake → arrived': 499, 'posted → intake': 1 });
  });

  it('records nothing once stopped', () => {
    recordSteps().stop([]);
    expect(traceStart()).toBe(0);
    traceStep('c', 'intake', 5);
    const trace = recordSteps().stop([{ id: 'c', direction: 'lan-to-wan', postedAt: 0, drainedAt: 10 }]);
    expect(Object.keys(trace.gapsMs['lan-to-wan'])).toEqual(['posted → arrived', 'total']);
  });
});
