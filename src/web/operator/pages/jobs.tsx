/**
 * Jobs: parked deliveries with the actions that are safe, each after a confirmation saying what it
 * does (retry the same sealed delivery; abandon a notice, never a payment), refused jobs with their
 * reasons in words, and the jobs in flight by state and age.
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
import {
  abandonedSentence,
  abandonSentence,
  canAbandon,
  kindInSentence,
  kindWords,
  parkedSentence,
  refusedJobSentence,
  retrySentence,
  stateWords,
} from '../words.js';

const IN_FLIGHT = ['issuing', 'receiving', 'delivering'] as const;

export function JobsPage() {
  const { unit } = useConsole();
  const [now, setNow] = useState(Date.now());
  const parked = useLoad((c) => c.api.parked());
  const refused = useLoad((c) => c.api.jobs('refused', 50));
  const flying = useLoad(async (c) => (await Promise.all(IN_FLIGHT.map((s) => c.api.jobs(s, 100)))).flat());
  /** What the last retry or abandon did: said here, since the job leaves the parked list. */
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
          you try it again. A notice (telling a sender how a transfer ended) may also be abandoned; a payment
          may not.
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
  /** The action whose confirmation is open: retry (any parked job) or abandon (a notice only). */
  const [asking, setAsking] = useState<'retry' | 'abandon' | undefined>(undefined);
  const retryOpener = useFocusAfter(asking === 'retry');
  const abandonOpener = useFocusAfter(asking === 'abandon');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const act = async (action: () => Promise<string>) => {
    setBusy(true);
    try {
      const said = await action();
      setAsking(undefined);
      props.onDone(said);
    } catch (e) {
      setError(c.say(e));
    } finally {
      setBusy(false);
    }
  };
  const retry = () =>
    act(async () => {
      const s = await c.api.retryParked(p.transferId);
      return `Tried again: the ${p.delivery} of the ${formatMoney(p.amount, c.unit)} ${kindInSentence(p.kind, p.direction)} is on its way again (${stateWords(s.state, p.kind)}). If no inbox takes it in time, it comes back to this list.`;
    });
  const abandon = () =>
    act(async () => {
      await c.api.abandonParked(p.transferId);
      return abandonedSentence(p, c.unit);
    });
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
      {asking === 'retry' ? (
        <Confirm
          title={p.delivery === 'payment' ? 'Retry this payment?' : 'Retry this notice?'}
          confirmLabel="Retry the delivery"
          busy={busy}
          onConfirm={retry}
          onCancel={() => setAsking(undefined)}
        >
          <p>{retrySentence(p, c.unit)}</p>
        </Confirm>
      ) : asking === 'abandon' ? (
        <Confirm
          title="Abandon this notice?"
          confirmLabel="Abandon the notice"
          busy={busy}
          onConfirm={abandon}
          onCancel={() => setAsking(undefined)}
        >
          <p>{abandonSentence(p, c.unit)}</p>
        </Confirm>
      ) : (
        <div class="row">
          <button type="button" ref={retryOpener} onClick={() => setAsking('retry')}>
            Retry…
          </button>
          {canAbandon(p) && (
            <button type="button" ref={abandonOpener} onClick={() => setAsking('abandon')}>
              Abandon…
            </button>
          )}
        </div>
      )}
    </li>
  );
}
