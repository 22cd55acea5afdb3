/**
 * Where the browser wallet keeps its notes and keys, as the pages need it: one function,
 * `walletStorage()`, over the IndexedDB vault (`vault.ts`, `idb-store.ts`; `memoryStorage()` is the
 * drop-in that keeps nothing, for a browser without IndexedDB). Also the page's own setting (the
 * gateway URL chosen in Settings), kept in `localStorage` because it is neither secret nor money.
 */
import { MemoryWalletStore, type WalletConfig, type WalletStore } from '../../wallet/index.js';
import {
  type ClaimOptions,
  claimWallet,
  createStore,
  encryptionAvailable,
  eraseWallet,
  IdbWalletStore,
  requestPersistence,
  type VaultOptions,
  walletHere,
} from './vault.js';

/** The browser's wallet storage, as the pages need it. */
export interface WalletStorage {
  /** Whether the wallet survives a reload (the page warns when it does not). */
  readonly persistent: boolean;
  /** Whether a passphrase can be set here (WebCrypto exists only in a secure context). */
  canEncrypt(): boolean;
  /** Whether a wallet exists in this browser, and whether it needs a passphrase to open. */
  inspect(): Promise<{ exists: boolean; encrypted: boolean }>;
  /** An empty store for a new wallet, encrypted with `passphrase` when given. */
  create(passphrase?: string): Promise<WalletStore>;
  /** The store of the wallet kept here, opened with its passphrase when it has one. */
  open(passphrase?: string): Promise<WalletStore>;
  /** Sets, changes or removes (undefined) the passphrase of the open store. */
  setPassphrase(next: string | undefined): Promise<void>;
  /** Keeps the seed words (the wallet keeps only the seed they make), to show them again. */
  saveWords(words: string): Promise<void>;
  /** The seed words kept by `saveWords`, if any. */
  words(): Promise<string | undefined>;
  /**
   * Holds the wallet for this tab. While another tab has it, waits for that tab to let go (`onWaiting`
   * runs when the wait starts, for the page to say so), or takes it over at once with `takeOver`.
   * False only when a later claim of this page stopped this one's wait (the later one decides).
   */
  claim(o: ClaimRequest): Promise<boolean>;
  /** Erases the wallet: its notes, keys and history. */
  erase(): Promise<void>;
}

export interface ClaimRequest {
  takeOver?: boolean;
  /** Another tab took the wallet over: this one must stop using it. */
  onLost: () => void;
  /** The wallet is held by another tab and this claim waits for it. */
  onWaiting?: () => void;
}

/** A page's claims of the wallet (`WalletStorage.claim`), over `claimWallet` (`vault.ts`). */
export function walletClaims(o: VaultOptions & Pick<ClaimOptions, 'probeMs' | 'retryMs'> = {}) {
  let release: (() => void) | undefined;
  let waiting: AbortController | undefined;
  // The page's latest `onLost`: a claim kept across a reopen reports to the page as it is now.
  let lost: () => void = () => {};
  return async ({ takeOver, onLost, onWaiting }: ClaimRequest): Promise<boolean> => {
    // A claim still waiting gives way to this one (the page asked again: "Use it here").
    waiting?.abort();
    lost = onLost;
    // Held already (the page reopens the wallet): kept, rather than let go and asked for again.
    if (release !== undefined) return true;
    const stop = new AbortController();
    waiting = stop;
    const claim = await claimWallet({
      ...o,
      ...(takeOver ? { takeOver } : {}),
      wait: true,
      signal: stop.signal,
      onWaiting: () => onWaiting?.(),
      onLost: () => {
        release = undefined;
        lost();
      },
    });
    if (waiting === stop) waiting = undefined;
    if (!claim.held) return false;
    // Granted just as a later claim stopped this one: that one decides, this one lets go.
    if (stop.signal.aborted || release !== undefined) {
      claim.release();
      return false;
    }
    release = claim.release;
    return true;
  };
}

/** The IndexedDB vault of `vault.ts`: the wallet survives reloads, encrypted with a passphrase if set. */
function idbStorage(): WalletStorage {
  let store: IdbWalletStore | undefined;
  const opened = (): IdbWalletStore => {
    if (store === undefined) throw new Error('the wallet is not open');
    return store;
  };
  return {
    persistent: true,
    canEncrypt: encryptionAvailable,
    inspect: () => walletHere(),
    create: async (passphrase) => {
      store = await createStore(passphrase === undefined ? {} : { passphrase });
      // Asked, not awaited: the browser may keep the wallet from eviction; it answers when it likes.
      void requestPersistence();
      return store;
    },
    open: async (passphrase) => {
      await store?.close();
      store = await IdbWalletStore.open(passphrase === undefined ? {} : { passphrase });
      void requestPersistence();
      return store;
    },
    setPassphrase: (next) => opened().setPassphrase(next),
    saveWords: (words) => opened().writeWords(words),
    words: () => opened().readWords(),
    claim: walletClaims(),
    erase: async () => {
      await store?.close();
      store = undefined;
      await eraseWallet();
    },
  };
}

/** Keeps nothing across a reload: for a browser without IndexedDB. */
export function memoryStorage(): WalletStorage {
  let store: MemoryWalletStore | undefined;
  let kept: string | undefined;
  return {
    persistent: false,
    canEncrypt: () => false,
    inspect: async () => ({ exists: (await store?.readConfig()) !== undefined, encrypted: false }),
    create: async () => {
      store = new MemoryWalletStore();
      return store;
    },
    open: async () => {
      store ??= new MemoryWalletStore();
      return store;
    },
    setPassphrase: async () => {
      throw new Error('this storage cannot encrypt');
    },
    saveWords: async (words) => {
      kept = words;
    },
    words: async () => kept,
    claim: async () => true,
    erase: async () => {
      store = undefined;
      kept = undefined;
    },
  };
}

let chosen: WalletStorage | undefined;

/** The one switch between storages. */
export function walletStorage(): WalletStorage {
  chosen ??= typeof indexedDB === 'undefined' ? memoryStorage() : idbStorage();
  return chosen;
}

const GATEWAY_KEY = 'lancash.wallet.gateway';

/** The gateway URL chosen in Settings, if any. */
export function savedGateway(): string | undefined {
  try {
    return localStorage.getItem(GATEWAY_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveGateway(url: string | undefined): void {
  try {
    if (url === undefined) localStorage.removeItem(GATEWAY_KEY);
    else localStorage.setItem(GATEWAY_KEY, url);
  } catch {
    // Storage refused (private mode): the choice lasts this visit only.
  }
}

/**
 * `store` with its configured gateway replaced: the gateway is where sends to the other network go,
 * a setting of the page rather than of the wallet's identity, so it can change after creation.
 */
export function withGateway(store: WalletStore, gateway: string | undefined): WalletStore {
  if (gateway === undefined) return store;
  const readConfig = async (): Promise<WalletConfig | undefined> => {
    const config = await store.readConfig();
    return config && { ...config, gateway };
  };
  return {
    readConfig,
    writeConfig: (c) => store.writeConfig(c),
    notes: (q) => store.notes(q),
    operation: (id) => store.operation(id),
    operations: (q) => store.operations(q),
    hasSeen: (k) => store.hasSeen(k),
    counter: (id) => store.counter(id),
    reserveCounters: (id, n) => store.reserveCounters(id, n),
    commit: (c) => store.commit(c),
    close: () => store.close(),
  };
}
