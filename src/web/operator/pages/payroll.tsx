/**
 * Payroll: issue local money to a LAN address against a deposit the bank's operator made into the
 * reserve under a reference. The confirmation says exactly that before anything is sent; then the
 * job is followed to its end. Payouts need the notes of a LAN terminal, sealed by it: the page says how.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { decodeAddress } from '../../../core/address/index.js';
import { isUnclear } from '../../../core/http/client.js';
import { formatMoney, parseMoney } from '../../../core/money-format.js';
import { decode } from '../../../core/protocol/cashu.js';
import { type OperatorJobStatus, TRANSFER_PATH, TransferStatus } from '../../../core/protocol/gateway.js';
import { Confirm, useFocusAfter } from '../../ui/confirm.js';
import { subscribe } from '../../ui/live.js';
import { Message } from '../../ui/message.js';
import { reasonOf } from '../../ui/messages.js';
import { useConsole } from '../context.js';
import { payrollProgress, payrollSentence, shortAddress } from '../words.js';

interface Request {
  to: string;
  amount: number;
  ref: string;
  memo: string;
}

export function PayrollPage() {
  const c = useConsole();
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [ref, setRef] = useState('');
  const [memo, setMemo] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [review, setReview] = useState<Request | undefined>(undefined);
  const opener = useFocusAfter(review !== undefined);
  const [busy, setBusy] = useState(false);
  const [job, setJob] = useState<
    { request: Request; status: TransferStatus | OperatorJobStatus } | undefined
  >(undefined);

  const check = (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      decodeAddress(to.trim(), 'lan');
      const minor = parseMoney(amount, c.unit);
      if (ref.trim() === '' || ref.trim().length > 128) {
        setError('Type the reference of the deposit (up to 128 characters), as the bank’s operator gave it.');
        return;
      }
      setReview({ to: to.trim(), amount: minor, ref: ref.trim(), memo: memo.trim() });
    } catch (err) {
      setError(c.say(err));
    }
  };

  const issue = async () => {
    if (!review) return;
    setBusy(true);
    setError(undefined);
    try {
      const status = await c.api.payroll({
        to: review.to,
        amount: review.amount,
        ref: review.ref,
        ...(review.memo ? { memo: review.memo } : {}),
      });
      setJob({ request: review, status });
      setReview(undefined);
    } catch (err) {
      setError(
        isUnclear(err)
          ? 'The gateway did not answer clearly, so the payroll may have started. Press the button again: the same reference answers the same job, so nothing is issued twice.'
          : c.say(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Payroll</h1>
      <p>
        Payroll issues local money to a member’s wallet against money the bank’s operator deposited into the
        gateway’s reserve under a reference. The reserve then backs the new local money one for one.
      </p>
      {job ? (
        <Follow
          request={job.request}
          first={job.status}
          onAnother={() => {
            setJob(undefined);
            setRef('');
          }}
        />
      ) : (
        <form onSubmit={check} noValidate>
          <label for="payroll-to">Recipient address</label>
          <input
            id="payroll-to"
            class="mono"
            spellcheck={false}
            autocomplete="off"
            placeholder="lan1…"
            value={to}
            onInput={(e) => setTo(e.currentTarget.value)}
            disabled={review !== undefined}
          />
          <label for="payroll-amount">Amount</label>
          <input
            id="payroll-amount"
            inputMode="decimal"
            autocomplete="off"
            placeholder={`20.00 (${c.unit.toUpperCase()})`}
            value={amount}
            onInput={(e) => setAmount(e.currentTarget.value)}
            disabled={review !== undefined}
          />
          <label for="payroll-ref">Reference</label>
          <input
            id="payroll-ref"
            autocomplete="off"
            placeholder="payroll-2026-11"
            value={ref}
            onInput={(e) => setRef(e.currentTarget.value)}
            disabled={review !== undefined}
            aria-describedby="payroll-ref-help"
          />
          <p id="payroll-ref-help" class="muted">
            The reference under which the deposit was made at the bank.
          </p>
          <label for="payroll-memo">Note for the recipient (optional)</label>
          <input
            id="payroll-memo"
            autocomplete="off"
            maxLength={256}
            value={memo}
            onInput={(e) => setMemo(e.currentTarget.value)}
            disabled={review !== undefined}
          />
          {error && (
            <Message kind="bad">
              <p>{error}</p>
            </Message>
          )}
          {review ? (
            <Confirm
              title="Issue this local money?"
              level={2}
              confirmLabel="Confirm and issue"
              busy={busy}
              onConfirm={issue}
              onCancel={() => setReview(undefined)}
            >
              <p>{payrollSentence({ ...review, unit: c.unit })}</p>
              <p class="mono small">{review.to}</p>
            </Confirm>
          ) : (
            <div class="row">
              <button type="submit" class="primary" ref={opener}>
                Review the payroll
              </button>
            </div>
          )}
        </form>
      )}
      <Payout />
    </>
  );
}

/** The job after its intake, followed live until it is done or refused. */
function Follow(props: { request: Request; first: TransferStatus; onAnother: () => void }) {
  const c = useConsole();
  const [status, setStatus] = useState(props.first);
  const [trouble, setTrouble] = useState<string | undefined>(undefined);
  const heading = useRef<HTMLHeadingElement>(null);
  // The form is gone: focus moves to what replaced it.
  useEffect(() => heading.current?.focus(), []);
  const ended = status.state === 'done' || status.state === 'refused';
  const id = status.transferId;
  useEffect(() => {
    if (ended) return;
    const stop = new AbortController();
    // The job's own stream: its status now, then each change, until done or refused.
    subscribe(`${c.api.base}${TRANSFER_PATH.replace(':id', encodeURIComponent(id))}/events`, {
      signal: stop.signal,
      onOpen: () => setTrouble(undefined),
      onDisconnect: () => {
        // The stream ends by design once the job has ended.
        if (!stop.signal.aborted)
          setTrouble('The live link to the gateway dropped; the job goes on there. Reconnecting…');
      },
      onEvent: (type, data) => {
        if (type !== 'status') return;
        const s = decode(TransferStatus, data, 'event');
        if (s.state === 'done' || s.state === 'refused') stop.abort();
        setStatus(s);
      },
    }).catch((e: unknown) => setTrouble(c.say(e)));
    return () => stop.abort();
  }, [id, ended, c]);
  const o = { unit: c.unit, to: props.request.to, ref: props.request.ref };
  return (
    <section aria-labelledby="payroll-job">
      <h2 id="payroll-job" tabIndex={-1} ref={heading}>
        {formatMoney(props.request.amount, c.unit)} to {shortAddress(props.request.to)}
      </h2>
      <Message kind={status.state === 'done' ? 'ok' : status.state === 'refused' ? 'bad' : 'info'}>
        <p aria-live="polite">{payrollProgress(status, o, reasonOf)}</p>
      </Message>
      {trouble && <p class="muted">{trouble}</p>}
      <p class="mono muted small">Job {status.transferId}</p>
      {ended && (
        <button type="button" onClick={props.onAnother}>
          Issue another payroll
        </button>
      )}
    </section>
  );
}

function Payout() {
  return (
    <section aria-labelledby="payout">
      <h2 id="payout">Payout</h2>
      <p>
        A payout takes local money out of the organisation: the gateway withdraws the amount from the reserve
        at the bank and erases the notes. The notes must be sealed to the gateway by the member’s own wallet,
        in a <code>gateway.payout.request</code> envelope (docs/gateway.md, “Payroll and payout”), so payouts
        are not made from this page. Post a sealed request from the gateway’s machine:
      </p>
      <pre class="mono command">
        {`curl -X POST -H "Authorization: Bearer $(cat DIR/operator.token)" \\
  -H "Content-Type: application/json" --data @payout-request.json \\
  ${location.origin}/v1/gateway/operator/payout`}
      </pre>
      <p class="muted">
        The answer names the job; follow it under Jobs and in the member’s terminal history.
      </p>
    </section>
  );
}
