/**
 * Where the browser wallet keeps its notes and keys: one function, `walletStorage()`, so switching
 * from the in-memory store to the IndexedDB store (the storage helper's `idb-store.ts` / `vault.ts`)
 * is one line. Also the page's own settings (the gateway URL chosen in Settings), kept in
 * `localStorage` because they are not secret and not money.
 */
import { MemoryWalletStore, type WalletConfig, type WalletStore } from '../../wallet/index.js';

/** The browser's wallet storage, as the pages need it. */
export interface WalletStorage {
  /** Whether a wallet exists in this browser. */
  exists(): Promise<boolean>;
  /** Whether the wallet at rest needs a passphrase to open. */
  locked(): Promise<boolean>;
  /** The store of the wallet, opened with its passphrase when it has one. */
  open(passphrase?: string): Promise<WalletStore>;
  /** Sets or changes the passphrase (undefined: no passphrase). */
  setPassphrase?: (current: string | undefined, next: string | undefined) => Promise<void>;
  /** Keeps the seed words (the wallet itself keeps only the seed they make), to show them again. */
  saveWords?: (words: string) => Promise<void>;
  /** The seed words kept by `saveWords`, if any. */
  words?: () => Promise<string | undefined>;
  /** Erases the wallet: its notes, keys and history. */
  erase(): Promise<void>;
}

/** In memory until the IndexedDB store lands: nothing survives a reload. */
function memoryStorage(): WalletStorage {
  let store: MemoryWalletStore | undefined;
  let kept: string | undefined;
  return {
    saveWords: async (words) => {
      kept = words;
    },
    words: async () => kept,
    exists: async () => (await store?.readConfig()) !== undefined,
    locked: async () => false,
    open: async () => {
      store ??= new MemoryWalletStore();
      return store;
    },
    erase: async () => {
      store = undefined;
      kept = undefined;
    },
  };
}

let chosen: WalletStorage | undefined;

/** The one switch between storages. */
export function walletStorage(): WalletStorage {
  chosen ??= memoryStorage();
  return chosen;
}

/** Whether the storage keeps the wallet across reloads (the page warns when it does not). */
export const PERSISTENT = false;

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
