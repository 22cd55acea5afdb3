/**
 * The reserve chart (uPlot): the reserve at the wide bank and the local money outstanding over time,
 * in major units. The canvas is decoration for sighted readers: the figure's label and the sentence
 * beside it carry the same facts in words. Colours follow the page's (light or dark) palette.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { currencyDecimals, formatMoney, unitLabel } from '../../core/money-format.js';
import type { ReservePoint } from './api.js';
import { chartColumns, timeTickLabels } from './series.js';

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function ReserveChart(props: { points: readonly ReservePoint[]; unit: string; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { unit } = props;

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const make = () => {
      plot.current?.destroy();
      const fg = cssVar('--fg');
      const line = cssVar('--line');
      const money = (_u: uPlot, v: number | null) =>
        v === null || v === undefined ? '—' : formatMoney(Math.round(v * 10 ** currencyDecimals(unit)), unit);
      const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
      plot.current = new uPlot(
        {
          width: Math.max(280, el.clientWidth),
          height: 260,
          scales: { x: { time: true } },
          series: [
            {},
            {
              label: 'Reserve at the bank',
              stroke: cssVar('--accent'),
              width: 2,
              value: money,
              spanGaps: false,
            },
            {
              label: 'Local money outstanding',
              stroke: cssVar('--ok'),
              width: 2,
              dash: [6, 4],
              value: money,
            },
          ],
          axes: [
            {
              ...axis,
              space: 70,
              // As fine as the ticks' spacing (seconds over a short span), one line; the caption says the span.
              values: (_u, ticks, _axis, _space, incr) => timeTickLabels(ticks, incr),
            },
            { ...axis, size: 70, values: (_u, ticks) => ticks.map((t) => `${t} ${unitLabel(unit)}`) },
          ],
          legend: { live: true },
        },
        chartColumns(props.points, unit),
        el,
      );
    };
    make();
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 260 }),
    );
    resize.observe(el);
    // Redrawn in the other palette when the reader's system switches between light and dark.
    const dark = matchMedia('(prefers-color-scheme: dark)');
    dark.addEventListener('change', make);
    return () => {
      resize.disconnect();
      dark.removeEventListener('change', make);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [unit]);

  useEffect(() => {
    plot.current?.setData(chartColumns(props.points, unit));
  }, [props.points, unit]);

  return (
    <figure class="chart">
      <div ref={box} role="img" aria-label={props.label} />
      <figcaption class="muted">
        Reserve at the bank (solid) and local money outstanding (dashed), {unitLabel(unit)}, over the last
        day.
      </figcaption>
    </figure>
  );
}
