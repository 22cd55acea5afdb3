/**
 * Money: amounts in integer minor units (cents for EUR). Every amount that enters the system passes
 * `toAmount` or `toNoteAmount`, the one place where the limits live; inside, `Amount` is trusted.
 * Arithmetic is checked: no floats, no negatives, no overflow, no strings like "10".
 */
import { describe, fail } from './errors.js';

declare const amountBrand: unique symbol;
/** A non-negative safe integer number of minor units, at most `MAX_TOTAL`. */
export type Amount = number & { readonly [amountBrand]: true };

/** Largest single note: 2^31 minor units (≈21 million euros), as the money core issue settles. */
export const MAX_NOTE_AMOUNT = 2 ** 31;
/** Largest amount anywhere (a request, a balance): 2^50. The sum of two stays below 2^53, so it is exact. */
export const MAX_TOTAL = 2 ** 50;

export const ZERO = 0 as Amount;

export interface AmountOptions {
  /** The argument's name, for the error message. */
  argument?: string;
  /** Whether 0 is meaningful here (a balance, a fee); default false. */
  allowZero?: boolean;
  /** An upper bound below `MAX_TOTAL`. */
  max?: number;
}

/** Decodes an untrusted value into an `Amount`, or throws `InvalidAmount` naming what arrived. */
export function toAmount(value: unknown, opts: AmountOptions = {}): Amount {
  const argument = opts.argument ?? 'amount';
  const max = Math.min(opts.max ?? MAX_TOTAL, MAX_TOTAL);
  const min = opts.allowZero ? 0 : 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(
      'InvalidAmount',
      { argument, expected: `an integer from ${min} to ${max}`, received: describe(value) },
      `${argument} must be an integer from ${min} to ${max}, got ${describe(value)}`,
    );
  }
  return value as Amount;
}

/** A note's amount: a power of two from 1 to `MAX_NOTE_AMOUNT` (NUT-00 denominations). */
export function toNoteAmount(value: unknown, argument = 'amount'): Amount {
  const a = toAmount(value, { argument, max: MAX_NOTE_AMOUNT });
  if (!isPowerOfTwo(a)) {
    fail(
      'InvalidAmount',
      { argument, expected: 'a power of two', received: describe(value) },
      `${argument} must be a power of two, got ${a}`,
    );
  }
  return a;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.floor(Math.log2(n)) === n;
}

/** a + b, checked against `MAX_TOTAL`. */
export function add(a: Amount, b: Amount): Amount {
  const r = a + b;
  if (r > MAX_TOTAL) overflow(r);
  return r as Amount;
}

/** a − b; never negative. */
export function sub(a: Amount, b: Amount): Amount {
  if (b > a) {
    fail(
      'InvalidAmount',
      { argument: 'subtrahend', expected: `at most ${a}`, received: String(b) },
      `cannot subtract ${b} from ${a}`,
    );
  }
  return (a - b) as Amount;
}

/** Σ amounts, checked at every step so no intermediate sum can lose precision. */
export function sum(amounts: Iterable<number>): Amount {
  let total = 0;
  for (const a of amounts) {
    total += a;
    if (total > MAX_TOTAL) overflow(total);
  }
  return total as Amount;
}

/** The power-of-two notes that make up `amount`, smallest first (NUT-00 split). */
export function splitAmount(amount: Amount): Amount[] {
  const parts: Amount[] = [];
  let rest = amount as number;
  for (let bit = 1; rest > 0; bit *= 2) {
    if (rest % (bit * 2) !== 0) {
      parts.push(bit as Amount);
      rest -= bit;
    }
  }
  for (const p of parts) {
    if (p > MAX_NOTE_AMOUNT) {
      // Above the largest note, fill with largest notes instead.
      return splitLarge(amount);
    }
  }
  return parts;
}

function splitLarge(amount: Amount): Amount[] {
  const big = Math.floor(amount / MAX_NOTE_AMOUNT);
  const small = splitAmount((amount - big * MAX_NOTE_AMOUNT) as Amount);
  return [...small, ...Array.from({ length: big }, () => MAX_NOTE_AMOUNT as Amount)];
}

function overflow(value: number): never {
  return fail(
    'AmountOutsideLimit',
    { amount: value, min: 0, max: MAX_TOTAL },
    `amount total ${value} exceeds the limit ${MAX_TOTAL}`,
  );
}
