/** Note selection: properties over random purses and amounts, and the preferences it promises. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inputFee, type Selectable, selectNotes } from './select.js';

const note = fc.record({
  amount: fc.constantFrom(1, 2, 4, 8, 16, 32, 64, 128, 1024, 2 ** 31),
  feePpk: fc.constantFrom(0, 0, 0, 100, 1000),
});
const total = (notes: readonly Selectable[]) => notes.reduce((n, x) => n + x.amount, 0);

describe('selectNotes', () => {
  it('covers the amount and its own fee with notes from the purse, each at most once', () => {
    fc.assert(
      fc.property(fc.array(note, { maxLength: 40 }), fc.integer({ min: 1, max: 5000 }), (purse, amount) => {
        const chosen = selectNotes(purse, amount);
        if (chosen === undefined) return;
        expect(total(chosen)).toBeGreaterThanOrEqual(amount + inputFee(chosen));
        expect(new Set(chosen).size).toBe(chosen.length);
        for (const n of chosen) expect(purse).toContain(n);
      }),
    );
  });

  it('without fees, finds notes exactly when the purse is worth the amount, and keeps no note it can drop', () => {
    fc.assert(
      fc.property(
        fc.array(
          note.map((n) => ({ ...n, feePpk: 0 })),
          { maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 5000 }),
        (purse, amount) => {
          const chosen = selectNotes(purse, amount);
          expect(chosen === undefined).toBe(total(purse) < amount);
          for (const n of chosen ?? []) expect(total(chosen!.filter((x) => x !== n))).toBeLessThan(amount);
        },
      ),
    );
  });

  it('prefers the smallest single note that covers the amount', () => {
    const purse = [8, 64, 16, 2, 2].map((amount) => ({ amount, feePpk: 0 }));
    expect(selectNotes(purse, 10)?.map((n) => n.amount)).toEqual([16]);
    expect(selectNotes(purse, 80)?.map((n) => n.amount)).toEqual([64, 16]);
    expect(selectNotes(purse, 93)).toBeUndefined();
  });

  it('counts the input fee (NUT-02: ceil of the summed ppk)', () => {
    const purse = [4, 4].map((amount) => ({ amount, feePpk: 600 }));
    expect(inputFee(purse)).toBe(2);
    expect(selectNotes(purse, 3)?.map((n) => n.amount)).toEqual([4]);
    expect(selectNotes(purse, 4)?.map((n) => n.amount)).toEqual([4, 4]);
    expect(selectNotes(purse, 7)).toBeUndefined();
  });
});
