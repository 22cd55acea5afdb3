/** The Overview's series: points appended in time order and bounded; uPlot's columns in major units. */
import { describe, expect, it } from 'vitest';
import { appendPoint, chartColumns } from './series.js';

const p = (at: number, reserve: number | null, outstanding: number) => ({ at, reserve, outstanding });

describe('appendPoint', () => {
  it('appends a newer point and keeps the last `max`', () => {
    const ps = [p(1, 1, 1), p(2, 2, 2)];
    expect(appendPoint(ps, p(3, 3, 3), 2)).toEqual([p(2, 2, 2), p(3, 3, 3)]);
  });
  it('drops a point that is not newer than the last (the same moment from the stream and a reading)', () => {
    const ps = [p(1, 1, 1), p(2, 2, 2)];
    expect(appendPoint(ps, p(2, 9, 9), 10)).toBe(ps);
    expect(appendPoint(ps, p(1, 9, 9), 10)).toBe(ps);
  });
});

describe('chartColumns', () => {
  it('turns minor units into major units of the currency, time into seconds, unknown reserve into a gap', () => {
    expect(chartColumns([p(2000, 4501, 4500), p(3000, null, 100)], 'eur')).toEqual([
      [2, 3],
      [45.01, null],
      [45, 1],
    ]);
    expect(chartColumns([p(1000, 1200, 1200)], 'jpy')).toEqual([[1], [1200], [1200]]);
  });
});
