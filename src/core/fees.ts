/**
 * NUT-02 input fee arithmetic shared by the mints' callers (bank receive, gateway intakes) and the
 * wallets: a set of inputs pays ceil(Σ input_fee_ppk / 1000) minor units, and a conversion or a credit
 * is what is left of the notes' value once it is paid (docs/gateway.md and docs/wide-bank.md, "Fees").
 */
import { fail } from './errors.js';
import { type Amount, sub } from './money.js';

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
