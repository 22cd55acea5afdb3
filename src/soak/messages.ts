/**
 * What the soak's runner and its traffic workers say to each other over the IPC channel: the runner
 * sets a worker up, hands it every wallet's address, tells it to stop, to settle and to count.
 */
import type { Network } from '../core/address/index.js';

/** Kinds of traffic, each with its own counts and latencies in the report. */
export const OP_KINDS = ['lan-pay', 'wan-pay', 'lan-to-wan', 'wan-to-lan', 'wan-mint', 'receive'] as const;
export type OpKind = (typeof OP_KINDS)[number];

export interface Endpoints {
  mint: string;
  gateway: string;
  mailbox: string;
}

export type ToWorker =
  | {
      type: 'init';
      index: number;
      dir: string;
      seed: number;
      wallets: { lan: number; wan: number };
      lan: Endpoints;
      wan: Endpoints;
      /** Amounts of payments, minor units, both included. */
      amount: { min: number; max: number };
      /** What each WAN wallet buys over (fake) Lightning at the start and when it runs low. */
      mintAmount: number;
      /** How long a send follows a gateway transfer before returning it open. */
      followMs: number;
    }
  | { type: 'go'; addresses: { address: string; network: Network }[] }
  /** Stop the traffic, then settle every open operation of this worker's wallets. */
  | { type: 'stop' }
  /** Drain every inbox until nothing comes in, then report. */
  | { type: 'final' };

export interface OpStats {
  /** Ended `done` (a receive: ran without error). */
  ok: number;
  /** Ended `failed`: refused, inputs back in the wallet. */
  failed: number;
  /** Returned still open (a peer did not answer): left to recovery. */
  open: number;
  /** Threw (a peer unreachable before anything left, the balance short meanwhile, …). */
  errors: number;
  /** ms of each `ok` one. */
  latencies: number[];
}

export interface WalletFinal {
  address: string;
  network: Network;
  available: number;
  pending: number;
  /** Operations not in a terminal state. */
  open: number;
}

export type FromWorker =
  | { type: 'ready'; addresses: { address: string; network: Network }[] }
  | { type: 'settled'; open: number }
  | { type: 'report'; ops: Partial<Record<OpKind, OpStats>>; wallets: WalletFinal[]; lastErrors: string[] }
  | { type: 'failed'; error: string };
