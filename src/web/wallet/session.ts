/**
 * The page's wallet session: the server's page config, the wallet opened on the browser's storage
 * (through `vault.ts` `openWallet`, settling what a closed tab left open, as every CLI command does
 * first), and one queue that runs the wallet's operations one at a time, as the CLI's home lock does
 * between processes.
 */
import type { Network } from '../../core/address/index.js';
import { fail } from '../../core/errors.js';
import { WEB_CONFIG_PATH, WebConfig } from '../../core/http/web-config.js';
import { decode } from '../../core/protocol/cashu.js';
import { reachable } from '../../wallet/context.js';
import {
  httpNet,
  normalizeMintUrl,
  type Operation,
  type RestoreSummary,
  Wallet,
  type WalletOptions,
  type WalletStore,
} from '../../wallet/index.js';
import { sleep, subscribe } from '../ui/live.js';
import { savedGateway, walletStorage, withGateway } from './storage.js';
import { type OpenedWallet, openWallet as openOnStore } from './vault.js';

export type PageConfig = WebConfig;

/** `GET /web/config.json`: this server's network, unit, mint, mailbox and gateway. */
export async function loadPageConfig(): Promise<PageConfig> {
  const response = await fetch(WEB_CONFIG_PATH, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`the page config answered ${response.status}`);
  return decode(WebConfig, await response.json(), 'config');
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` after every operation queued before it: two operations of one wallet never interleave
 * (a receive polled while a send follows its transfer waits for its turn).
 */
export function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

/** The gateway the wallet uses: the one chosen in Settings, else the server's. */
export function gatewayOf(config: PageConfig): string | undefined {
  return savedGateway() ?? config.gateway;
}

/** What every `Wallet` of the page is opened with: its store (gateway as chosen) and the network. */
function options(store: WalletStore): WalletOptions {
  return { store: withGateway(store, savedGateway()), net: httpNet() };
}

/**
 * Opens the wallet kept in this browser (its storage, with the gateway chosen in Settings) through
 * `vault.ts`'s `openWallet`, which settles what an earlier visit left open.
 */
export function openWallet(passphrase?: string): Promise<OpenedWallet> {
  return serial(async () => openOnStore(options(await walletStorage().open(passphrase))));
}

/** Makes the wallet of `words` on this server's mint (the words were already shown and checked). */
export function createWallet(config: PageConfig, words: string, passphrase?: string): Promise<Wallet> {
  return serial(async () => {
    const gateway = gatewayOf(config);
    const { wallet } = await Wallet.create({
      ...options(await walletStorage().create(passphrase)),
      network: config.network as Network,
      mint: config.mint,
      mailbox: config.mailbox,
      ...(gateway === undefined ? {} : { gateway }),
      unit: config.unit,
      mnemonic: words,
    });
    await walletStorage().saveWords(words);
    return wallet;
  });
}

/** The CLI's `restore` into an empty home: the wallet of `words`, then its notes found at the mint. */
export function restoreWallet(
  config: PageConfig,
  words: string,
  passphrase?: string,
): Promise<{ wallet: Wallet; found: RestoreSummary }> {
  return (async () => {
    const wallet = await createWallet(config, words, passphrase);
    const found = await serial(() => wallet.restore());
    return { wallet, found };
  })();
}

/** How often an open operation is looked at without live events, and with them (a safety net). */
const FOLLOW_EVERY_MS = 1500;
const FOLLOW_LIVE_EVERY_MS = 10_000;

/**
 * Follows an open operation (a transfer with the gateway, a payment not yet delivered) until it ends
 * or `signal` aborts: one `recover` step at a time, as the CLI's next command would take it, each
 * reported to `onUpdate`. A transfer is stepped on each of the gateway's live `status` events
 * (`GET /v1/gateway/transfers/:id/events`), with a slow poll beside them in case the stream is cut.
 */
export async function followOperation(
  wallet: Wallet,
  id: string,
  onUpdate: (op: Operation) => void,
  signal: AbortSignal,
): Promise<Operation | undefined> {
  const inner = new AbortController();
  const stop = () => inner.abort();
  signal.addEventListener('abort', stop, { once: true });
  let last = await wallet.operation(id);
  const ended = (op: Operation | undefined) =>
    op === undefined || op.state === 'done' || op.state === 'failed';
  const step = async () => {
    if (inner.signal.aborted) return;
    await serial(() => wallet.recover()).catch(() => undefined);
    const op = await wallet.operation(id);
    if (inner.signal.aborted) return;
    last = op;
    if (op) onUpdate(op);
    if (ended(op)) inner.abort();
  };
  const gateway = last?.kind === 'gateway' ? last.data.deliverTo : undefined;
  const live =
    gateway === undefined
      ? undefined
      : subscribe(`${gateway}/v1/gateway/transfers/${encodeURIComponent(id)}/events`, {
          signal: inner.signal,
          onEvent: (type) => {
            if (type === 'status') void step();
          },
        }).catch(() => undefined);
  while (!inner.signal.aborted && !ended(last)) {
    await sleep(live === undefined ? FOLLOW_EVERY_MS : FOLLOW_LIVE_EVERY_MS, inner.signal);
    await step();
  }
  inner.abort();
  await live;
  signal.removeEventListener('abort', stop);
  return signal.aborted ? undefined : last;
}

/**
 * Drains the inbox whenever money may have arrived: once now, on each live `arrived` event of the
 * mailbox (`GET /v1/inbox/:address/events`, a fresh proof of ownership per connection), and when the
 * page becomes visible again. A (re)connection itself drains nothing: the mailbox's first event on
 * it is `arrived` when anything waits, what came while cut off included. When the mailbox refuses
 * live events for good, it asks every 2.5 s while the page is visible instead.
 */
export function watchInbox(
  wallet: Pick<Wallet, 'inboxEventsUrl'>,
  drain: () => Promise<void>,
  signal: AbortSignal,
): void {
  const visible = () => document.visibilityState === 'visible';
  const onVisible = () => {
    if (visible()) void drain();
  };
  document.addEventListener('visibilitychange', onVisible);
  signal.addEventListener('abort', () => document.removeEventListener('visibilitychange', onVisible), {
    once: true,
  });
  void drain();
  subscribe(() => wallet.inboxEventsUrl(), {
    signal,
    onEvent: (type) => {
      if (type === 'arrived') void drain();
    },
  }).catch(async () => {
    while (!signal.aborted) {
      await sleep(INBOX_POLL_MS, signal);
      if (visible() && !signal.aborted) await drain();
    }
  });
}

const INBOX_POLL_MS = 2500;

/**
 * Checks a gateway URL before the page uses it: it answers and converts this wallet's unit. Returns
 * the normalised URL; throws the reason (`PeerUnreachable`, `MintMismatch`, `InvalidInput`).
 */
export async function checkGateway(url: string, unit: string): Promise<string> {
  const base = normalizeMintUrl(url.trim());
  const info = await reachable(base, () => httpNet().gatewayInfo(base));
  if (info.unit !== unit) {
    fail(
      'MintMismatch',
      { expected: unit, received: info.unit },
      `the gateway at ${base} converts ${info.unit}, this wallet holds ${unit}`,
    );
  }
  return base;
}
