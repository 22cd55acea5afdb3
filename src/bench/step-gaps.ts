/**
 * `bench gateway --trace-steps`: the servers' step marks of each conversion (`core/step-trace.ts`),
 * from the terminal's post to its payment's arrival at the terminal, turned into the gaps between
 * consecutive marks in time order, with each gap's median and p99 per direction (the gateway, the wide
 * bank and both mailboxes mark in the bench process, the driver's post and arrival times come from its
 * own; all on the machine's clock); a gap's name is its two marks.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Direction } from '../core/protocol/gateway.js';
import { setStepSink } from '../core/step-trace.js';
import { quantile } from './arrivals.js';

/** One gap between two marks over the conversions that had both, ms. */
export interface GapFigures {
  p50: number;
  p99: number;
  /** Conversions with this gap (a retry or a lost race may add or skip marks). */
  n: number;
}

export interface StepTrace {
  /** Per direction: each gap, in the order they occur, and `total` (post → arrival). */
  gapsMs: Record<Direction, Record<string, GapFigures>>;
  /**
   * Per direction: each mark's time from the post. Where steps overlap (job 2 signs its local notes
   * while the bank receives) consecutive gaps mix two paths; these offsets do not.
   */
  atMs: Record<Direction, Record<string, GapFigures>>;
  /**
   * Per direction: the slowest conversions (the 1 % a p99 falls in, at least `SLOWEST_MIN`), slowest
   * first, each with its post's time from the first post of the run and its largest gaps: whether a
   * tail is one stall that caught conversions posted together, or a gap that is long now and then.
   */
  slowest: Record<Direction, SlowConversion[]>;
  /**
   * The bench process's garbage collections of `GC_PAUSE_MS` or more while recording (its main thread:
   * the gateway's, and the bank's in this process), on the same clock as `SlowConversion.postedAtS`.
   */
  gcPauses: { atS: number; ms: number; kind: string }[];
  /** The first post of the run, unix ms: the origin of `postedAtS` and `atS` (to match other logs). */
  originMs: number;
}

/** One of the slowest conversions of a direction. */
export interface SlowConversion {
  /** Its post, seconds after the first post of the run (either direction). */
  postedAtS: number;
  totalMs: number;
  /** Its `SLOW_GAPS` largest gaps, largest first, ms. */
  gapsMs: Record<string, number>;
}

/** A collection at least this long is listed, ms. */
const GC_PAUSE_MS = 5;

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Slow conversions listed per direction at least. */
const SLOWEST_MIN = 5;
/** Gaps listed for each slow conversion. */
const SLOW_GAPS = 4;

export interface StepRecorder {
  /**
   * Stops recording and answers the gaps of `finished` (unix ms, as the driver took them), and the
   * slowest of `ranked` (default `finished`: the open loop ranks the conversions its latencies
   * describe, those posted inside the window, drained inside it or after).
   */
  stop(finished: readonly Timed[], ranked?: readonly Timed[]): StepTrace;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
/** Seconds to the millisecond. */
const seconds = (ms: number) => Math.round(ms) / 1000;

/** A conversion's id, direction and times (unix ms). */
interface Timed {
  id: string;
  direction: Direction;
  postedAt: number;
  drainedAt: number;
}

/** Starts recording every mark the servers make in this process. */
export function recordSteps(): StepRecorder {
  const marks = new Map<string, { step: string; at: number }[]>();
  setStepSink((id, step, at) => {
    const list = marks.get(id);
    if (list === undefined) marks.set(id, [{ step, at }]);
    else list.push({ step, at });
  });
  const gc: { at: number; ms: number; kind: string }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration < GC_PAUSE_MS) continue;
      // Node puts the collection's kind in `detail` (https://nodejs.org/api/perf_hooks.html#garbage-collection-gc-details).
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      gc.push({
        at: performance.timeOrigin + e.startTime,
        ms: e.duration,
        kind: GC_KINDS[kind ?? -1] ?? 'other',
      });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop(finished, ranked = finished) {
      setStepSink(undefined);
      observer.disconnect();
      const gapsMs = {} as StepTrace['gapsMs'];
      const atMs = {} as StepTrace['atMs'];
      const slowest = {} as StepTrace['slowest'];
      const firstPost = Math.min(...[...finished, ...ranked].map((f) => f.postedAt));
      // In time order: the payment arrives before the step that delivered it commits (off the path).
      const sequence = (f: Timed) =>
        [
          { step: 'posted', at: f.postedAt },
          ...(marks.get(f.id) ?? []),
          { step: 'arrived', at: f.drainedAt },
        ].sort((x, y) => x.at - y.at);
      for (const direction of ['lan-to-wan', 'wan-to-lan'] as const) {
        // Each gap's values and the mean time from the post to its start (orders the gaps).
        const gaps = new Map<string, { values: number[]; offset: number }>();
        const ats = new Map<string, { values: number[]; offset: number }>();
        const add = (name: string, value: number, offset: number, into = gaps) => {
          const g = into.get(name) ?? { values: [], offset: 0 };
          g.values.push(value);
          g.offset += offset;
          into.set(name, g);
        };
        for (const f of finished) {
          if (f.direction !== direction) continue;
          const seq = sequence(f);
          for (let i = 1; i < seq.length; i++) {
            const a = seq[i - 1]!;
            const b = seq[i]!;
            add(`${a.step} → ${b.step}`, b.at - a.at, a.at - f.postedAt);
            add(b.step, b.at - f.postedAt, b.at - f.postedAt, ats);
          }
          add('total', f.drainedAt - f.postedAt, Number.MAX_SAFE_INTEGER);
        }
        gapsMs[direction] = figures(gaps);
        atMs[direction] = figures(ats);
        const mine = ranked
          .filter((f) => f.direction === direction)
          .sort((x, y) => y.drainedAt - y.postedAt - (x.drainedAt - x.postedAt));
        slowest[direction] = mine.slice(0, Math.max(SLOWEST_MIN, Math.ceil(mine.length / 100))).map((f) => {
          const seq = sequence(f);
          const own = seq
            .slice(1)
            .map((b, i): [string, number] => [`${seq[i]!.step} → ${b.step}`, round2(b.at - seq[i]!.at)]);
          return {
            postedAtS: seconds(f.postedAt - firstPost),
            totalMs: round2(f.drainedAt - f.postedAt),
            gapsMs: Object.fromEntries(own.sort((x, y) => y[1] - x[1]).slice(0, SLOW_GAPS)),
          };
        });
      }
      const gcPauses = gc.map((g) => ({
        atS: seconds(g.at - firstPost),
        ms: round2(g.ms),
        kind: g.kind,
      }));
      return { gapsMs, atMs, slowest, gcPauses, originMs: Math.round(firstPost) };
    },
  };
}

/** Each named series' median, p99 and count, ordered by their mean offset from the post. */
function figures(series: Map<string, { values: number[]; offset: number }>): Record<string, GapFigures> {
  const ordered = [...series.entries()].sort(
    ([, x], [, y]) => x.offset / x.values.length - y.offset / y.values.length,
  );
  return Object.fromEntries(
    ordered.map(([name, g]) => {
      const sorted = g.values.sort((x, y) => x - y);
      return [
        name,
        { p50: round2(quantile(sorted, 0.5)), p99: round2(quantile(sorted, 0.99)), n: sorted.length },
      ];
    }),
  );
}
