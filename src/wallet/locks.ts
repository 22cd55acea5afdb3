/**
 * Locked deliveries, the wallet's side (docs/wallet.md, "Locked deliveries"): notes paid to an
 * address that carries a lock key get NUT-11 P2PK secrets locked to it; notes arriving locked to this
 * terminal's key are recognised and, in every swap, signed (SIG_INPUTS witness) with it; notes locked
 * to another key are refused before anything is journaled.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hex } from '../core/bytes.js';
import { p2pkSecret, parseWellKnownSecret, type WellKnownSecret } from '../core/conditions/index.js';
import { signInputs } from '../core/conditions/sign.js';
import { isLancashError } from '../core/errors.js';
import type { Proof } from '../core/protocol/cashu.js';
import type { LockKeyPair } from './keys.js';

/** Who may spend an outgoing note: the recipient's key, and the sender's so it can take back an undelivered payment. */
export interface Lock {
  /** The recipient's 33-byte secp256k1 key (its address, version 1). */
  to: Uint8Array;
  /** The sender's own key: a second key of a 1-of-2 lock, for the sender's reclaim. */
  from?: Uint8Array;
}

/**
 * A fresh NUT-11 P2PK secret for `lock` (SIG_INPUTS, a random nonce): `data` is the recipient's key;
 * the sender's key, when given, is the one other key of `pubkeys` (one signature of either spends it,
 * NUT-11 "Locktime MultiSig"), so nobody else who sees the note can spend it.
 */
export function lockedSecret(lock: Lock): string {
  const to = bytesToHex(lock.to);
  const from = lock.from === undefined ? undefined : bytesToHex(lock.from);
  // Paying oneself: one key (NUT-11 refuses a key twice in a pathway).
  return p2pkSecret({
    pubkey: to,
    sigflag: 'SIG_INPUTS',
    ...(from === undefined || from === to ? {} : { pubkeys: [from] }),
  });
}

function isPoint(key: Uint8Array): boolean {
  try {
    secp256k1.Point.fromBytes(key).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** How a note's secret binds it: `plain` (NUT-00), `mine` (this key can spend it alone), or why not. */
export type LockStatus = { kind: 'plain' } | { kind: 'mine' } | { kind: 'refused'; reason: string };

/** Whether `key` (compressed hex) alone can spend a note with this P2PK secret as this wallet signs it (SIG_INPUTS). */
function spendableBy(w: WellKnownSecret, key: string): boolean {
  if (w.kind !== 'P2PK' || w.tags.sigflag !== 'SIG_INPUTS') return false;
  // BIP-340 keys are x-only: a lock to 02||x or 03||x is opened by the same signature (NUT-11 compares x).
  const x = key.slice(2).toLowerCase();
  const keys = [w.data, ...w.tags.pubkeys].map((k) => k.slice(2).toLowerCase());
  return keys.includes(x) && (w.tags.n_sigs ?? 1) <= 1;
}

/** The lock status of one secret for the holder of `lock`. */
export function lockStatus(secret: string, lock: LockKeyPair): LockStatus {
  let w: WellKnownSecret | undefined;
  try {
    w = parseWellKnownSecret(secret);
  } catch (e) {
    if (!isLancashError(e)) throw e;
    return { kind: 'refused', reason: `a note has a malformed spending condition (${e.message})` };
  }
  if (w === undefined) return { kind: 'plain' };
  if (spendableBy(w, bytesToHex(lock.publicKey))) return { kind: 'mine' };
  if (w.kind !== 'P2PK') return { kind: 'refused', reason: `a note is locked by a ${w.kind} condition` };
  return {
    kind: 'refused',
    reason: 'a note is locked to another key (not this wallet’s): only its owner can spend it',
  };
}

/** The first reason one of `proofs` cannot be spent by the holder of `lock`, or undefined when all can. */
export function lockRefusal(proofs: readonly Proof[], lock: LockKeyPair): string | undefined {
  for (const p of proofs) {
    const status = lockStatus(p.secret, lock);
    if (status.kind === 'refused') return status.reason;
  }
  return undefined;
}

/**
 * The sender's lock key a same-network payment names: the one other key of every note's 1-of-2 lock
 * to this wallet (`lockedSecret`), the same in all of them and a valid point; `{}` otherwise (plain
 * notes, or anything else), so the sender is shown by its X25519 key alone (a version-0 address).
 */
export function senderLockKey(proofs: readonly Proof[], lock: LockKeyPair): { lockKey?: Uint8Array } {
  const mine = bytesToHex(lock.publicKey);
  let other: string | undefined;
  for (const p of proofs) {
    let w: WellKnownSecret | undefined;
    try {
      w = parseWellKnownSecret(p.secret);
    } catch {
      return {};
    }
    if (w === undefined || w.kind !== 'P2PK' || w.data !== mine || w.tags.pubkeys.length !== 1) return {};
    const key = w.tags.pubkeys[0]!;
    if (other !== undefined && other !== key) return {};
    other = key;
  }
  if (other === undefined) return {};
  const lockKey = hex(other, 'pubkeys', 33);
  return isPoint(lockKey) ? { lockKey } : {};
}

/**
 * The inputs of a swap as the mint is sent them: each note locked to this wallet's key carries a
 * fresh SIG_INPUTS witness signed with it (NUT-11); plain notes go as they are. Signing happens when
 * the swap is sent, not when it is journaled: a witness only authorises the spend it is sent with.
 */
export function withWitnesses(proofs: readonly Proof[], lock: LockKeyPair): Proof[] {
  const key = bytesToHex(lock.publicKey);
  return proofs.map((p) => {
    if (!p.secret.startsWith('[')) return p;
    let w: WellKnownSecret | undefined;
    try {
      w = parseWellKnownSecret(p.secret);
    } catch {
      return p; // the mint refuses it with its reason
    }
    if (w === undefined || !spendableBy(w, key)) return p;
    const { witness: _old, ...bare } = p;
    return signInputs([bare], lock.privateKey)[0]!;
  });
}
