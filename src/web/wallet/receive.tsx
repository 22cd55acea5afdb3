/**
 * Receive: how to be paid (the address, copy, QR) and what arrived. The inbox is drained by the
 * wallet shell on its own (live, without pressing anything); this page lists what it took in.
 */
import { CopyButton } from '../ui/copy.js';
import { ErrorMessage } from '../ui/message.js';
import { QrCode } from '../ui/qr.js';
import type { Arrivals, PageProps } from './context.js';
import { receivedSentence } from './words.js';

export function Receive({ wallet, arrivals }: PageProps & { arrivals: Arrivals }) {
  const unit = wallet.config.unit;
  return (
    <section aria-labelledby="receive-title">
      <h1 id="receive-title">Receive</h1>
      <p>
        Give the payer your address. Money sent to it arrives here by itself: the wallet checks your inbox
        while this page is open.
      </p>
      <p class="mono card">{wallet.address}</p>
      <CopyButton text={wallet.address} label="Copy address" />
      <QrCode text={wallet.address} label="QR code of your address" />
      <p class="muted">
        To receive a cashu token someone gave you, paste it on the <a href="#/tokens">Tokens</a> page.
      </p>
      <h2>Arrived since this page opened</h2>
      {arrivals.problem !== undefined && <ErrorMessage error={arrivals.problem} />}
      {arrivals.received.length === 0 ? (
        <p class="muted">
          Nothing yet.
          {arrivals.checkedAt !== undefined &&
            ` Last checked at ${new Date(arrivals.checkedAt).toLocaleTimeString()}.`}
        </p>
      ) : (
        <ul class="plain">
          {arrivals.received.map((op) => (
            <li key={op.id}>
              <span class={op.state === 'failed' ? 'bad' : undefined}>{receivedSentence(op, unit)}</span>{' '}
              <span class="muted">{new Date(op.createdAt).toLocaleTimeString()}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
