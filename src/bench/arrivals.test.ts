/** The open loop's Poisson schedule and the nearest-rank quantiles `bench gateway` reports. */
import { describe, expect, it } from 'vitest';
import { latencySummary, poissonArrivals, quantile } from './arrivals.js';

/** A fixed pseudo-random sequence (mulberry32), so the schedule's statistics are the same every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('bench arrivals', () => {
  it('draws a Poisson schedule: increasing times inside the window, the rate on average, exponential gaps', () => {
    const times = poissonArrivals(50, 200_000, seeded(11));
    expect(times.every((t, i) => t >= 0 && t < 200_000 && (i === 0 || t >= times[i - 1]!))).toBe(true);
    // 10 000 expected; a Poisson count's spread is √10 000 = 100.
    expect(Math.abs(times.length - 10_000)).toBeLessThan(400);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(19);
    expect(mean).toBeLessThan(21);
    // Exponential, not even: about e^-1 of the gaps exceed the mean, and some exceed three means.
    const overMean = gaps.filter((g) => g > 20).length / gaps.length;
    expect(overMean).toBeGreaterThan(0.34);
    expect(overMean).toBeLessThan(0.4);
    expect(gaps.some((g) => g > 60)).toBe(true);
  });

  it('draws nothing at a rate of zero and stops at the window', () => {
    expect(poissonArrivals(0, 1000)).toEqual([]);
    // u = 0.5 each time: gaps of ln 2 × 100 ms ≈ 69.3 ms.
    const times = poissonArrivals(10, 250, () => 0.5);
    expect(times.map((t) => Math.round(t))).toEqual([69, 139, 208]);
  });

  it('takes nearest-rank quantiles', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(hundred, 0.5)).toBe(50);
    expect(quantile(hundred, 0.99)).toBe(99);
    expect(quantile(hundred, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBe(0);
    expect(quantile([1, 2], 0)).toBe(1);
    expect(latencySummary([5, 3, 9, 1])).toEqual({ p50: 3, p99: 9, max: 9 });
    expect(latencySummary([1.23456, 20.06, 7.99])).toEqual({ p50: 8, p99: 20.1, max: 20.1 });
  });
});
