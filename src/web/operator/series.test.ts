/**
 * The Overview's series: points appended in time order and bounded; uPlot's columns in major units;
 * the time axis's labels never repeat, whatever the span.
 */
import { describe, expect, it } from 'vitest';
import { appendPoint, chartColumns, timeTickLabels } from './series.js';

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

describe('timeTickLabels', () => {
  const at = Date.UTC(2026, 11, 5, 14, 12, 0) / 1000;
  const ticks = (incr: number, n = 5) => Array.from({ length: n }, (_, i) => at + i * incr);
  const labels = (incr: number) => timeTickLabels(ticks(incr), incr, { locale: 'en-GB', timeZone: 'UTC' });

  it('shows seconds when the ticks are under a minute apart (a short span), so no two read the same', () => {
    expect(labels(15)).toEqual(['14:12:00', '14:12:15', '14:12:30', '14:12:45', '14:13:00']);
    expect(labels(0.5)).toEqual(['14:12:00.0', '14:12:00.5', '14:12:01.0', '14:12:01.5', '14:12:02.0']);
  });
  it('shows hours and minutes a minute apart or more, and the date a day apart', () => {
    expect(labels(300)).toEqual(['14:12', '14:17', '14:22', '14:27', '14:32']);
    expect(labels(86_400)).toEqual(['5 Dec', '6 Dec', '7 Dec', '8 Dec', '9 Dec']);
  });
  it('never repeats a label at any of uPlot’s time increments', () => {
    for (const incr of [
      0.001, 0.01, 0.1, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 86_400,
    ]) {
      const l = labels(incr);
      expect(new Set(l).size, `${incr} s apart: ${l.join(', ')}`).toBe(l.length);
    }
  });
});
