/**
 * The console's tables. Each cell carries its column's name (`data-label`), so at phone width the
 * rows stack into labelled cards (console.css) instead of scrolling sideways.
 */
import { formatMoney } from '../../core/money-format.js';
import { formatAge, formatTime } from '../ui/time.js';
import type { JobRow, Summary } from './api.js';
import { kindWords, shortAddress, stateWords } from './words.js';

export function JobsByState(props: { jobs: Summary['jobs']; now: number }) {
  if (props.jobs.length === 0) return <p>No jobs yet.</p>;
  return (
    <table class="stack">
      <caption class="sr-only">Jobs by kind and state, with the age of the oldest</caption>
      <thead>
        <tr>
          <th scope="col">Kind</th>
          <th scope="col">State</th>
          <th scope="col" class="num">
            Jobs
          </th>
          <th scope="col">Oldest</th>
        </tr>
      </thead>
      <tbody>
        {props.jobs.map((j) => (
          <tr key={`${j.kind}:${j.state}`}>
            <td data-label="Kind">{kindWords(j.kind)}</td>
            <td data-label="State">{stateWords(j.state, j.kind)}</td>
            <td data-label="Jobs" class="num">
              {j.count}
            </td>
            <td data-label="Oldest">
              {j.state === 'done' || j.state === 'refused'
                ? formatTime(j.oldestAt)
                : `${formatAge(j.oldestAt, props.now)} old`}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Jobs in flight or refused: what, how much, to whom, since when, and (refused) why. */
export function JobTable(props: {
  caption: string;
  jobs: readonly JobRow[];
  unit: string;
  now: number;
  reason?: (j: JobRow) => string;
  /** Jobs whose delivery is parked (they stay `delivering` in the journal). */
  parked?: ReadonlySet<string>;
}) {
  return (
    <table class="stack">
      <caption class="sr-only">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col" class="num">
            Amount
          </th>
          <th scope="col">To</th>
          <th scope="col">{props.reason ? 'When' : 'State and age'}</th>
          {props.reason && <th scope="col">Why</th>}
        </tr>
      </thead>
      <tbody>
        {props.jobs.map((j) => (
          <tr key={j.transferId}>
            <td data-label="Job">
              <div>
                {kindWords(j.kind, j.direction)}
                <div class="mono muted small" title="Job id">
                  {j.transferId}
                </div>
              </div>
            </td>
            <td data-label="Amount" class="num amount">
              {formatMoney(j.amount, props.unit)}
            </td>
            <td data-label="To" class="mono nowrap" title={j.destination}>
              {shortAddress(j.destination)}
            </td>
            <td data-label={props.reason ? 'When' : 'State and age'}>
              {props.reason
                ? formatTime(j.updatedAt)
                : `${props.parked?.has(j.transferId) ? 'parked, waiting for your retry' : stateWords(j.state, j.kind)}, ${formatAge(j.createdAt, props.now)} old`}
            </td>
            {props.reason && <td data-label="Why">{props.reason(j)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
