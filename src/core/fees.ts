/**
 * NUT-02 input fee arithmetic shared by the mints' callers (bank receive, gateway intakes) and the
 * wallets: a set of inputs pays ceil(Σ input_fee_ppk / 1000) minor units, and a conversion or a credit
 * is what is left of the notes' value once it is paid (docs/gateway.md and docs/wide-bank.md, "Fees").
 */
import { fail } from './errors.js';
import { type Amount, splitAmount, sub } from './money.js';

/** The highest `input_fee_ppk` an operator may give a keyset: 10 minor units per note spent. */
export const MAX_INPUT_FEE_PPK = 10_000;

/** NUT-02: ceil(Σ input_fee_ppk / 1000), in minor units. */
export function feeOfPpk(ppkSum: number): Amount {
  return Math.ceil(ppkSum / 1000) as Amount;
}

/** What notes are worth once their input fee is paid; nothing left is refused (Cashu 11005). */
export function amountAfterFee(value: Amount, fee: Amount): Amount {
  if (value <= fee) {
    fail(
      'TransactionUnbalanced',
      { inputs: value, outputs: 0, fees: fee },
      `notes worth ${value} do not cover their input fee ${fee}: send notes worth the amount plus the fee`,
    );
  }
  return sub(value, fee);
}

/**
 * Notes (powers of two, ascending) whose value less their own input fee at `ppk` is exactly `amount`:
 * what a sender hands to a receiver that charges the fee of the notes it takes (the gateway's intake),
 * as few as can do it. n notes cost `feeOfPpk(n · ppk)`, and a total T is n powers of two exactly when
 * popcount(T) ≤ n ≤ T, so the smallest such n is found by counting up; splitting the largest note in
 * two adds one note. Without a fee this is `splitAmount(amount)`.
 */
export function notesAfterFee(amount: Amount, ppk: number): Amount[] {
  // The ppk comes from the mint's keyset list: one past the operators' bound would make the search
  // below build ever larger note lists (a hostile mint hangs or crashes the wallet), so it is refused.
  if (!Number.isSafeInteger(ppk) || ppk < 0 || ppk > MAX_INPUT_FEE_PPK) {
    fail('InvalidInput', {
      argument: 'input_fee_ppk',
      expected: `an integer from 0 to ${MAX_INPUT_FEE_PPK}`,
      received: String(ppk),
    });
  }
  for (let n = 1; ; n++) {
    const total = amount + feeOfPpk(n * ppk);
    const notes = splitAmount(total as Amount);
    if (notes.length > n || n > total) continue;
    while (notes.length < n) {
      notes.sort((a, b) => b - a);
      const half = (notes[0]! / 2) as Amount;
      notes.splice(0, 1, half, half);
    }
    return notes.sort((a, b) => a - b);
  }
}
