/**
 * Keysets: the local mint's keysets, and rotating to a new one (after a confirmation that says what
 * rotation does and does not do). Rotation moves no value: it changes the keys new notes are signed with.
 */
import { useState } from 'preact/hooks';
import { formatMoney } from '../../../core/money-format.js';
import { Confirm, useFocusAfter } from '../../ui/confirm.js';
import { Message } from '../../ui/message.js';
import { useConsole, useLoad } from '../context.js';

export function KeysetsPage() {
  const c = useConsole();
  const keysets = useLoad((c) => c.api.keysets());
  const [asking, setAsking] = useState(false);
  const opener = useFocusAfter(asking);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const rotate = async () => {
    setBusy(true);
    try {
      const r = await c.api.rotate();
      setResult({
        ok: true,
        text: `Rotated: new local notes are now signed with keyset ${r.active.id}. Notes of keyset ${r.previous} stay valid.`,
      });
      setAsking(false);
      keysets.reload();
    } catch (e) {
      setResult({ ok: false, text: c.say(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>Keysets</h1>
      <p>The local mint signs local money with the keys of its active keyset.</p>
      {keysets.error && (
        <Message kind="bad">
          <p>{keysets.error}</p>
        </Message>
      )}
      {keysets.value && (
        <table class="stack">
          <caption class="sr-only">The local mint's keysets</caption>
          <thead>
            <tr>
              <th scope="col">Keyset</th>
              <th scope="col">Unit</th>
              <th scope="col">Signs new notes</th>
              <th scope="col" class="num">
                Local money under it
              </th>
            </tr>
          </thead>
          <tbody>
            {keysets.value.map((k) => (
              <tr key={k.id}>
                <td data-label="Keyset" class="mono">
                  {k.id}
                </td>
                <td data-label="Unit">{k.unit.toUpperCase()}</td>
                <td data-label="Signs new notes">
                  {k.active ? 'yes (active)' : 'no (old notes are still taken)'}
                </td>
                <td data-label="Local money under it" class="num amount">
                  {formatMoney(k.outstanding, k.unit)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result && (
        <Message kind={result.ok ? 'ok' : 'bad'}>
          <p>{result.text}</p>
        </Message>
      )}
      {asking ? (
        <Confirm
          title="Rotate the keyset?"
          level={2}
          confirmLabel="Rotate now"
          busy={busy}
          onConfirm={rotate}
          onCancel={() => setAsking(false)}
        >
          <p>
            The local mint makes a new keyset and signs all new local money with it from now on. Notes signed
            with the current keyset stay valid: wallets exchange them for new ones as they spend them. No
            money moves and no balance changes. Do it when a key may have been exposed, or on your regular
            schedule.
          </p>
        </Confirm>
      ) : (
        <button type="button" ref={opener} onClick={() => setAsking(true)}>
          Rotate the keyset…
        </button>
      )}
    </>
  );
}
