/**
 * The reserve series as the Overview keeps it: the day read from the gateway, then live points
 * appended in time order (a point not newer than the last is dropped: the stream and a reading can
 * bring the same moment twice), at most `max` kept; the series as uPlot's columns; and the time
 * axis's labels, as fine as the ticks' spacing.
 */
import { currencyDecimals } from '../../core/money-format.js';
import type { ReservePoint } from './api.js';

export function appendPoint(points: readonly ReservePoint[], p: ReservePoint, max: number): ReservePoint[] {
  const last = points[points.length - 1];
  if (last !== undefined && last.at >= p.at) return points as ReservePoint[];
  return [...points, p].slice(-max);
}

/** Seconds, reserve and outstanding in major units (null where the bank did not answer). */
export function chartColumns(
  points: readonly ReservePoint[],
  unit: string,
): [number[], (number | null)[], number[]] {
  const scale = 10 ** currencyDecimals(unit);
  return [
    points.map((p) => p.at / 1000),
    points.map((p) => (p.reserve === null ? null : p.reserve / scale)),
    points.map((p) => p.outstanding / scale),
  ];
}

/**
 * The time axis's labels for uPlot's `ticks` (seconds) spaced `incr` seconds apart: seconds (and
 * their fractions) when ticks are under a minute apart, hours and minutes under a day, else the date,
 * so two ticks never read the same. One line: uPlot's two-line labels collide at phone width.
 */
export function timeTickLabels(
  ticks: readonly number[],
  incr: number,
  o: { locale?: string | string[]; timeZone?: string } = {},
): string[] {
  const hm: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
  const style: Intl.DateTimeFormatOptions =
    incr >= 86_400
      ? { day: 'numeric', month: 'short' }
      : incr >= 60
        ? hm
        : incr >= 1
          ? { ...hm, second: '2-digit' }
          : { ...hm, second: '2-digit', fractionalSecondDigits: incr >= 0.1 ? 1 : incr >= 0.01 ? 2 : 3 };
  const format = new Intl.DateTimeFormat(o.locale ?? [], {
    ...style,
    ...(o.timeZone === undefined ? {} : { timeZone: o.timeZone }),
  });
  return ticks.map((t) => format.format(new Date(t * 1000)));
}
