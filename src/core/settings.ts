/**
 * Checks of operator settings given in code (store and mailbox options): a value out of range is
 * `InvalidInput` naming the setting, at start-up, never a surprise later (a 0 that a library reads as
 * "no bound", a fraction, NaN).
 */
import { fail } from './errors.js';

/** `value` when it is a safe integer of at least 1; otherwise `InvalidInput` naming `argument`. */
export function positiveInteger(value: number, argument: string): number {
  if (Number.isSafeInteger(value) && value > 0) return value;
  return fail(
    'InvalidInput',
    { argument, expected: 'a positive integer', received: String(value) },
    `${argument}: expected a positive integer, got ${String(value)}`,
  );
}
