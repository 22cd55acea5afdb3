/**
 * `bench gateway --trace-steps`: the servers' step marks of each conversion (`core/step-trace.ts`),
 * from the terminal's post to its payment's arrival at the terminal, turned into the gaps between
 * consecutive marks in time order, with each gap's median and p99 per direction (the gateway, the wide
 * bank and both mailboxes mark in the bench process, the driver's post and arrival times come from its
 * own; all on the machine's clock); a gap's name is its two marks.
 */
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
}

export interface StepRecorder {
  /** Stops recording and answers the gaps of `finished` (unix ms, as the driver took them). */
  stop(
    finished: readonly { id: string; direction: Direction; postedAt: number; drainedAt: number }[],
  ): StepTrace;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Starts recording every mark the servers make in this process. */
export function recordSteps(): StepRecorder {
  const marks = new Map<string, { step: string; at: number }[]>();
  setStepSink((id, step, at) => {
    const list = marks.get(id);
    if (list === undefined) marks.set(id, [{ step, at }]);
    else list.push({ step, at });
  });
  return {
    stop(finished) {
      setStepSink(undefined);
      const gapsMs = {} as StepTrace['gapsMs'];
      const atMs = {} as StepTrace['atMs'];
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
          // In time order: the payment arrives before the step that delivered it commits (off the path).
          const seq = [
            { step: 'posted', at: f.postedAt },
            ...(marks.get(f.id) ?? []),
            { step: 'arrived', at: f.drainedAt },
          ].sort((x, y) => x.at - y.at);
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
      }
      return { gapsMs, atMs };
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
