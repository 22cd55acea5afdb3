/** Home ("Wallet"): the balance, the address as text, copy button and QR code, and the network in words. */
import { formatMoney } from '../../core/money-format.js';
import { CopyButton } from '../ui/copy.js';
import { ErrorMessage } from '../ui/message.js';
import { QrCode } from '../ui/qr.js';
import { useAsync } from '../ui/use-async.js';
import type { PageProps } from './context.js';
import { networkWords } from './words.js';

export function Home({ wallet, version }: PageProps) {
  const balance = useAsync(() => wallet.balance(), [wallet, version]);
  const { network } = wallet.config;
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">Wallet</h1>
      <div class="card">
        <p class="muted" id="balance-caption">
          You can spend
        </p>
        {balance?.error !== undefined ? (
          <ErrorMessage error={balance.error} />
        ) : (
          <output class="big amount" aria-label="Balance" aria-describedby="balance-caption">
            {balance?.value ? formatMoney(balance.value.available, balance.value.unit) : '…'}
          </output>
        )}
        {balance?.value && balance.value.pending > 0 && (
          <p class="muted">
            {formatMoney(balance.value.pending, balance.value.unit)} is on its way (payments not yet settled,
            tokens not yet redeemed).
          </p>
        )}
        <p>
          Network: <strong>{networkWords(network)}</strong>
        </p>
        <div class="row">
          <a href="#/send">Send money</a>
          <a href="#/receive">Receive money</a>
        </div>
      </div>
      <h2>Your address</h2>
      <p class="muted">Give it to people who pay you. Money sent to it arrives in this wallet by itself.</p>
      <p class="mono card">{wallet.address}</p>
      <CopyButton text={wallet.address} label="Copy address" />
      <QrCode text={wallet.address} label="QR code of your address" />
    </section>
  );
}
