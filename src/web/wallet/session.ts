/**
 * The page's wallet session: the server's page config, the wallet opened on the browser's storage
 * (settling what a closed tab left open, as every CLI command does first), and one queue that runs
 * the wallet's operations one at a time, as the CLI's home lock does between processes.
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
  type RecoverSummary,
  type RestoreSummary,
  Wallet,
  type WalletOptions,
} from '../../wallet/index.js';
import { savedGateway, walletStorage, withGateway } from './storage.js';

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

/** Options every `Wallet` of the page is opened with. */
async function options(passphrase?: string): Promise<WalletOptions> {
  const store = await walletStorage().open(passphrase);
  return { store: withGateway(store, savedGateway()), net: httpNet() };
}

/** Opens the wallet kept in this browser and settles what an earlier visit left open. */
export function openWallet(passphrase?: string): Promise<{ wallet: Wallet; recovered: RecoverSummary }> {
  return serial(async () => {
    const wallet = await Wallet.open(await options(passphrase));
    const recovered = await wallet.recover();
    return { wallet, recovered };
  });
}

/** Makes the wallet of `words` on this server's mint (the words were already shown and checked). */
export function createWallet(config: PageConfig, words: string, passphrase?: string): Promise<Wallet> {
  return serial(async () => {
    const gateway = gatewayOf(config);
    const { wallet } = await Wallet.create({
      ...(await options(passphrase)),
      network: config.network as Network,
      mint: config.mint,
      mailbox: config.mailbox,
      ...(gateway === undefined ? {} : { gateway }),
      unit: config.unit,
      mnemonic: words,
    });
    await walletStorage().saveWords?.(words);
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

const FOLLOW_EVERY_MS = 1500;

/**
 * Follows an open operation (a transfer with the gateway, a payment not yet delivered) until it ends
 * or `signal` aborts: one `recover` step at a time, as the CLI's next command would take it, each
 * reported to `onUpdate`. Until the live helper's transfer events land, it asks every 1.5 s.
 */
export async function followOperation(
  wallet: Wallet,
  id: string,
  onUpdate: (op: Operation) => void,
  signal: AbortSignal,
): Promise<Operation | undefined> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
    if (signal.aborted) return undefined;
    await serial(() => wallet.recover()).catch(() => undefined);
    const op = await wallet.operation(id);
    if (op === undefined || signal.aborted) return op;
    onUpdate(op);
    if (op.state === 'done' || op.state === 'failed') return op;
  }
}

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
