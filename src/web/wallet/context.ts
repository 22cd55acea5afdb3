/** What every wallet page is handed: the wallet, the page config, and a way to say "something changed". */
import type { Operation, Wallet } from '../../wallet/index.js';
import type { PageConfig } from './session.js';

export interface PageProps {
  wallet: Wallet;
  config: PageConfig;
  /** Bumped after every change (a send, a receipt, a redeemed token): pages read again. */
  version: number;
  /** Say that the wallet changed. */
  changed: () => void;
}

/** What the live inbox took in since the page opened, newest first. */
export interface Arrivals {
  received: Operation[];
  /** The last time the inbox was drained, and whether it answered. */
  checkedAt?: number;
  problem?: unknown;
}
