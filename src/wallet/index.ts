/**
 * The terminal's wallet library: portable (no Node-only import), so the CLI and a browser UI share it.
 * A browser passes `MemoryWalletStore` (or its own `WalletStore`) and `httpNet()`; Node's SQLite store
 * lives in `./node/`. `browser.test.ts` bundles this file for the browser and runs it.
 */
export type { WalletContext } from './context.js';
export { type HttpNetOptions, httpNet } from './http-net.js';
export {
  type LockKeyPair,
  newMnemonic,
  seedFromMnemonic,
  terminalAddress,
  terminalKeyPair,
  terminalLockKey,
} from './keys.js';
export type { MintOptions } from './lightning.js';
export { MemoryWalletStore } from './memory-store.js';
export type { InboxMessage, WalletNet } from './net.js';
export { normalizeMintUrl, type ReceiveSummary } from './receive.js';
export type { RestoreOptions, RestoreSummary } from './restore.js';
export type { SendOptions, SendProgress } from './send.js';
export type {
  NoteState,
  Operation,
  OperationKind,
  OperationState,
  StoredNote,
  WalletChange,
  WalletConfig,
  WalletStore,
} from './store.js';
export {
  type Balance,
  type CreateOptions,
  type RecoverSummary,
  Wallet,
  type WalletOptions,
} from './wallet.js';
