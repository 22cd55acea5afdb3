/**
 * What the wallet pages call about the wallet kept in this browser: is there one, is it encrypted,
 * create the store of a new one, open the wallet on its store and settle what the last visit left
 * open (`openWallet`, the pages' one open path), hold it in one tab only, erase it. The storage
 * itself is `IdbWalletStore`.
 *
 * One tab at a time: `claimWallet` takes a Web Lock (`navigator.locks`), held until the tab closes or
 * `release()`; another tab gets `{ held: false }` ("this wallet is open in another tab"), or with
 * `wait` waits until the holder lets go (the page says why it waits), or, asked to, takes the wallet
 * over (the first tab's `onLost` runs). Web Locks exist only in a secure context (https, localhost);
 * a page over plain http on a LAN address asks the other tabs over a BroadcastChannel instead (a
 * holder answers within `probeMs`; a waiting tab asks again every `retryMs`), which a frozen tab
 * cannot answer.
 * Either way the store's own checks keep every commit whole; the claim keeps two tabs from running
 * the same open operation (a send, its recovery) at once.
 */
import { fail } from '../../core/errors.js';
import { httpNet } from '../../wallet/http-net.js';
import type { WalletNet } from '../../wallet/net.js';
import type { WalletStore } from '../../wallet/store.js';
import { type RecoverSummary, Wallet } from '../../wallet/wallet.js';
import { encryptionAvailable, IdbWalletStore, type SetPassphraseOptions, walletDbName } from './idb-store.js';

export { encryptionAvailable, IdbWalletStore };

export interface VaultOptions {
  /** A named wallet of this browser profile; default the origin's one wallet. */
  name?: string;
}

/** Whether a wallet is kept in this browser, and whether it needs a passphrase to open. */
export function walletHere(o: VaultOptions = {}): Promise<{ exists: boolean; encrypted: boolean }> {
  return IdbWalletStore.inspect(o.name);
}

export interface CreateStoreOptions extends VaultOptions, SetPassphraseOptions {
  /** Encrypts the new wallet at rest; needs a secure context (`encryptionAvailable()`). */
  passphrase?: string;
}

/**
 * An empty store for a new wallet (hand it to `Wallet.create`); `WalletExists` when one is kept here.
 * What an earlier, unfinished creation left (a passphrase but no wallet) is cleared first.
 */
