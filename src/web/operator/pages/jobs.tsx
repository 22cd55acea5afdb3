/**
 * Jobs: parked deliveries with the one safe action (retry the same sealed delivery, after a
 * confirmation saying what it does), refused jobs with their reasons in words, and the jobs in flight
 * by state and age.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { formatMoney } from '../../../core/money-format.js';
import { Confirm, useFocusAfter } from '../../ui/confirm.js';
import { Message } from '../../ui/message.js';
import { reasonOf } from '../../ui/messages.js';
import { formatTime } from '../../ui/time.js';
import type { JobRow, ParkedJob } from '../api.js';
import { useConsole, useLoad } from '../context.js';
import { JobTable } from '../tables.js';
import { kindWords, parkedSentence, refusedJobSentence, retrySentence, stateWords } from '../words.js';

const IN_FLIGHT = ['issuing', 'receiving', 'delivering'] as const;

export function JobsPage() {
  const { unit } = useConsole();
  const [now, setNow] = useState(Date.now());
  const parked = useLoad((c) => c.api.parked());
  const refused = useLoad((c) => c.api.jobs('refused', 50));
  const flying = useLoad(async (c) => (await Promise.all(IN_FLIGHT.map((s) => c.api.jobs(s, 100)))).flat());
  /** What the last retry did: said here, since the retried job leaves the parked list. */
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const refresh = () => {
    setNow(Date.now());
    parked.reload();
    refused.reload();
    flying.reload();
  };
  return (
    <>
      <h1>Jobs</h1>
      <div class="row">
        <button type="button" onClick={refresh}>
          Refresh
        </button>
      </div>
      <section aria-labelledby="parked">
        <h2 id="parked">Parked deliveries</h2>
        <p class="muted">
          A payment or notice that no inbox accepted before the delivery deadline waits here, sealed, until
          you try it again.
        </p>
        {notice && (
          <Message kind={notice.ok ? 'ok' : 'bad'}>
            <p>{notice.text}</p>
          </Message>
        )}
        <Loading loaded={parked} empty="Nothing is parked.">
          {(jobs) => (
            <ul class="plain">
              {jobs.map((p) => (
                <ParkedItem
                  key={p.transferId}
                  job={p}
                  onDone={(text) => {
                    setNotice({ ok: true, text });
                    refresh();
                  }}
                />
              ))}
            </ul>
          )}
        </Loading>
      </section>
      <section aria-labelledby="refused">
        <h2 id="refused">Refused</h2>
        <Loading loaded={refused} empty="No job was refused.">
          {(jobs) => <RefusedTable jobs={jobs} now={now} />}
        </Loading>
      </section>
      <section aria-labelledby="in-flight">
        <h2 id="in-flight">In flight</h2>
        <Loading loaded={flying} empty="No job is in flight.">
          {(jobs) => (
            <JobTable
              caption="Jobs in flight, by state and age"
              jobs={[...jobs].sort((a, b) => a.createdAt - b.createdAt)}
              parked={new Set((parked.value ?? []).map((p) => p.transferId))}
              unit={unit}
              now={now}
            />
          )}
        </Loading>
      </section>
    </>
  );
}

function RefusedTable(props: { jobs: JobRow[]; now: number }) {
  const { unit } = useConsole();
  return (
    <JobTable
      caption="Refused jobs with their reasons"
      jobs={props.jobs}
      unit={unit}
      now={props.now}
      reason={(j) => refusedJobSentence(j, reasonOf)}
    />
  );
}

function Loading<T extends unknown[]>(props: {
  loaded: { value: T | undefined; error: string | undefined; loading: boolean };
  empty: string;
  children: (value: T) => ComponentChildren;
}) {
  const { value, error, loading } = props.loaded;
  if (error)
    return (
      <Message kind="bad">
        <p>{error}</p>
      </Message>
    );
  if (value === undefined) return <p class="muted">{loading ? 'Reading…' : ''}</p>;
  if (value.length === 0) return <p>{props.empty}</p>;
  return <>{props.children(value)}</>;
}

function ParkedItem(props: { job: ParkedJob; onDone: (said: string) => void }) {
  const c = useConsole();
  const p = props.job;
  const [asking, setAsking] = useState(false);
  const opener = useFocusAfter(asking);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const retry = async () => {
    setBusy(true);
    try {
      const s = await c.api.retryParked(p.transferId);
      setAsking(false);
      props.onDone(
        `Tried again: the ${p.delivery} of the ${formatMoney(p.amount, c.unit)} ${kindWords(p.kind, p.direction).toLowerCase()} is on its way again (${stateWords(s.state, p.kind)}). If no inbox takes it in time, it comes back to this list.`,
      );
    } catch (e) {
      setError(c.say(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <li>
      <p>
        <strong>
          {kindWords(p.kind, p.direction)} of {formatMoney(p.amount, c.unit)}
        </strong>
        {p.ref && <> (ref {p.ref})</>}, parked {formatTime(p.parkedAt)}
      </p>
      <p>{parkedSentence(p, c.unit)}</p>
      <p class="mono muted small">Job {p.transferId}</p>
      {p.lastError && (
        <details>
          <summary>The last answer, as the gateway recorded it</summary>
          <p class="mono small">{p.lastError}</p>
        </details>
      )}
      {error && (
        <Message kind="bad">
          <p>{error}</p>
        </Message>
      )}
      {asking ? (
        <Confirm
          title={p.delivery === 'payment' ? 'Retry this payment?' : 'Retry this notice?'}
          confirmLabel="Retry the delivery"
          busy={busy}
          onConfirm={retry}
          onCancel={() => setAsking(false)}
        >
          <p>{retrySentence(p, c.unit)}</p>
        </Confirm>
      ) : (
        <button type="button" ref={opener} onClick={() => setAsking(true)}>
          Retry…
        </button>
      )}
    </li>
  );
}
