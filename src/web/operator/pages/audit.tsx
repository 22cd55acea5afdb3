/**
 * Audit on demand: the gateway checks that the reserve at the bank backs every note of local money,
 * job by job, and the report is shown in words — prominently when it holds, otherwise each difference
 * with its amounts and the rows it concerns.
 */
import { useState } from 'preact/hooks';
import { formatMoney } from '../../../core/money-format.js';
import { Message } from '../../ui/message.js';
import { formatTime } from '../../ui/time.js';
import type { AuditReport } from '../api.js';
import { useConsole } from '../context.js';
import { differenceSentence, kindWords, stateWords } from '../words.js';

export function AuditPage() {
  const c = useConsole();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [report, setReport] = useState<{ at: number; report: AuditReport } | undefined>(undefined);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setReport({ at: Date.now(), report: await c.api.audit() });
    } catch (e) {
      setError(c.say(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>Audit</h1>
      <p>
        The audit checks, job by job, that the reserve at the wide bank backs every note of local money the
        gateway has issued, allowing for jobs in flight. It only reads; it changes nothing.
      </p>
      <button type="button" class="primary" onClick={run} disabled={busy}>
        {busy ? 'Running the audit…' : 'Run the audit'}
      </button>
      {error && (
        <Message kind="bad">
          <p>{error}</p>
        </Message>
      )}
      <div aria-live="polite">{report && <Report at={report.at} report={report.report} unit={c.unit} />}</div>
    </>
  );
}

function Report(props: { at: number; report: AuditReport; unit: string }) {
  const { report: r, unit } = props;
  const m = (n: number) => formatMoney(n, unit);
  const t = r.totals;
  return (
    <section class="card" aria-labelledby="audit-result">
      {r.balanced ? (
        <p id="audit-result" class="big ok">
          Balanced
        </p>
      ) : (
        <p id="audit-result" class="big bad">
          {r.differences.length} {r.differences.length === 1 ? 'difference' : 'differences'} found
        </p>
      )}
      <p class="muted">Run {formatTime(props.at)}.</p>
      {t && (
        <p>
          Reserve at the bank {m(t.reserve)}; it should hold {m(t.expectedReserve)}: local money outstanding{' '}
          {m(t.local.outstanding)}
          {t.surplus &&
            t.surplus.unclaimedDeposits !== 0 &&
            `, plus deposits not yet issued as payroll ${m(t.surplus.unclaimedDeposits)}`}
          {t.surplus &&
            t.surplus.other > 0 &&
            `, plus money paid into the reserve from outside ${m(t.surplus.other)}`}
          {t.surplus &&
            t.surplus.other < 0 &&
            `, less money taken out of the reserve outside the gateway ${m(-t.surplus.other)}`}
          {r.inFlight && r.inFlight.length > 0 && `, and ${r.inFlight.length} jobs in flight`}. {t.jobs}{' '}
          {t.jobs === 1 ? 'job' : 'jobs'} checked.
        </p>
      )}
      {r.differences.length > 0 && (
        <>
          <h2>Differences</h2>
          <ul class="plain">
            {r.differences.map((d) => (
              <li key={`${d.what}:${d.rows.join(',')}`}>
                <p>{differenceSentence(d, unit)}</p>
                {d.rows.length > 0 && (
                  <details>
                    <summary>Rows concerned ({d.rows.length})</summary>
                    <ul class="mono small">
                      {d.rows.map((row) => (
                        <li key={row}>{row}</li>
                      ))}
                    </ul>
                  </details>
                )}
              </li>
            ))}
          </ul>
          <p>
            Stop issuing and paying out until each difference is explained; docs/gateway.md (“Invariant 2”)
            says what each one means and how to repair it.
          </p>
        </>
      )}
      {r.inFlight && r.inFlight.length > 0 && (
        <details>
          <summary>Jobs in flight ({r.inFlight.length})</summary>
          <ul class="small">
            {r.inFlight.map((j) => (
              <li key={j.job}>
                {kindWords(
                  j.kind === 'job1' ? 'transfer' : j.kind === 'job2' ? 'transfer' : j.kind,
                  j.kind === 'job1' ? 'lan-to-wan' : 'wan-to-lan',
                )}{' '}
                {stateWords(j.state, j.kind)}: {j.correction >= 0 ? '+' : '−'}
                {m(Math.abs(j.correction))} on the reserve <span class="mono muted">{j.job}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      {r.checked && r.checked.length > 0 && (
        <details>
          <summary>What this audit checked ({r.checked.length})</summary>
          <ul class="small">
            {r.checked.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </details>
      )}
      {r.notChecked && r.notChecked.length > 0 && (
        <details>
          <summary>What this audit could not check ({r.notChecked.length})</summary>
          <ul class="small">
            {r.notChecked.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