export async function createStore(o: CreateStoreOptions = {}): Promise<IdbWalletStore> {
  if ((await IdbWalletStore.inspect(o.name)).exists) {
    fail(
      'WalletExists',
      { reason: 'configured' },
      'a wallet is already kept in this browser; open it instead',
    );
  }
  await IdbWalletStore.erase(o.name);
  const store = await IdbWalletStore.open(o.name === undefined ? {} : { name: o.name });
  if (o.passphrase !== undefined) {
    try {
      await store.setPassphrase(o.passphrase, o);
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  return store;
}

export interface OpenWalletOptions {
  /**
   * The wallet's store, already opened with its passphrase (`IdbWalletStore.open`, which refuses with
   * `WalletLocked` / `PassphraseWrong`); the page opens it through `walletStorage()` (`storage.ts`).
   */
  store: WalletStore;
  /** Default `httpNet()`; tests pass another. */
  net?: WalletNet;
}

export interface OpenedWallet {
  wallet: Wallet;
  /** What the last visit left open (a send interrupted by closing the tab), settled now where it can be. */
  recovered: RecoverSummary;
}

/**
 * The one way the pages open a wallet: `Wallet.open` on its store, then `recover()`, as the CLI does at
 * every start: a send cut off by a closed tab or a reload is finished or taken back, nothing lost and
 * nothing spent twice. The core would also settle it by itself in the background (`autoRecover`); this
 * explicit run comes first and its summary is what the page reports ("Settled from your last visit").
 * `WalletNotInitialized` when the store holds no wallet; the store is closed when opening fails.
 */
export async function openWallet(o: OpenWalletOptions): Promise<OpenedWallet> {
  let wallet: Wallet | undefined;
  try {
    wallet = await Wallet.open({ store: o.store, net: o.net ?? httpNet() });
    return { wallet, recovered: await wallet.recover() };
  } catch (e) {
    wallet?.close();
    await o.store.close();
    throw e;
  }
}

/** Deletes the wallet kept here, seed and notes. The page asks the person to confirm first. */
export function eraseWallet(o: VaultOptions = {}): Promise<void> {
  return IdbWalletStore.erase(o.name);
}

/**
 * Asks the browser to keep this origin's storage under disk pressure (`navigator.storage.persist()`):
 * without it IndexedDB is "best effort" and may be evicted, notes and all. True when granted (Chrome
 * grants it quietly to a site in use, Firefox asks the person); false where it is refused or missing.
 * The page calls it when a wallet is created or opened; the seed words stay the backup either way.
 */
export async function requestPersistence(): Promise<boolean> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (typeof storage?.persist !== 'function') return false;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}

export interface ClaimOptions extends VaultOptions {
  /** Take the wallet from the tab that holds it (that tab's `onLost` runs). */
  takeOver?: boolean;
  /** This tab lost the wallet to another (that took it over): stop using it. */
  onLost?: () => void;
  /**
   * When another tab has it, wait until that tab lets go (closes, reloads, releases) instead of
   * answering `{ held: false }` at once: a reload's new page can ask before the old one has let go,
   * and a slow machine must not turn that into "open in another tab" for good.
   */
  wait?: boolean;
  /** With `wait`: runs once, when the wallet is found held and the claim starts waiting. */
  onWaiting?: () => void;
  /** Stops a waiting claim (`{ held: false }`); a claim already granted is not affected. */
  signal?: AbortSignal;
  /** Without Web Locks: how long to wait for a holding tab to answer; default 300 ms. */
  probeMs?: number;
  /** Without Web Locks, with `wait`: the pause between two questions; default 1 s. */
  retryMs?: number;
}

export type WalletClaim = { held: true; release(): void } | { held: false };

/**
 * Holds the wallet for this tab: `{ held: false }` when another tab has it open (with `wait`: only
 * when `signal` stopped the wait). The page calls this before `openWallet`, with `wait`, and shows
 * "This wallet is open in another tab" while it waits (with a "Use it here" button that claims again
 * with `takeOver`, after stopping the wait).
 */
export function claimWallet(o: ClaimOptions = {}): Promise<WalletClaim> {
  const name = `${walletDbName(o.name)}:open`;
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks === undefined ? claimByChannel(name, o) : claimByLock(locks, name, o);
}

/** `claimWallet` as a page without Web Locks does it (exported for tests, which may run where there are). */
export function claimWalletByChannel(o: ClaimOptions = {}): Promise<WalletClaim> {
  return claimByChannel(`${walletDbName(o.name)}:open`, o);
}

async function claimByLock(locks: LockManager, name: string, o: ClaimOptions): Promise<WalletClaim> {
  if (o.takeOver) return lockOnce(locks, name, { steal: true }, o);
  const now = await lockOnce(locks, name, { ifAvailable: true }, o);
  if (now.held || !o.wait || o.signal?.aborted) return now;
  o.onWaiting?.();
  // Queued behind the holder: granted by the browser the moment it lets go (a closed or reloaded
  // tab's locks go with its document), in the order the tabs asked.
  return lockOnce(locks, name, o.signal === undefined ? {} : { signal: o.signal }, o);
}

/** One Web Locks request, held until `release()`; `{ held: false }` when not granted (`ifAvailable`, aborted). */
function lockOnce(
  locks: LockManager,
  name: string,
  options: LockOptions,
  o: ClaimOptions,
): Promise<WalletClaim> {
  return new Promise<WalletClaim>((resolve, reject) => {
    let release = () => {};
    let granted = false;
    const held = new Promise<void>((r) => {
      release = r;
    });
    locks
      .request(name, options, async (lock) => {
        if (lock === null) return resolve({ held: false });
        granted = true;
        resolve({ held: true, release });
        await held;
      })
      .catch((e: unknown) => {
        // A stolen lock's request rejects with AbortError: another tab took the wallet over.
        if (granted) o.onLost?.();
        // A waiting request stopped by its signal rejects with the signal's reason.
        else if (options.signal?.aborted) resolve({ held: false });
        else reject(e);
      });
  });
}

/** Without Web Locks, with `wait`: asks again every `retryMs` until no tab answers or `signal` stops it. */
async function claimByChannel(name: string, o: ClaimOptions): Promise<WalletClaim> {
  for (let asked = 0; ; asked++) {
    const claim = await probeByChannel(name, o);
    if (claim.held || o.takeOver || !o.wait || o.signal?.aborted) return claim;
    if (asked === 0) o.onWaiting?.();
    const stopped = await pause(o.retryMs ?? 1000, o.signal);
    if (stopped) return { held: false };
  }
}

/** Waits `ms`; true when `signal` aborted first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const stop = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve(false);
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

type Message = { type: 'who' | 'probing' | 'mine' | 'take'; id: string };

/**
 * Without Web Locks: asks "who has it?" and listens `probeMs` for a holder ("mine"). Two tabs asking
 * at once both hear each other ("probing"); the one with the smaller id goes ahead, so one wins.
 */
function probeByChannel(name: string, o: ClaimOptions): Promise<WalletClaim> {
  const id = crypto.getRandomValues(new Uint32Array(2)).join('-');
  const channel = new BroadcastChannel(name);
  let state: 'probing' | 'held' | 'gone' = 'probing';
  let yielded = false;
  const say = (type: Message['type']) => channel.postMessage({ type, id } satisfies Message);
  channel.onmessage = (event: MessageEvent<Message>) => {
    const m = event.data;
    if (state === 'held') {
      if (m.type === 'who') say('mine');
      if (m.type === 'take') {
        state = 'gone';
        channel.close();
        o.onLost?.();
      }
      return;
    }
    if (m.type === 'who') say('probing');
    // A holder, a take-over, or an earlier-ranked tab asking at the same time: this one stands back.
    const ahead =
      m.type === 'mine' || m.type === 'take' || ((m.type === 'who' || m.type === 'probing') && m.id < id);
    if (ahead && !o.takeOver) yielded = true;
  };
  say(o.takeOver ? 'take' : 'who');
  return new Promise((resolve) => {
    setTimeout(() => {
      if (yielded) {
        state = 'gone';
        channel.close();
        return resolve({ held: false });
      }
      state = 'held';
      resolve({
        held: true,
        release: () => {
          if (state !== 'held') return;
          state = 'gone';
          channel.close();
        },
      });
    }, o.probeMs ?? 300);
  });
}
