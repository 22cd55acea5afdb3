/**
 * The token bucket: its burst, its refill, and for any sequence of requests (fast-check) never more
 * granted over a window of t seconds than `burst + perSecond × t`, never a negative count nor more
 * than the burst, also with a clock that steps backwards; the per-client buckets stay bounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketsByClient, TokenBucket } from './rate-limit.js';

/** Tolerance for the float arithmetic of a refill (fractions of a token). */
const EPS = 1e-9;

describe('TokenBucket', () => {
  it('grants its burst at once, then one token per 1 / perSecond; says how long to wait', () => {
    const b = new TokenBucket({ burst: 3, perSecond: 2 }, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.waitFor(0)).toBe(0.5);
    expect(b.take(250)).toBe(false);
    expect(b.waitFor(250)).toBeCloseTo(0.25);
    expect(b.take(500)).toBe(true);
    expect(b.take(10_000, 3)).toBe(true); // refilled to its burst, not beyond
    expect(b.take(10_000)).toBe(false);
  });

  it('refills nothing for time that went backwards, and counts it only once it passes again', () => {
    const b = new TokenBucket({ burst: 1, perSecond: 1 }, 10_000);
    expect(b.take(10_000)).toBe(true);
    expect(b.take(0)).toBe(false); // set back by 10 s
    expect(b.take(10_500)).toBe(false);
    expect(b.take(11_000)).toBe(true);
  });

  // Requests as (ms since the previous one, tokens asked); a negative step is a clock set back.
  const rate = fc.record({
    burst: fc.integer({ min: 1, max: 50 }),
    perSecond: fc.integer({ min: 1, max: 100 }),
  });
  const steps = (minStep: number) =>
    fc.array(fc.tuple(fc.integer({ min: minStep, max: 2000 }), fc.integer({ min: 1, max: 5 })), {
      maxLength: 200,
    });

  it('never grants more than burst + perSecond × t over any window of t seconds (a clock that only advances)', () => {
    fc.assert(
      fc.property(rate, steps(0), (r, requests) => {
        const b = new TokenBucket(r, 0);
        let now = 0;
        const granted: { at: number; n: number }[] = [];
        for (const [dt, n] of requests) {
          now += dt;
          if (b.take(now, n)) granted.push({ at: now, n });
        }
        for (let i = 0; i < granted.length; i++) {
          let sum = 0;
          for (let j = i; j < granted.length; j++) {
            sum += granted[j]!.n;
            const t = (granted[j]!.at - granted[i]!.at) / 1000;
            expect(sum).toBeLessThanOrEqual(r.burst + r.perSecond * t + EPS);
          }
        }
      }),
    );
  });

  it('never holds a negative count nor more than its burst, and grants in all at most burst + perSecond × (latest time − start), whatever the clock does', () => {
    fc.assert(
      fc.property(rate, steps(-2000), (r, requests) => {
        const b = new TokenBucket(r, 0);
        let now = 0;
        let latest = 0;
        let granted = 0;
        for (const [dt, n] of requests) {
          now += dt;
          latest = Math.max(latest, now);
          if (b.take(now, n)) granted += n;
          const tokens = b.tokens(now);
          expect(tokens).toBeGreaterThanOrEqual(-EPS);
          expect(tokens).toBeLessThanOrEqual(r.burst + EPS);
          expect(b.waitFor(now)).toBeGreaterThanOrEqual(0);
        }
        expect(granted).toBeLessThanOrEqual(r.burst + (r.perSecond * latest) / 1000 + EPS);
      }),
    );
  });
});

describe('BucketsByClient', () => {
  it('keeps one bucket per client, at most `bound`, the least recently used dropped first', () => {
    const buckets = new BucketsByClient({ burst: 1, perSecond: 1 }, 2);
    expect(buckets.of('a', 0).take(0)).toBe(true);
    expect(buckets.of('a', 0).take(0)).toBe(false); // the same bucket
    expect(buckets.of('b', 0).take(0)).toBe(true);
    buckets.of('a', 0); // `a` is now the most recent: `c` drops `b`
    buckets.of('c', 0);
    expect(buckets.size).toBe(2);
    expect(buckets.of('a', 0).take(0)).toBe(false);
    expect(buckets.of('b', 0).take(0)).toBe(true); // dropped, so full again
  });
});
