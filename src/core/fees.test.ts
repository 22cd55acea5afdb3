/** NUT-02 fee arithmetic: the fee of n notes, what is left of them, and notes that pay their own fee. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountAfterFee, feeOfPpk, MAX_INPUT_FEE_PPK, notesAfterFee } from './fees.js';
import { type Amount, splitAmount } from './money.js';

const isPowerOfTwo = (n: number) => n >= 1 && Number.isInteger(Math.log2(n));

describe('input fees (NUT-02)', () => {
  it('a request pays ceil(Σ input_fee_ppk / 1000)', () => {
    expect(feeOfPpk(0)).toBe(0);
    expect(feeOfPpk(1)).toBe(1);
    expect(feeOfPpk(1000)).toBe(1);
    expect(feeOfPpk(1001)).toBe(2);
    expect(feeOfPpk(3 * 400)).toBe(2);
  });

  it('what notes are worth less their fee; nothing left is refused with 11005', () => {
    expect(amountAfterFee(10 as Amount, 2 as Amount)).toBe(8);
    for (const [value, fee] of [
      [1, 1],
      [2, 3],
    ] as const) {
      expect(() => amountAfterFee(value as Amount, fee as Amount)).toThrow(
        expect.objectContaining({ code: 11005, info: { inputs: value, outputs: 0, fees: fee } }),
      );
    }
  });

  it('notes that pay their own fee: a case with no canonical split (2 at one unit per note)', () => {
    // 3 = 2 + 1 leaves 1; 4 = one note leaves 3; two notes of 2 leave exactly 2.
    expect(notesAfterFee(2 as Amount, 1000)).toEqual([2, 2]);
    expect(notesAfterFee(13 as Amount, 0)).toEqual(splitAmount(13 as Amount));
  });

  it("a mint's input fee above the operators' bound is refused, not searched (a hostile keyset list)", () => {
    for (const ppk of [MAX_INPUT_FEE_PPK + 1, 1e15, 1e20, -1, 0.5]) {
      expect(() => notesAfterFee(1 as Amount, ppk)).toThrow(
        expect.objectContaining({
          code: 70000,
          info: expect.objectContaining({ argument: 'input_fee_ppk' }),
        }),
      );
    }
    const atBound = notesAfterFee(1 as Amount, MAX_INPUT_FEE_PPK);
    expect(atBound.reduce((n, x) => n + x, 0) - feeOfPpk(atBound.length * MAX_INPUT_FEE_PPK)).toBe(1);
  });

  it('property: powers of two, value less their own fee exactly the amount, no fewer notes possible', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 0, max: MAX_INPUT_FEE_PPK }),
        (amount, ppk) => {
          const notes = notesAfterFee(amount as Amount, ppk);
          const total = notes.reduce((n, x) => n + x, 0);
          expect(notes.every(isPowerOfTwo)).toBe(true);
          expect(total - feeOfPpk(notes.length * ppk)).toBe(amount);
          // One note fewer never works: no total with fewer notes leaves exactly `amount`.
          const fewer = notes.length - 1;
          if (fewer >= 1) {
            const t = amount + feeOfPpk(fewer * ppk);
            expect(splitAmount(t as Amount).length).toBeGreaterThan(fewer);
          }
          if (ppk === 0) expect(notes).toEqual(splitAmount(amount as Amount));
        },
      ),
    );
  });
});
