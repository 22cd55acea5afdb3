/**
 * The first visit: create a new wallet (its seed words shown once, then three of them typed back, the
 * check that they were written down) or restore one from its seed words (the CLI's `restore`: the
 * wallet of the words, then its notes found at the mint, and what was found said in words).
 */
import { useState } from 'preact/hooks';
import { formatMoney } from '../../core/money-format.js';
import { newMnemonic, type RestoreSummary, seedFromMnemonic, type Wallet } from '../../wallet/index.js';
import { useStepFocus } from '../ui/focus.js';
import { ErrorMessage, Message } from '../ui/message.js';
import { mismatchSentence, pickPositions, splitWords, wrongPositions } from './seed-check.js';
import { createWallet, type PageConfig, restoreWallet } from './session.js';
import { walletStorage } from './storage.js';
import { networkWords } from './words.js';

type Step =
  | { at: 'choose' }
  | { at: 'words'; words: string }
  | { at: 'check'; words: string; positions: number[] }
  | { at: 'restore' }
  | { at: 'restored'; wallet: Wallet; found: RestoreSummary };

export function Welcome({ config, onReady }: { config: PageConfig; onReady: (w: Wallet) => void }) {
  const [step, setStep] = useState<Step>({ at: 'choose' });
  const main = useStepFocus<HTMLElement>(step.at);
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [checkProblem, setCheckProblem] = useState('');
  const pass = passphrase === '' ? undefined : passphrase;
  const passProblem =
    passphrase !== repeat ? 'The two passphrases differ: type the same one twice.' : undefined;

  const passFields = !walletStorage().canEncrypt() ? (
    <p class="muted">
      A passphrase needs a secure connection (https, or this computer itself); this page has none, so the
      wallet is stored unencrypted in this browser.
    </p>
  ) : (
    <fieldset class="card">
      <legend>Optional: protect the wallet in this browser</legend>
      <p class="muted">
        With a passphrase, the wallet is stored encrypted and asks for it each time it opens. Without one,
        anyone using this browser can open it.
      </p>
      <label for="passphrase">Passphrase</label>
      <input
        id="passphrase"
        type="password"
        autocomplete="new-password"
        value={passphrase}
        onInput={(e) => setPassphrase(e.currentTarget.value)}
      />
      <label for="passphrase-repeat">Type it again</label>
      <input
        id="passphrase-repeat"
        type="password"
        autocomplete="new-password"
        value={repeat}
        onInput={(e) => setRepeat(e.currentTarget.value)}
      />
      {passProblem && repeat !== '' && <p class="bad">{passProblem}</p>}
    </fieldset>
  );

  if (step.at === 'choose') {
    return (
      <main ref={main}>
        <h1 data-focus tabIndex={-1}>
          Welcome to your lancash wallet
        </h1>
        <p>
          This wallet holds money of your organisation's bank on the {networkWords(config.network)}. There is
          no wallet in this browser yet.
        </p>
        {!walletStorage().persistent && (
          <Message kind="info">
            <p>
              This build keeps the wallet only while the page is open: write your seed words down to restore
              it.
            </p>
          </Message>
        )}
        <div class="row">
          <button
            type="button"
            class="primary"
            onClick={() => setStep({ at: 'words', words: newMnemonic() })}
          >
            Create a new wallet
          </button>
          <button type="button" onClick={() => setStep({ at: 'restore' })}>
            Restore from seed words
          </button>
        </div>
      </main>
    );
  }

  if (step.at === 'words') {
    return (
      <main ref={main}>
        <h1 data-focus tabIndex={-1}>
          Your seed words
        </h1>
        <p>
          Write these 12 words down on paper, in order, and keep them safe. They are the only way to get this
          wallet back if this browser is lost. <strong>They are shown only now.</strong> Anyone who has them
          can take the money.
        </p>
        <ol class="words card" aria-label="Seed words, in order">
          {splitWords(step.words).map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ol>
        <div class="row">
          <button
            type="button"
            class="primary"
            onClick={() => setStep({ at: 'check', words: step.words, positions: pickPositions(12) })}
          >
            I have written them down
          </button>
          <button type="button" onClick={() => setStep({ at: 'choose' })}>
            Back
          </button>
        </div>
      </main>
    );
  }

  if (step.at === 'check') {
    const submit = async (e: Event) => {
      e.preventDefault();
      const form = e.currentTarget as HTMLFormElement;
      const answers: Record<number, string> = {};
      for (const p of step.positions)
        answers[p] = (form.elements.namedItem(`word-${p}`) as HTMLInputElement).value;
      const wrong = wrongPositions(step.words, answers);
      if (wrong.length > 0) {
        setError(undefined);
        setCheckProblem(
          `${mismatchSentence(wrong)} Look at what you wrote down, or go back to see the words again.`,
        );
        return;
      }
      if (passProblem) return;
      setCheckProblem('');
      setBusy(true);
      setError(undefined);
      try {
        onReady(await createWallet(config, step.words, pass));
      } catch (err) {
        setError(err);
      } finally {
        setBusy(false);
      }
    };
    return (
      <main ref={main}>
        <h1 data-focus tabIndex={-1}>
          Check your seed words
        </h1>
        <p>Type these words from what you wrote down, to make sure they are right.</p>
        <form onSubmit={submit}>
          {step.positions.map((p) => (
            <div key={p}>
              <label for={`word-${p}`}>Word {p}</label>
              <input
                id={`word-${p}`}
                name={`word-${p}`}
                autocomplete="off"
                autocapitalize="none"
                spellcheck={false}
              />
            </div>
          ))}
          {passFields}
          {checkProblem && <p class="bad">{checkProblem}</p>}
          {error !== undefined && <ErrorMessage error={error} />}
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Creating the wallet…' : 'Check and create the wallet'}
            </button>
            <button type="button" onClick={() => setStep({ at: 'words', words: step.words })}>
              Show the words again
            </button>
          </div>
        </form>
      </main>
    );
  }

  if (step.at === 'restore') {
    const submit = async (e: Event) => {
      e.preventDefault();
      const words = ((e.currentTarget as HTMLFormElement).elements.namedItem('seed') as HTMLTextAreaElement)
        .value;
      try {
        seedFromMnemonic(words);
      } catch {
        setCheckProblem(
          `These are not valid seed words (${splitWords(words).length} words read). Type the 12 or 24 words in order, separated by spaces.`,
        );
        return;
      }
      if (passProblem) return;
      setCheckProblem('');
      setBusy(true);
      setError(undefined);
      try {
        const { wallet, found } = await restoreWallet(config, splitWords(words).join(' '), pass);
        setStep({ at: 'restored', wallet, found });
      } catch (err) {
        setError(err);
      } finally {
        setBusy(false);
      }
    };
    return (
      <main ref={main}>
        <h1 data-focus tabIndex={-1}>
          Restore a wallet
        </h1>
        <p>
          Type the seed words you wrote down when the wallet was created. The wallet then asks the bank which
          money belongs to them.
        </p>
        <form onSubmit={submit}>
          <label for="seed">Seed words</label>
          <textarea
            id="seed"
            name="seed"
            rows={3}
            autocomplete="off"
            autocapitalize="none"
            spellcheck={false}
            aria-describedby="seed-help"
          />
          <p id="seed-help" class="muted">
            12 or 24 words, in order, separated by spaces.
          </p>
          {passFields}
          {checkProblem && <p class="bad">{checkProblem}</p>}
          {error !== undefined && <ErrorMessage error={error} />}
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Looking for your money…' : 'Restore the wallet'}
            </button>
            <button type="button" onClick={() => setStep({ at: 'choose' })}>
              Back
            </button>
          </div>
        </form>
      </main>
    );
  }

  const { found, wallet } = step;
  const unit = wallet.config.unit;
  return (
    <main ref={main}>
      <h1 data-focus tabIndex={-1}>
        Wallet restored
      </h1>
      <Message kind="ok">
        <p>
          {found.unspent > 0
            ? `Found ${formatMoney(found.amount, unit)} in ${found.unspent} ${found.unspent === 1 ? 'note' : 'notes'}: it is in your balance.`
            : 'No money was found for these words at the bank. If you expected some, check the words and restore again.'}
        </p>
        {found.pending > 0 && (
          <p>
            {formatMoney(found.pending, unit)} is held in a payment still in progress; the wallet watches it
            and shows it when it settles.
          </p>
        )}
      </Message>
      <button type="button" class="primary" onClick={() => onReady(wallet)}>
        Open the wallet
      </button>
    </main>
  );
}
