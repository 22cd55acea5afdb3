/**
 * A terminal's history: every conversion a terminal sent or received through the gateway, newest
 * first, found by its address (`lan1…`/`wan1…`, decoded to its key) or by the key itself.
 */
import { useState } from 'preact/hooks';
import { formatMoney } from '../../../core/money-format.js';
import { Message } from '../../ui/message.js';
import { reasonOf } from '../../ui/messages.js';
import { formatTime } from '../../ui/time.js';
import type { HistoryEntry } from '../api.js';
import { useConsole } from '../context.js';
import { kindWords, shortAddress, stateWords, terminalKey } from '../words.js';

export function HistoryPage() {
  const c = useConsole();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [found, setFound] = useState<{ key: string; entries: HistoryEntry[] } | undefined>(undefined);
  const show = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const { key } = terminalKey(text);
      setFound({ key, entries: await c.api.history(key) });
    } catch (err) {
      setError(c.say(err));
      setFound(undefined);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>Terminal history</h1>
      <form onSubmit={show}>
        <label for="terminal">Terminal address or key</label>
        <input
          id="terminal"
          class="mono"
          spellcheck={false}
          autocomplete="off"
          placeholder="lan1… or wan1…"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-describedby="terminal-help"
        />
        <p id="terminal-help" class="muted">
          Paste the address the wallet shows, or the terminal's key (64 hexadecimal characters).
        </p>
        <button type="submit" class="primary" disabled={busy || text.trim() === ''}>
          {busy ? 'Reading…' : 'Show the history'}
        </button>
      </form>
      {error && (
        <Message kind="bad">
          <p>{error}</p>
        </Message>
      )}
      {found && <Entries key={found.key} terminal={found.key} entries={found.entries} unit={c.unit} />}
    </>
  );
}

function Entries(props: { terminal: string; entries: HistoryEntry[]; unit: string }) {
  if (props.entries.length === 0)
    return <p role="status">This terminal has no conversions through the gateway.</p>;
  return (
    <section aria-labelledby="found">
      <h2 id="found">
        {props.entries.length} {props.entries.length === 1 ? 'conversion' : 'conversions'}, newest first
      </h2>
      <p class="mono muted small">Key {props.terminal}</p>
      <ul class="plain">
        {props.entries.map((h) => {
          const sent = h.sender.toLowerCase() === props.terminal;
          return (
            <li key={h.transferId}>
              <p>
                <strong>
                  {sent ? 'Sent' : 'Received'} {formatMoney(h.amount, props.unit)}
                </strong>{' '}
                — {kindWords(h.kind, h.direction)}
                {h.ref && <> (ref {h.ref})</>}, {formatTime(h.createdAt)}
              </p>
              <p>
                {sent ? (
                  <>
                    To <span class="mono">{shortAddress(h.destination)}</span>:{' '}
                  </>
                ) : null}
                {sent ? stateWords(h.state, h.kind) : capitalized(stateWords(h.state, h.kind))}
                {h.state === 'refused' && h.refusal ? ` — ${reasonOf(h.refusal.code, h.refusal.detail)}` : ''}
                {h.parkedAt !== undefined && ` — delivery parked since ${formatTime(h.parkedAt)} (see Jobs)`}
              </p>
              {h.events.length > 0 && (
                <details>
                  <summary>Steps ({h.events.length})</summary>
                  <ol class="steps">
                    {h.events.map((ev) => (
                      <li key={ev.seq}>
                        {formatTime(ev.at)}: {stateWords(ev.from, h.kind)} → {stateWords(ev.to, h.kind)}
                        {ev.detail && <span class="muted"> ({ev.detail})</span>}
                      </li>
                    ))}
                  </ol>
                </details>
              )}
              <p class="mono muted small">Job {h.transferId}</p>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
