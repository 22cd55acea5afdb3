/**
 * What every wallet operation is handed (Taler's rule: operations do not import each other; shared
 * needs are passed in): the store, the network, the mint client, the keys and the configuration.
 */
import { base64urlnopad } from '@scure/base';
import type { Curve } from '../core/crypto/curve.js';
import type { EncryptionKeyPair } from '../core/envelope/index.js';
import { fail, isLancashError } from '../core/errors.js';
import type { LockKeyPair } from './keys.js';
import type { MintClient } from './mint-client.js';
import type { WalletNet } from './net.js';
import type { WalletConfig, WalletStore } from './store.js';

export interface WalletContext {
  store: WalletStore;
  net: WalletNet;
  mint: MintClient;
  curve: Curve;
  config: WalletConfig;
  /** The BIP39 seed (NUT-13). */
  seed: Uint8Array;
  /** The terminal's X25519 key pair. */
  keys: EncryptionKeyPair;
  /** The terminal's secp256k1 key pair: notes delivered to it are P2PK-locked to its public key. */
  lock: LockKeyPair;
  address: string;
  now(): number;
  /**
   * Called at named points of every operation (`wallet:send:after-reserve`, …): crash tests kill the
   * process there (the CLI wires `LANCASH_FAULT`), library tests throw to simulate a crash.
   */
  step(point: string): void;
  /** Waits (polling a transfer or a quote); tests pass a fast one. */
  sleep(ms: number): Promise<void>;
}

/** The mailbox of this terminal's inbox. */
export function mailboxOf(ctx: WalletContext): string {
  return ctx.config.mailbox ?? ctx.config.mint;
}

/** A fresh transfer or operation id: 16 random bytes, base64url (fits the envelope's TransferId). */
export function newId(): string {
  return base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(16)));
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs `fn` against a peer before anything is reserved: a peer that does not answer becomes
 * `PeerUnreachable` (so the command changes nothing); a refusal stays itself.
 */
export async function reachable<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isLancashError(e)) throw e;
    // Nothing was asked of the peer that could have changed anything: its "retry with the same key" advice does not apply.
    const reason = messageOf(e).replace(/; outcome unknown.*$/, '');
    return fail('PeerUnreachable', { url, reason }, `cannot reach ${url}: ${reason}`);
  }
}
