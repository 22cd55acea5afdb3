/**
 * Settings: the gateway (where sends to the other network go; default the server's), the passphrase
 * that encrypts the wallet in this browser, the seed words shown again after a confirmation, and
 * erasing the wallet after a typed confirmation.
 */
import { useState } from 'preact/hooks';
import { formatMoney } from '../../core/money-format.js';
import { ErrorMessage, Message } from '../ui/message.js';
import { useAsync } from '../ui/use-async.js';
import type { PageProps } from './context.js';
import { splitWords } from './seed-check.js';
import { checkGateway, type PageConfig } from './session.js';
import { savedGateway, saveGateway, walletStorage } from './storage.js';

const ERASE_WORD = 'ERASE';

export function Settings({
  wallet,
  config,
  version,
  reopen,
  erased,
  passphrase,
  passphraseChanged,
}: PageProps & {
  reopen: () => Promise<void>;
  erased: () => void;
  passphrase: string | undefined;
  passphraseChanged: (p: string | undefined) => void;
}) {
  const unit = wallet.config.unit;
  const balance = useAsync(() => wallet.balance(), [wallet, version]);
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <GatewaySetting config={config} unit={unit} current={wallet.config.gateway} reopen={reopen} />
      <PassphraseSetting passphrase={passphrase} changed={passphraseChanged} />
      <SeedWords />
      <h2>Erase this wallet</h2>
      <EraseWallet
        balanceText={
          balance?.value
            ? formatMoney(balance.value.available + balance.value.pending, balance.value.unit)
            : '…'
        }
        erased={erased}
      />
    </section>
  );
}

