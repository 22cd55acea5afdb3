/**
 * Send: the recipient's address and an amount in major units; then a confirmation stating exactly what
 * will happen (amount, recipient, network, the gateway when the network differs); then the send
 * followed live until it ends, with what happened in words (or the reason it was refused and what to
 * do next). A send left open (the tab closed) is settled on the next load by `recover`.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatMoney, unitLabel } from '../../core/money-format.js';
import type { Operation } from '../../wallet/index.js';
import { useStepFocus } from '../ui/focus.js';
import { ErrorMessage, Message } from '../ui/message.js';
import { useAsync } from '../ui/use-async.js';
import type { PageProps } from './context.js';
import { followOperation, serial } from './session.js';
import {
  checkRecipient,
  feeSentence,
  planSend,
  readAmount,
  type SendPlan,
  sendOutcome,
  transferStageWords,
} from './words.js';

type Step =
  | { at: 'form' }
  | { at: 'confirm'; to: string; amount: number; memo: string; plan: SendPlan; fee: number }
  | { at: 'sending'; plan: SendPlan; op?: Operation }
  | { at: 'ended'; op: Operation };

export function Send({ wallet, version, changed }: PageProps) {
  const { unit, network, gateway } = wallet.config;
  const balance = useAsync(() => wallet.balance(), [wallet, version]);
  const [step, setStep] = useState<Step>({ at: 'form' });
  const [to, setTo] = useState('');
  const [amountText, setAmountText] = useState('');
  const [memo, setMemo] = useState('');
  const [problems, setProblems] = useState<{ to?: string; amount?: string }>({});
  const [error, setError] = useState<unknown>(undefined);
  const abort = useRef<AbortController | undefined>(undefined);
  const section = useStepFocus<HTMLElement>(step.at);
  useEffect(() => () => abort.current?.abort(), []);

  const review = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const amount = readAmount(amountText, unit);
    const recipient = checkRecipient({ network, unit, gateway }, to);
    const next: { to?: string; amount?: string } = {};
    if (!recipient.ok) next.to = recipient.message;
    if (!amount.ok) next.amount = amount.message;
    else if (balance?.value && amount.value > balance.value.available)
      next.amount = `That is more than you can spend now (${formatMoney(balance.value.available, unit)}).`;
    setProblems(next);
    if (next.to !== undefined || next.amount !== undefined || !amount.ok) return;
    const plan = planSend({ network, unit, gateway }, to, amount.value);
    if (!plan.ok) return;
    // The input fees the send costs now (NUT-02), stated with the amount before anything happens.
    let fee: number | undefined;
    try {
      fee = await wallet.sendFee(to.trim(), amount.value);
    } catch (err) {
      setError(err);
      return;
    }
    if (fee === undefined) {
      setProblems({
        amount: `That and the mint’s input fees are more than you can spend now (${formatMoney(balance?.value?.available ?? 0, unit)}).`,
      });
      return;
    }
    setStep({ at: 'confirm', to: to.trim(), amount: amount.value, memo: memo.trim(), plan: plan.value, fee });
  };

  const send = async (s: Extract<Step, { at: 'confirm' }>) => {
    setStep({ at: 'sending', plan: s.plan });
    setError(undefined);
    try {
      let op = await serial(() =>
        wallet.send({
          to: s.to,
          amount: s.amount,
          ...(s.memo === '' ? {} : { memo: s.memo }),
          // The page follows the transfer itself, so the wallet stays free for receipts meanwhile.
          followMs: 0,
        }),
      );
      changed();
      if (op.state !== 'done' && op.state !== 'failed') {
        setStep({ at: 'sending', plan: s.plan, op });
        abort.current = new AbortController();
        const last = await followOperation(
          wallet,
          op.id,
          (o) => setStep({ at: 'sending', plan: s.plan, op: o }),
          abort.current.signal,
        );
        if (last === undefined) return;
        op = last;
        changed();
      }
      setStep({ at: 'ended', op });
    } catch (err) {
      setError(err);
      setStep({ at: 'form' });
      changed();
    }
  };

  if (step.at === 'confirm') {
    return (
      <section aria-labelledby="send-title" ref={section}>
        <h1 id="send-title">Send</h1>
        <div class="card">
          <h2 data-focus tabIndex={-1}>
            Check before sending
          </h2>
          <p>
            <strong>{step.plan.sentence}</strong>
          </p>
          {step.fee > 0 && <p>{feeSentence(step.fee, unit, step.plan.viaGateway)}</p>}
          <p class="mono muted">{step.to}</p>
          {step.memo !== '' && <p>With the note “{step.memo}”.</p>}
          <p class="muted">
            {step.plan.viaGateway
              ? 'The gateway takes your money and pays the same amount on the other network. If it refuses, your money comes back.'
              : 'The money goes to their inbox; their wallet takes it in when it opens.'}
          </p>
          <div class="row">
            <button type="button" class="primary" onClick={() => send(step)}>
              Confirm and send
            </button>
            <button type="button" onClick={() => setStep({ at: 'form' })}>
              Change
            </button>
          </div>
        </div>
      </section>
    );
  }

  if (step.at === 'sending') {
    const transfer = step.op?.data.transfer?.state;
    return (
      <section aria-labelledby="send-title" ref={section}>
        <h1 id="send-title">Send</h1>
        <Message kind="info">
          <p data-focus tabIndex={-1}>
            <strong>Sending…</strong> {step.plan.sentence}
          </p>
          <p>
            {step.op === undefined
              ? 'Preparing the money at the bank.'
              : transfer !== undefined
                ? transferStageWords(transfer)
                : step.plan.viaGateway
                  ? 'Handing the transfer to the gateway.'
                  : 'Delivering to their inbox.'}
          </p>
          <p class="muted">You can leave this page: the wallet goes on with it, even after a reload.</p>
        </Message>
      </section>
    );
  }

  if (step.at === 'ended') {
    const outcome = sendOutcome(step.op, unit);
    return (
      <section aria-labelledby="send-title" ref={section}>
        <h1 id="send-title">Send</h1>
        <Message kind={outcome.ok ? 'ok' : 'bad'}>
          <p data-focus tabIndex={-1}>
            {outcome.text}
          </p>
        </Message>
        <div class="row">
          <button
            type="button"
            onClick={() => {
              setTo('');
              setAmountText('');
              setMemo('');
              setStep({ at: 'form' });
            }}
          >
            Send more
          </button>
          <a href="#/history">See the history</a>
        </div>
      </section>
    );
  }

  return (
    <section aria-labelledby="send-title" ref={section}>
      <h1 id="send-title" data-focus tabIndex={-1}>
        Send
      </h1>
      <p class="muted">
        You can spend {balance?.value ? formatMoney(balance.value.available, unit) : '…'}.{' '}
        {gateway === undefined
          ? `Payments go to ${network.toUpperCase()} addresses.`
          : 'Payments go to LAN addresses (lan1…) and WAN addresses (wan1…); the gateway converts between them.'}
      </p>
      {error !== undefined && <ErrorMessage error={error} />}
      <form onSubmit={review} noValidate>
        <label for="to">Recipient address</label>
        <input
          id="to"
          value={to}
          onInput={(e) => setTo(e.currentTarget.value)}
          autocomplete="off"
          autocapitalize="none"
          spellcheck={false}
          placeholder="lan1… or wan1…"
          aria-invalid={problems.to !== undefined}
          aria-describedby={problems.to ? 'to-problem' : undefined}
        />
        {problems.to && (
          <p id="to-problem" class="bad">
            {problems.to}
          </p>
        )}
        <label for="amount">Amount</label>
        <div class="row">
          <input
            id="amount"
            value={amountText}
            onInput={(e) => setAmountText(e.currentTarget.value)}
            inputMode="decimal"
            autocomplete="off"
            placeholder="12.50"
            style="flex: 1"
            aria-invalid={problems.amount !== undefined}
            aria-describedby={problems.amount ? 'amount-unit amount-problem' : 'amount-unit'}
          />
          <span id="amount-unit">{unitLabel(unit)}</span>
        </div>
        {problems.amount && (
          <p id="amount-problem" class="bad">
            {problems.amount}
          </p>
        )}
        <label for="memo">Note for the recipient (optional)</label>
        <input id="memo" value={memo} maxLength={256} onInput={(e) => setMemo(e.currentTarget.value)} />
        <p>
          <button type="submit" class="primary">
            Send
          </button>
        </p>
      </form>
    </section>
  );
}
