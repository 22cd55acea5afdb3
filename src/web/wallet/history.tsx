/** History: every operation of the wallet, newest first, in words, amounts in major units. */
import { ErrorMessage } from '../ui/message.js';
import { useAsync } from '../ui/use-async.js';
import type { PageProps } from './context.js';
import { historyLines } from './words.js';

export function History({ wallet, version }: PageProps) {
  const ops = useAsync(() => wallet.history(), [wallet, version]);
  const lines = ops?.value ? historyLines(ops.value, wallet.config.unit) : [];
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">History</h1>
      {ops?.error !== undefined && <ErrorMessage error={ops.error} />}
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
          </li>
        ))}
      </ul>
    </section>
  );
}