function GatewaySetting({
  config,
  unit,
  current,
  reopen,
}: {
  config: PageConfig;
  unit: string;
  current: string | undefined;
  reopen: () => Promise<void>;
}) {
  const [url, setUrl] = useState(current ?? config.gateway ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState('');
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone('');
    try {
      if (url.trim() === '' || url.trim() === config.gateway) {
        saveGateway(undefined);
        setUrl(config.gateway ?? '');
        setDone(
          config.gateway ? "Using the server's gateway." : 'No gateway: sends go to this network only.',
        );
      } else {
        const base = await checkGateway(url, unit);
        saveGateway(base);
        setUrl(base);
        setDone(`Sends to the other network now go through ${base}.`);
      }
      await reopen();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h2>Gateway</h2>
      <p class="muted">
        The gateway converts money between the LAN and the WAN. The server suggests{' '}
        {config.gateway ? <span class="mono">{config.gateway}</span> : 'none'}
        {savedGateway() ? '; you chose another one.' : '.'}
      </p>
      <form onSubmit={save} noValidate>
        <label for="gateway">Gateway URL</label>
        <input
          id="gateway"
          type="url"
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
          autocomplete="off"
          aria-describedby="gateway-help"
        />
        <p id="gateway-help" class="muted">
          Leave it empty to use the server's. The wallet checks that it answers before using it.
        </p>
        {error !== undefined && <ErrorMessage error={error} />}
        {done && (
          <Message kind="ok">
            <p>{done}</p>
          </Message>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Save the gateway'}
        </button>
      </form>
    </>
  );
}

function PassphraseSetting({
  passphrase,
  changed,
}: {
  passphrase: string | undefined;
  changed: (p: string | undefined) => void;
}) {
  const storage = walletStorage();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState('');
  if (!storage.canEncrypt()) {
    return (
      <>
        <h2>Passphrase</h2>
        <p class="muted">
          {storage.persistent
            ? 'A passphrase needs a secure connection (https, or this computer itself); this page has none.'
            : 'This browser keeps the wallet in memory only, so there is nothing to encrypt.'}
        </p>
      </>
    );
  }
  const has = passphrase !== undefined;
  const save = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setDone('');
    if (has && current !== passphrase)
      return setProblem('The current passphrase is not the one this wallet has.');
    if (next !== repeat) return setProblem('The two new passphrases differ: type the same one twice.');
    if (!has && next === '') return setProblem('Type a passphrase to set.');
    setProblem('');
    setBusy(true);
    try {
      const value = next === '' ? undefined : next;
      await storage.setPassphrase(value);
      changed(value);
      setDone(
        value === undefined
          ? 'The passphrase is removed: the wallet opens without one in this browser.'
          : 'The passphrase is set: the wallet is stored encrypted and asks for it each time it opens.',
      );
      setCurrent('');
      setNext('');
      setRepeat('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h2>Passphrase</h2>
      <p class="muted">
        {has
          ? 'The wallet is stored encrypted with your passphrase. Change it here, or leave the new one empty to remove it.'
          : 'Set a passphrase to store the wallet encrypted in this browser; it is asked each time the wallet opens.'}
      </p>
      <form onSubmit={save}>
        {has && (
          <>
            <label for="pass-current">Current passphrase</label>
            <input
              id="pass-current"
              type="password"
              autocomplete="current-password"
              value={current}
              onInput={(e) => setCurrent(e.currentTarget.value)}
            />
          </>
        )}
        <label for="pass-new">New passphrase</label>
        <input
          id="pass-new"
          type="password"
          autocomplete="new-password"
          value={next}
          onInput={(e) => setNext(e.currentTarget.value)}
        />
        <label for="pass-repeat">Type the new one again</label>
        <input
          id="pass-repeat"
          type="password"
          autocomplete="new-password"
          value={repeat}
          onInput={(e) => setRepeat(e.currentTarget.value)}
        />
        {problem && <p class="bad">{problem}</p>}
        {error !== undefined && <ErrorMessage error={error} />}
        {done && (
          <Message kind="ok">
            <p>{done}</p>
          </Message>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Encrypting…' : has ? 'Change the passphrase' : 'Set the passphrase'}
        </button>
      </form>
    </>
  );
}

function SeedWords() {
  const storage = walletStorage();
  const [step, setStep] = useState<'hidden' | 'confirm' | 'shown'>('hidden');
  const words = useAsync(async () => (step === 'shown' ? storage.words() : undefined), [step]);
  return (
    <>
      <h2>Seed words</h2>
      {step === 'hidden' && (
        <button type="button" onClick={() => setStep('confirm')}>
          Show the seed words
        </button>
      )}
      {step === 'confirm' && (
        <div class="card">
          <p>
            Anyone who sees these words can take all the money of this wallet. Make sure nobody is looking at
            your screen.
          </p>
          <div class="row">
            <button type="button" class="primary" onClick={() => setStep('shown')}>
              Yes, show them
            </button>
            <button type="button" onClick={() => setStep('hidden')}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {step === 'shown' &&
        (words?.value ? (
          <>
            <ol class="words card" aria-label="Seed words, in order">
              {splitWords(words.value).map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ol>
            <button type="button" onClick={() => setStep('hidden')}>
              Hide the seed words
            </button>
          </>
        ) : words ? (
          <p class="muted">
            This browser did not keep the words (the wallet was made before they were kept). Use the copy you
            wrote down.
          </p>
        ) : null)}
    </>
  );
}

function EraseWallet({ balanceText, erased }: { balanceText: string; erased: () => void }) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const erase = async (e: Event) => {
    e.preventDefault();
    if (typed.trim() !== ERASE_WORD) return;
    try {
      await walletStorage().erase();
      erased();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={erase}>
      <p>
        This wallet holds <strong>{balanceText}</strong>. Erasing it removes its money from this browser: only
        its seed words can bring it back. Send the money elsewhere first, or make sure you have the words.
      </p>
      <label for="erase-confirm">Type {ERASE_WORD} to confirm</label>
      <input
        id="erase-confirm"
        value={typed}
        autocomplete="off"
        onInput={(e) => setTyped(e.currentTarget.value)}
      />
      {error !== undefined && <ErrorMessage error={error} />}
      <p>
        <button type="submit" class="danger" disabled={typed.trim() !== ERASE_WORD}>
          Erase this wallet
        </button>
      </p>
    </form>
  );
}
