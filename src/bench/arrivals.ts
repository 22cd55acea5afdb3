/**
 * The open loop's arrival schedule and the latency statistics of `bench gateway`. Arrivals are a
 * Poisson process (exponential gaps at a fixed mean rate), drawn before the clock starts and kept
 * whatever the servers do: a slow answer does not hold back the next request, as it does not for
 * real terminals, so queueing shows in the latency (a closed loop would hide it by waiting).
 */

/**
 * Arrival times in ms from 0, before `untilMs`, of a Poisson process of `ratePerSec` arrivals a
 * second. `random` in [0, 1) (injectable so a test draws a known sequence).
 */
export function poissonArrivals(
  ratePerSec: number,
  untilMs: number,
  random: () => number = Math.random,
): number[] {
  if (!(ratePerSec > 0)) return [];
  const meanGapMs = 1000 / ratePerSec;
  const times: number[] = [];
  // -ln(1 - u) is exponential with mean 1; 1 - u is in (0, 1], so the log stays finite.
  for (let t = -Math.log(1 - random()) * meanGapMs; t < untilMs; t += -Math.log(1 - random()) * meanGapMs)
    times.push(t);
  return times;
}

/** The q-quantile of ascending `sorted` values (nearest rank: the smallest value with at least q of them at or below it). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** p50, p99 and max of `values` (any order), in the unit given. */
export function latencySummary(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  // Times taken to a fraction of a ms (the driver's clock) are printed to 0.1 of their unit.
  const tenth = (v: number) => Math.round(v * 10) / 10;
  return {
    p50: tenth(quantile(sorted, 0.5)),
    p99: tenth(quantile(sorted, 0.99)),
    max: tenth(sorted.at(-1) ?? 0),
  };
}
