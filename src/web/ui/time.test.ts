/** formatAge and formatTime: the ages and moments the pages show. */
import { describe, expect, it } from 'vitest';
import { formatAge, formatTime } from './time.js';

describe('formatAge', () => {
  const now = 1_800_000_000_000;
  it.each([
    [0, '0 s'],
    [59_999, '59 s'],
    [60_000, '1 min'],
    [3_599_000, '59 min'],
    [3_600_000, '1 h'],
    [3_900_000, '1 h 5 min'],
    [47 * 3_600_000, '47 h'],
    [49 * 3_600_000, '2 days'],
  ])('%i ms ago is %s', (ago, text) => {
    expect(formatAge(now - ago, now)).toBe(text);
  });
  it('a moment in the future (clock skew) is 0 s, never negative', () => {
    expect(formatAge(now + 5000, now)).toBe('0 s');
  });
});

describe('formatTime', () => {
  it('shows the date and the time to the second', () => {
    expect(formatTime(Date.UTC(2026, 11, 5, 13, 52, 6), 'en-GB', 'UTC')).toBe('5 Dec 2026, 13:52:06');
  });
});
