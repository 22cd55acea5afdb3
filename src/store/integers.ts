/**
 * Reading 64-bit integers back as JS `number`. Amounts and times are BIGINT in the database; both
 * drivers hand them over as text or bigint, and this is the one place that turns them into numbers,
 * refusing (never rounding) a value beyond 2^53 − 1, so money can never come back approximate.
 */
import { LancashError } from '../core/errors.js';

/** The exact `number` for a database integer, or `Internal` if it would not be exact. */
export function safeNumber(value: bigint | string, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : Number(value);
  const exact = typeof value === 'bigint' ? BigInt(n) === value : /^-?\d+$/.test(value);
  if (!exact || !Number.isSafeInteger(n)) {
    throw new LancashError(
      'Internal',
      { reason: `${what} is not an integer within ±(2^53 − 1)` },
      `${what}: expected an integer within ±(2^53 − 1) from the database, got ${String(value)}`,
    );
  }
  return n;
}
