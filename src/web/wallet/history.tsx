/**
 * History: every operation of the wallet, newest first, in words, amounts in major units. An open
 * token or payment can be taken back from here (the CLI's `cancel`), after saying what that does.
 */
import { useState } from 'preact/hooks';
import { ErrorMessage, Message } from '../ui/message.js';
import { useAsync } from '../ui/use-async.js';
import type { PageProps } from './context.js';
import { serial } from './session.js';
import { cancelOutcome, type HistoryLine, historyLines } from './words.js';

export function History({ wallet, version, changed }: PageProps) {
  const unit = wallet.config.unit;
  const ops = useAsync(() => wallet.history(), [wallet, version]);
  const lines = ops?.value ? historyLines(ops.value, unit) : [];
  const [asking, setAsking] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  const takeBack = async (line: HistoryLine) => {
    setBusy(true);
    setError(undefined);
    setOutcome(undefined);
    try {
      setOutcome(cancelOutcome(await serial(() => wallet.cancel(line.id)), unit));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setAsking(undefined);
      changed();
    }
  };

  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">History</h1>
      {ops?.error !== undefined && <ErrorMessage error={ops.error} />}
      {error !== undefined && <ErrorMessage error={error} />}
      {outcome && (
        <Message kind={outcome.ok ? 'ok' : 'bad'}>
          <p>{outcome.text}</p>
        </Message>
      )}
      {ops?.value && lines.length === 0 && <p class="muted">Nothing yet: payments in and out appear here.</p>}
      <ul class="plain">
        {lines.map((l) => (
          <li key={l.id}>
            <div class="row" style="justify-content: space-between">
              <span>{l.what}</span>
              <strong class={`amount ${l.amount.startsWith('+') ? 'ok' : ''}`}>{l.amount}</strong>
            </div>
            <div class="muted">
              <time dateTime={new Date(l.at).toISOString()}>{new Date(l.at).toLocaleString()}</time> ·{' '}
              {l.state}
            </div>
            {l.note && <div class="muted">{l.note}</div>}
            {l.cancellable && asking !== l.id && (
              <button type="button" onClick={() => setAsking(l.id)}>
                Take back {l.amount.slice(1)}
              </button>
            )}
            {asking === l.id && (
              <div class="card">
                <p>
                  Take back {l.amount.slice(1)}? If nobody has collected it yet, the money returns to your
                  balance and the {l.what.startsWith('Token') ? 'token' : 'payment'} is worth nothing. If it
                  was collected already, it stays theirs.
                </p>
                <div class="row">
                  <button type="button" class="primary" disabled={busy} onClick={() => takeBack(l)}>
                    {busy ? 'Taking it back…' : 'Yes, take it back'}
                  </button>
                  <button type="button" onClick={() => setAsking(undefined)}>
                    Keep it
                  </button>
                </div>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
