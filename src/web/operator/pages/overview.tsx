/**
 * Overview: the reserve at the bank against the local money outstanding — now, in words, and over
 * the last day, as a chart from the gateway's series — and the jobs by state with the oldest's age.
 * Live: the operator's event stream (`ui/live.ts`) brings each reserve point and job change; the
 * figures are then read again, and each reading adds a point to the chart.
 */
import { useEffect, useState } from 'preact/hooks';
import { decode } from '../../../core/protocol/cashu.js';
import { subscribe } from '../../ui/live.js';
import { formatTime } from '../../ui/time.js';
import { OPERATOR_EVENTS_PATH, ReservePoint, type Summary } from '../api.js';
import { ReserveChart } from '../chart.js';
import { useConsole } from '../context.js';
import { appendPoint } from '../series.js';
import { JobsByState } from '../tables.js';
import { balanceSentence } from '../words.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Events come in bursts (a job's steps): the figures are read once per burst. */
const SETTLE_MS = 300;
/** The ages in the table move on even when nothing happens. */
const TICK_MS = 15_000;
/** Points kept in the chart: a day at the sampler's pace is far below this. */
const MAX_POINTS = 5000;

type Link = 'connecting' | 'live' | 'reconnecting';

export function OverviewPage() {
  const c = useConsole();
  const [summary, setSummary] = useState<Summary | undefined>(undefined);
  const [points, setPoints] = useState<ReservePoint[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [link, setLink] = useState<Link>('connecting');
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const stop = new AbortController();
    const add = (p: ReservePoint) => setPoints((ps) => appendPoint(ps, p, MAX_POINTS));
    const read = async () => {
      try {
        const s = await c.api.summary();
        if (stop.signal.aborted) return;
        setSummary(s);
        setNow(Date.now());
        setError(undefined);
        add({ at: s.at, reserve: s.reserve, outstanding: s.outstanding });
      } catch (e) {
        if (!stop.signal.aborted) setError(c.say(e));
      }
    };
    let soon: ReturnType<typeof setTimeout> | undefined;
    const readSoon = () => {
      clearTimeout(soon);
      soon = setTimeout(read, SETTLE_MS);
    };
    // On every (re)connection: the whole day again, so nothing missed while away stays missed.
    const reload = async () => {
      try {
        const ps = await c.api.series(Date.now() - DAY_MS);
        if (!stop.signal.aborted) setPoints(ps.slice(-MAX_POINTS));
      } catch (e) {
        if (!stop.signal.aborted) setError(c.say(e));
      }
      await read();
    };
    subscribe(`${c.api.base}${OPERATOR_EVENTS_PATH}`, {
      headers: c.api.headers(),
      signal: stop.signal,
      onOpen: () => {
        setLink('live');
        void reload();
      },
      onDisconnect: () => setLink('reconnecting'),
      onEvent: (type, data) => {
        if (type === 'reserve') add(decode(ReservePoint, data, 'event'));
        if (type === 'reserve' || type === 'job') readSoon();
      },
    }).catch((e: unknown) => setError(c.say(e)));
    const tick = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => {
      stop.abort();
      clearTimeout(soon);
      clearInterval(tick);
    };
  }, [c]);

  const sentence = summary && balanceSentence(summary);
  return (
    <>
      <h1>Overview</h1>
      {error && (
        <p class="bad" role="alert">
          {error}
        </p>
      )}
      <section class="card" aria-labelledby="figures">
        <h2 id="figures">Local money and its backing</h2>
        {sentence ? (
          <>
            <p
              class={`figures ${sentence.balanced === true ? 'ok' : sentence.balanced === false ? 'warn' : 'bad'}`}
              aria-live="polite"
            >
              {sentence.text}
            </p>
            <p class="muted">
              As of {formatTime(summary.at)}.{' '}
              {link === 'live'
                ? 'Live: the figures follow every job as it moves.'
                : link === 'reconnecting'
                  ? 'The live link to the gateway dropped; reconnecting…'
                  : 'Connecting to the gateway…'}
            </p>
          </>
        ) : (
          <p class="muted">Reading the figures…</p>
        )}
        <ReserveChart
          points={points}
          unit={c.unit}
          label={
            sentence
              ? `Chart of the last day. ${sentence.text}`
              : 'Chart of the reserve and the local money over the last day'
          }
        />
      </section>
      <section aria-labelledby="by-state">
        <h2 id="by-state">By kind and state</h2>
        {summary ? <JobsByState jobs={summary.jobs} now={now} /> : <p class="muted">Reading the jobs…</p>}
      </section>
    </>
  );
}
