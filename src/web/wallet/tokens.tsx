/**
 * Tokens: make a `cashuB` token of an amount (stated before, then shown with copy and QR; its money
 * shows as on its way until someone redeems it, and can be taken back before), and redeem a pasted
 * one (its amount and mint shown first; another bank's token refused in words).
 */
import { useState } from 'preact/hooks';
import { formatMoney, unitLabel } from '../../core/money-format.js';
import type { Operation } from '../../wallet/index.js';
import { CopyButton } from '../ui/copy.js';
import { useStepFocus } from '../ui/focus.js';
import { ErrorMessage, Message } from '../ui/message.js';
import { QrCode } from '../ui/qr.js';
import type { PageProps } from './context.js';
import { serial } from './session.js';
import { cancelOutcome, previewToken, readAmount } from './words.js';

type Making =
  | { at: 'form' }
  | { at: 'confirm'; amount: number; memo: string }
  | { at: 'busy' }
  | { at: 'made'; token: string; op: Operation };

export function Tokens({ wallet, changed }: PageProps) {
  const { unit, mint } = wallet.config;
  const [making, setMaking] = useState<Making>({ at: 'form' });
  const [amountText, setAmountText] = useState('');
  const [memo, setMemo] = useState('');
  const [amountProblem, setAmountProblem] = useState('');
  const [makeError, setMakeError] = useState<unknown>(undefined);
  const [pasted, setPasted] = useState('');
  const [redeeming, setRedeeming] = useState(false);
  const [redeemed, setRedeemed] = useState<Operation | undefined>(undefined);
  const [redeemError, setRedeemError] = useState<unknown>(undefined);
  const section = useStepFocus<HTMLElement>(making.at);
  const preview = pasted.trim() === '' ? undefined : previewToken(pasted, { mint, unit });

  const review = (e: Event) => {
    e.preventDefault();
    const amount = readAmount(amountText, unit);
    setAmountProblem(amount.ok ? '' : amount.message);
    setMakeError(undefined);
    if (amount.ok) setMaking({ at: 'confirm', amount: amount.value, memo: memo.trim() });
  };

  const make = async (amount: number, note: string) => {
    setMaking({ at: 'busy' });
    try {
      const { token, operation } = await serial(() =>
        wallet.tokenSend(amount, note === '' ? undefined : note),
      );
      setMaking({ at: 'made', token, op: operation });
    } catch (err) {
      setMakeError(err);
      setMaking({ at: 'form' });
    }
    changed();
  };

  const takeBack = async (op: Operation) => {
    setMaking({ at: 'busy' });
    try {
      const after = await serial(() => wallet.cancel(op.id));
      setMakeError(undefined);
      setMaking({ at: 'form' });
      setTakenBack(cancelOutcome(after, unit).text);
    } catch (err) {
      setMakeError(err);
      setMaking({ at: 'made', token: op.data.token ?? '', op });
    }
    changed();
  };
  const [takenBack, setTakenBack] = useState('');

  const redeem = async () => {
    setRedeeming(true);
    setRedeemError(undefined);
    setRedeemed(undefined);
    try {
      const op = await serial(() => wallet.tokenReceive(pasted.trim()));
      setRedeemed(op);
      setPasted('');
    } catch (err) {
      setRedeemError(err);
    } finally {
      setRedeeming(false);
      changed();
    }
  };

  return (
    <section aria-labelledby="tokens-title" ref={section}>
      <h1 id="tokens-title">Tokens</h1>
      <p class="muted">
        A cashu token is money written as text: whoever has it can redeem it into their wallet. Hand it over
        in person, by message, or as a QR code.
      </p>

      <h2>Make a token</h2>
      {makeError !== undefined && <ErrorMessage error={makeError} />}
      {takenBack !== '' && making.at === 'form' && (
        <Message kind="ok">
          <p>{takenBack}</p>
        </Message>
      )}
      {making.at === 'form' && (
        <form onSubmit={review} noValidate>
          <label for="token-amount">Amount</label>
          <div class="row">
            <input
              id="token-amount"
              value={amountText}
              onInput={(e) => setAmountText(e.currentTarget.value)}
              inputMode="decimal"
              autocomplete="off"
              placeholder="5.00"
              style="flex: 1"
              aria-invalid={amountProblem !== ''}
              aria-describedby={amountProblem ? 'token-unit token-amount-problem' : 'token-unit'}
            />
            <span id="token-unit">{unitLabel(unit)}</span>
          </div>
          {amountProblem && (
            <p id="token-amount-problem" class="bad">
              {amountProblem}
            </p>
          )}
          <label for="token-memo">Note inside the token (optional)</label>
          <input
            id="token-memo"
            value={memo}
            maxLength={256}
            onInput={(e) => setMemo(e.currentTarget.value)}
          />
          <p>
            <button type="submit">Make a token</button>
          </p>
        </form>
      )}
      {making.at === 'confirm' && (
        <div class="card">
          <p data-focus tabIndex={-1}>
            <strong>Make a token worth {formatMoney(making.amount, unit)}.</strong> The amount leaves your
            balance now; whoever redeems the token gets it. Until then you can take it back here.
          </p>
          <div class="row">
            <button type="button" class="primary" onClick={() => make(making.amount, making.memo)}>
              Make the token
            </button>
            <button type="button" onClick={() => setMaking({ at: 'form' })}>
              Change
            </button>
          </div>
        </div>
      )}
      {making.at === 'busy' && (
        <p role="status" class="muted">
          Working at the bank…
        </p>
      )}
      {making.at === 'made' && (
        <div class="card">
          <Message kind="ok">
            <p data-focus tabIndex={-1}>
              Token made: {formatMoney(making.op.amount, unit)} left your balance. Give the token to the
              person you are paying.
            </p>
          </Message>
          <label for="token-out">Your token</label>
          <textarea id="token-out" class="mono" rows={4} readOnly value={making.token} />
          <CopyButton text={making.token} label="Copy token" />
          <QrCode
            text={making.token}
            label={`QR code of a token worth ${formatMoney(making.op.amount, unit)}`}
          />
          <div class="row">
            <button type="button" onClick={() => setMaking({ at: 'form' })}>
              Make another
            </button>
            <button type="button" onClick={() => takeBack(making.op)}>
              Take it back (not redeemed yet)
            </button>
          </div>
        </div>
      )}

      <h2>Redeem a token</h2>
      {redeemed && (
        <Message kind="ok">
          <p>Redeemed: {formatMoney(redeemed.amount, unit)} is in your balance.</p>
        </Message>
      )}
      {redeemError !== undefined && <ErrorMessage error={redeemError} />}
      <label for="token-in">Token to redeem</label>
      <textarea
        id="token-in"
        class="mono"
        rows={4}
        value={pasted}
        onInput={(e) => setPasted(e.currentTarget.value)}
        placeholder="cashuB…"
        spellcheck={false}
        aria-describedby={preview ? 'token-preview' : undefined}
      />
      {preview && (
        <p id="token-preview" class={preview.ok && preview.value.ours ? undefined : 'bad'}>
          {preview.ok ? preview.value.message : preview.message}
          {preview.ok && preview.value.memo ? ` Its note: “${preview.value.memo}”.` : ''}
        </p>
      )}
      <p>
        <button
          type="button"
          class="primary"
          disabled={redeeming || !preview?.ok || !preview.value.ours}
          onClick={redeem}
        >
          {redeeming
            ? 'Redeeming…'
            : preview?.ok && preview.value.ours
              ? `Redeem ${formatMoney(preview.value.amount, unit)}`
              : 'Redeem'}
        </button>
      </p>
    </section>
  );
}
