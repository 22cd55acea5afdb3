/** The seed-word check of wallet creation. */
import { describe, expect, it } from 'vitest';
import { mismatchSentence, pickPositions, splitWords, wrongPositions } from './seed-check.js';

describe('pickPositions', () => {
  it('picks distinct positions in range, ascending', () => {
    for (let run = 0; run < 50; run++) {
      const p = pickPositions(12);
      expect(p).toHaveLength(3);
      expect(new Set(p).size).toBe(3);
      expect(p).toEqual([...p].sort((a, b) => a - b));
      for (const x of p) expect(x >= 1 && x <= 12).toBe(true);
    }
  });

  it('follows the random source (first, then last of what is left)', () => {
    const values = [0, 0.999, 0];
    expect(pickPositions(12, 3, () => values.shift() ?? 0)).toEqual([1, 2, 12]);
  });
});

describe('wrongPositions', () => {
  const words = 'abandon ability able about above absent absorb abstract absurd abuse access accident';

  it('passes the right words, in any case and with stray spaces', () => {
    expect(wrongPositions(words, { 1: ' Abandon ', 6: 'absent', 12: 'ACCIDENT' })).toEqual([]);
  });

  it('names each position that does not match, and an empty answer', () => {
    expect(wrongPositions(words, { 2: 'able', 5: 'above', 9: '' })).toEqual([2, 9]);
  });

  it('names the mismatched positions in a sentence', () => {
    expect(mismatchSentence([7])).toBe('Word 7 does not match what was shown.');
    expect(mismatchSentence([2, 7, 9])).toBe('Words 2, 7 and 9 do not match what was shown.');
  });

  it('splits typed words on any whitespace', () => {
    expect(splitWords('  a\tb\n c ')).toEqual(['a', 'b', 'c']);
    expect(splitWords('   ')).toEqual([]);
  });
});
