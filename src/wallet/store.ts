/**
 * What a terminal keeps, and the narrow interface it keeps it through (`WalletStore`): its
 * configuration and seed, its notes (unspent, pending under an operation, spent), its operations
 * (each one a journal of a send, receipt, mint or reclaim, which is also the history), the NUT-13
 * counter of each keyset, and the transfer ids it has seen. Portable: the Node implementation is
 * `node/sqlite-store.ts`, the in-memory one `memory-store.ts`; a browser one would sit on IndexedDB.
 */
import type { Network } from '../core/address/index.js';
import type { Envelope } from '../core/envelope/index.js';
import type { Proof } from '../core/protocol/cashu.js';

export interface WalletConfig {
  version: 1;
  network: Network;
  /** The one mint this terminal holds notes of (normalised URL): the local mint or the wide bank. */
  mint: string;
  /** The mint's unit, e.g. `eur`. */
  unit: string;
  /** The gateway's listener on this terminal's network (LAN or WAN), for sends to the other network. */
  gateway?: string;
  /** The mailbox holding this terminal's inbox; default the mint's URL (the wide bank, or the gateway's LAN listener). */
  mailbox?: string;
  /** The BIP39 seed (64 bytes, hex): NUT-13 secrets and the X25519 key derive from it. */
  seed: string;
  createdAt: number;
}

export type NoteState = 'unspent' | 'pending' | 'spent';

export interface StoredNote {
  proof: Proof;
  /** NUT-07 Y = hash_to_curve(secret), hex: the note's identity at the mint. */
  Y: string;
  state: NoteState;
  /** The operation that holds a pending note, or that spent it. */
  operation?: string;
  createdAt: number;
}

/** One output of a swap, journaled before the swap is sent. `counter` is set for NUT-13 outputs. */
export interface PlannedOutput {
  amount: number;
  secret: string;
  /** The blinding factor, hex. */
  r: string;
  B_: string;
  counter?: number;
  /** `keep` outputs become the wallet's own notes; `send` outputs leave with the operation. */
  role: 'keep' | 'send';
}

/** A swap at the wallet's mint, journaled whole before it is sent, so a crash can finish it. */
export interface SwapPlan {
  keyset: string;
  inputs: Proof[];
  outputs: PlannedOutput[];
}

/** `refresh`: notes of a keyset the mint rotated out, swapped into its active keyset (refresh.ts). */
export type OperationKind = 'send' | 'gateway' | 'token' | 'receive' | 'mint' | 'watch' | 'refresh';

/**
 * Where an operation stands. `prepared`: inputs reserved and the swap journaled, nothing has left;
 * `delivering` / `posting`: the sealed envelope is journaled (the point of no return);
 * `following`: the gateway has the transfer; `issued`: a token was handed out; `watching`: notes
 * found pending by a restore; `reclaiming`: a swap that takes notes back is journaled.
 */
export type OperationState =
  | 'prepared'
  | 'delivering'
  | 'posting'
  | 'following'
  | 'issued'
  | 'watching'
  | 'reclaiming'
  | 'done'
  | 'failed';

export interface OperationData {
  swap?: SwapPlan;
  /** Secrets of the notes that leave with the operation. */
  send?: string[];
  /** The sealed envelope, journaled before its first delivery, so every retry sends the same bytes. */
  envelope?: Envelope;
  /** Where the envelope goes: a mailbox or inbox base URL, or the gateway's. */
  deliverTo?: string;
  /** The recipient's address (the mailbox path), or the destination of a gateway transfer. */
  address?: string;
  /** The gateway's X25519 key (hex): notices about this transfer must come from it. */
  gatewayKey?: string;
  token?: string;
  quote?: string;
  /** NUT-20: the counter of the seed-derived key the mint quote is locked to (`mintQuoteKey`). */
  quoteKey?: number;
  /** The gateway's last answer about the transfer. */
  transfer?: { state: string; refusal?: { code: number; detail: string } };
  /** The swap that takes the notes back, journaled before it is sent. */
  reclaim?: SwapPlan;
  /**
   * NUT-02 input fees the operation pays, minor units (absent: none): a send's own swap, plus for a
   * transfer the gateway intake's fee on the notes sent; a receipt's swap (taken from what arrived).
   */
  fee?: number;
}

export interface Operation {
  /** The wallet's own id; an outgoing transfer's envelope carries it as its transfer id. */
  id: string;
  /** The envelope's transfer id (an incoming payment's is the sender's choice, so not the op's id). */
  transferId?: string;
  kind: OperationKind;
  state: OperationState;
  direction: 'in' | 'out';
  amount: number;
  createdAt: number;
  updatedAt: number;
  /** The other party: an address for sends, a sender key (hex) for receipts, a mint for tokens. */
  counterparty?: string;
  memo?: string;
  /** Why it failed, or what the last attempt saw. */
  reason?: string;
  data: OperationData;
}

export const TERMINAL_STATES: readonly OperationState[] = ['done', 'failed'];

/** One atomic change: everything in it is written together or not at all. */
export interface WalletChange {
  /** Unspent notes to mark pending under `operation`; fails with `WalletBusy` if any is not unspent. */
  reserve?: { operation: string; secrets: string[] };
  /** Notes to insert or replace (by secret). */
  notes?: StoredNote[];
  /** Inserted or replaced (by id). */
  operation?: Operation;
  /** Transfer keys to remember as seen. */
  seen?: string[];
  /** Raises each keyset's next NUT-13 counter to at least this value. */
  counters?: Record<string, number>;
}

export interface NoteQuery {
  state?: NoteState;
  operation?: string;
}

export interface WalletStore {
  readConfig(): Promise<WalletConfig | undefined>;
  /** Writes the configuration once; `WalletExists` if there is one. */
  writeConfig(config: WalletConfig): Promise<void>;
  notes(q?: NoteQuery): Promise<StoredNote[]>;
  operation(id: string): Promise<Operation | undefined>;
  /** Every operation, oldest first; `open` keeps the ones not yet done or failed. */
  operations(q?: { open?: boolean }): Promise<Operation[]>;
  hasSeen(key: string): Promise<boolean>;
  /** The next unused NUT-13 counter of a keyset (0 when none was used). */
  counter(keysetId: string): Promise<number>;
  /** Reserves `n` counters durably and returns the first: outputs are derived only from reserved counters. */
  reserveCounters(keysetId: string, n: number): Promise<number>;
  commit(change: WalletChange): Promise<void>;
  close(): Promise<void>;
}

/** The notes again, in `state`, held by `operation` (or by none). */
export function withState(notes: readonly StoredNote[], state: NoteState, operation?: string): StoredNote[] {
  return notes.map((n) => {
    const { operation: _previous, ...rest } = n;
    return operation === undefined ? { ...rest, state } : { ...rest, state, operation };
  });
}
