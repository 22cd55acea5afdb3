/**
 * Which notes pay for an amount. Outgoing notes are always swapped first (so what leaves has fresh
 * random secrets), so selection only has to cover `amount` plus the swap's input fee (NUT-02
 * `input_fee_ppk`) with few inputs and little change.
 */

export interface Selectable {
  amount: number;
  /** The input fee of this note's keyset, parts per thousand (NUT-02). */
  feePpk: number;
}

/** NUT-02: the fee of a set of inputs is ceil(Σ input_fee_ppk / 1000). */
export function inputFee(notes: readonly Selectable[]): number {
  return Math.ceil(notes.reduce((n, x) => n + x.feePpk, 0) / 1000);
}

const total = (notes: readonly Selectable[]): number => notes.reduce((n, x) => n + x.amount, 0);

/**
 * Notes worth at least `amount` + their own input fee, or undefined when even all of them are not.
 * Prefers one note that covers it alone (the smallest such), else the largest notes first, then
 * drops any note the rest can do without.
 */
export function selectNotes<T extends Selectable>(available: readonly T[], amount: number): T[] | undefined {
  const covers = (notes: readonly T[]) => total(notes) >= amount + inputFee(notes);
  const ascending = [...available].sort((a, b) => a.amount - b.amount);
  const single = ascending.find((n) => covers([n]));
  if (single) return [single];
  const chosen: T[] = [];
  for (const note of [...ascending].reverse()) {
    chosen.push(note);
    if (covers(chosen)) break;
  }
  if (!covers(chosen)) return undefined;
  // Smallest first: a small note picked early may have become unnecessary.
  for (const note of [...chosen].sort((a, b) => a.amount - b.amount)) {
    const without = chosen.filter((n) => n !== note);
    if (covers(without)) chosen.splice(chosen.indexOf(note), 1);
  }
  return chosen;
}
