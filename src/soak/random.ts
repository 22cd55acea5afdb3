/**
 * The soak's seeded random source (mulberry32): the same `--seed` draws the same amounts, pauses,
 * recipients, faults and kill moments, so a run that found something can be run again. The moments
 * still shift with the machine's speed; the draws do not.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer from `lo` to `hi`, both included. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  /** A new source for a part of the run (a worker, the proxy), independent of later draws here. */
  fork(): Random;
}

export function seeded(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random: Random = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    fork: () => seeded(Math.floor(next() * 4294967296)),
  };
  return random;
}

/** The q-quantile of sorted values (nearest rank); 0 for none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
