/**
 * The amounts `bench gateway` converts: drawn log-uniformly from 1 to 10⁴ minor units, so small
 * payments are as common per decade as large ones and a conversion carries 1 to 14 notes (the amount's
 * powers of two). The bound and the traffic draw from the same distribution.
 */

import type { Amount } from '../core/money.js';
import { splitAmount } from '../core/money.js';

export const MAX_AMOUNT = 10_000;

/** `count` amounts, log-uniform over [1, MAX_AMOUNT]. */
export function drawAmounts(count: number, random: () => number = Math.random): Amount[] {
  return Array.from(
    { length: count },
    () => Math.min(MAX_AMOUNT, Math.floor(Math.exp(random() * Math.log(MAX_AMOUNT + 1)))) as Amount,
  );
}

/** Notes of an amount split into powers of two (NUT-00). */
export function notesOf(amount: Amount): number {
  return splitAmount(amount).length;
}
