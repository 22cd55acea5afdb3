/**
 * The reserve series as the Overview keeps it: the day read from the gateway, then live points
 * appended in time order (a point not newer than the last is dropped: the stream and a reading can
 * bring the same moment twice), at most `max` kept; and the series as uPlot's columns.
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
