/**
 * Reading 64-bit integers back as JS `number`. Amounts and times are BIGINT in the database; pg hands
 * them over as text and better-sqlite3 as doubles, and this is the one place that turns them into
 * numbers, refusing (never rounding) a value beyond 2^53 − 1, so money can never come back approximate.
 */
import { LancashError } from '../core/errors.js';

/** The exact `number` for a database integer, or `Internal` if it would not be exact. */
export function safeNumber(value: bigint | string, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : Number(value);
  const exact = typeof value === 'bigint' ? BigInt(n) === value : /^-?\d+$/.test(value);
  if (!exact || !Number.isSafeInteger(n)) notExact(value, what);
  return n;
}

/**
 * `value` itself if it is within ±(2^53 − 1), else `Internal`. For a driver that reads 64-bit integers
 * straight into doubles (better-sqlite3 without its bigint mode): an integer beyond that range
 * becomes a double of magnitude 2^53 or more, never a smaller one, so it is always caught here.
 */
export function withinSafeRange(value: number, what: string): number {
  if (value > Number.MAX_SAFE_INTEGER || value < Number.MIN_SAFE_INTEGER) notExact(value, what);
  return value;
}

function notExact(value: bigint | string | number, what: string): never {
  throw new LancashError(
    'Internal',
    { reason: `${what} is not an integer within ±(2^53 − 1)` },
    `${what}: expected an integer within ±(2^53 − 1) from the database, got ${String(value)}`,
  );
}
