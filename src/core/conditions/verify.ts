/**
 * The NUT-11 (P2PK) and NUT-14 (HTLC) rules a mint enforces on its inputs, in two halves. `planLocks`
 * is the cheap structural part, run on the request's thread: it parses secrets and witnesses, checks
 * sigflags, locktimes and preimages, bounds the work, and answers per input the Schnorr work its lock
 * needs (a `LockCheck`: message digest, signatures, key pathways). `checkLock` is the expensive part,
 * the BIP-340 verifications, run in the mint's crypto workers beside the notes' own signatures (on
 * the native curve there). Portable: noble, or the `Curve` it is handed.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, equalBytes, hex } from '../bytes.js';
import { verifyBip340 } from '../crypto/bip340.js';
import type { Curve } from '../crypto/curve.js';
import { fail } from '../errors.js';
import { type ParsedWitness, parseWellKnownSecret, parseWitness, type WellKnownSecret } from './secret.js';
import { messageDigest, sigAllMessage } from './sign.js';

/** The fields of an input these rules read. */
export interface LockedInput {
  secret: string;
  C: string;
  witness?: string | undefined;
}

/** What surrounds the inputs: SIG_ALL signs the outputs (and a melt's quote id). */
export interface SpendContext {
  /** The mint's clock, unix seconds. */
  now: number;
  /**
   * The request's outputs as sent (a swap's, or a melt's NUT-08 blank outputs, possibly none). Absent
   * where the inputs are spent without outputs at this mint: SIG_ALL inputs are then refused.
   */
  outputs?: readonly { amount: number; B_: string }[];
  /** A melt's quote id (NUT-11 "Aggregation for melt"). */
  quote?: string;
}

/** One signing pathway: `need` distinct keys among `keys` (compressed hex) must have signed. */
export interface LockPath {
  keys: string[];
  need: number;
}

/**
 * The Schnorr work one input's lock needs. The lock opens when any pathway is satisfied by valid
 * BIP-340 signatures on `digest` (SHA256 of the signed message).
 */
export interface LockCheck {
  digest: string;
  signatures: string[];
  paths: LockPath[];
}

/**
 * Worst-case Schnorr verifications one request may cost (every signature tried against every key).
 * A valid witness costs about one per signature; 2048 on the workers' native curve (two libsecp256k1
 * multiplications each, `crypto/bip340.ts`) is a fraction of a second of one core at worst.
 */
export const MAX_SCHNORR_CHECKS = 2048;

function refuse(index: number, reason: string): never {
  return fail('ProofVerificationFailed', { index, reason }, `inputs[${index}]: ${reason}`);
}

/**
 * The structural checks of NUT-10/11/14 over a request's inputs (nothing is verified cryptographically
 * here). Answers, per input, the Schnorr work its lock still needs, or `null` when it needs none (a
 * plain secret, an expired lock without refund keys, an HTLC opened by its preimage alone, an input
 * covered by the first input's SIG_ALL witness). Throws `ConditionMalformed`, `WitnessMalformed`,
 * `ProofVerificationFailed` (a missing witness, a wrong preimage, SIG_ALL inputs that differ),
 * `SigAllNotAllowed` or `SignatureChecksExceeded`.
 */
export function planLocks(inputs: readonly LockedInput[], ctx: SpendContext): (LockCheck | null)[] {
  const secrets = inputs.map((p, i) => parseWellKnownSecret(p.secret, `inputs[${i}].secret`));
  const plan: (LockCheck | null)[] = inputs.map(() => null);
  const first = secrets[0];
  if (secrets.some((s) => s?.tags.sigflag === 'SIG_ALL')) {
    // NUT-11: one SIG_ALL input makes every input share its kind, data and tags (and so SIG_ALL).
    const key = first === undefined ? undefined : conditionKey(first);
    for (const [i, s] of secrets.entries()) {
      if (s === undefined || conditionKey(s) !== key)
        refuse(i, 'SIG_ALL: every input must carry the same spending conditions as the first');
    }
    if (ctx.outputs === undefined) {
      fail('SigAllNotAllowed', {
        reason: 'SIG_ALL inputs sign the outputs of a swap or melt; here there are none',
      });
    }
    const message = sigAllMessage(inputs, ctx.outputs, ctx.quote);
    plan[0] = lockOf(first!, inputs[0]!.witness, message, ctx.now, 0);
  } else {
    for (const [i, s] of secrets.entries()) {
      if (s !== undefined) plan[i] = lockOf(s, inputs[i]!.witness, inputs[i]!.secret, ctx.now, i);
    }
  }
  const checks = plan.reduce((n, l) => n + (l === null ? 0 : lockCost(l)), 0);
  if (checks > MAX_SCHNORR_CHECKS) {
    fail(
      'SignatureChecksExceeded',
      { checks, max: MAX_SCHNORR_CHECKS },
      `the witnesses could cost ${checks} signature checks, at most ${MAX_SCHNORR_CHECKS} per request: send fewer locked notes at once`,
    );
  }
  return plan;
}

/** What SIG_ALL compares across inputs: kind, data and tags. */
function conditionKey(s: WellKnownSecret): string {
  return JSON.stringify([s.kind, s.data, s.rawTags]);
}

/** Worst-case verifications of a lock: each signature against each distinct key. */
export function lockCost(l: LockCheck): number {
  return l.signatures.length * new Set(l.paths.flatMap((p) => p.keys)).size;
}

/** One input's lock, checked structurally; `message` is what its signatures sign. */
function lockOf(
  s: WellKnownSecret,
  witness: string | undefined,
  message: string,
  now: number,
  i: number,
): LockCheck | null {
  const { tags } = s;
  // NUT-11: the lock has expired when the mint's clock is past `locktime`.
  const expired = tags.locktime !== undefined && now > tags.locktime;
  const refund: LockPath | undefined =
    tags.refund.length > 0 ? { keys: tags.refund, need: tags.n_sigs_refund ?? 1 } : undefined;
  // NUT-11/14: an expired lock without refund keys is spendable by anyone.
  if (expired && refund === undefined) return null;
  const paths: LockPath[] = [];
  let w: ParsedWitness | undefined;
  const read = (): ParsedWitness => {
    if (witness === undefined || witness === '') refuse(i, 'the note is locked and carries no witness');
    w ??= parseWitness(witness, `inputs[${i}].witness`);
    return w;
  };
  if (s.kind === 'P2PK') {
    paths.push({ keys: [s.data, ...tags.pubkeys], need: tags.n_sigs ?? 1 });
  } else {
    // NUT-14: the hash lock opens with the preimage (checked before any signature), plus signatures
    // by `pubkeys` when that tag is present; after locktime the refund pathway opens without it.
    const preimage = read().preimage;
    const opens =
      preimage !== undefined && equalBytes(sha256(hex(preimage, 'preimage', 32)), hex(s.data, 'data', 32));
    if (opens) {
      if (tags.pubkeys.length === 0) return null;
      paths.push({ keys: tags.pubkeys, need: tags.n_sigs ?? 1 });
    } else if (!expired) {
      refuse(
        i,
        preimage === undefined
          ? 'the HTLC witness carries no preimage'
          : 'the preimage does not match the hash lock',
      );
    }
  }
  if (expired && refund !== undefined) paths.push(refund);
  const signatures = read().signatures;
  if (signatures.length === 0) refuse(i, 'the witness carries no signature');
  return { digest: bytesToHex(messageDigest(message)), signatures, paths };
}

/**
 * Runs a lock's BIP-340 verifications: answers `undefined` when some pathway has its threshold of
 * distinct keys with a valid signature, else why not. A key that is not a valid secp256k1 point (NUT-11
 * wants compressed points) refuses the lock; a signature that is no valid encoding simply does not
 * verify. Each signature counts for one key at most.
 */
export function checkLock(curve: Curve, l: LockCheck): string | undefined {
  const keys = [...new Set(l.paths.flatMap((p) => p.keys))];
  for (const k of keys) {
    if (!curve.isPoint(hex(k, 'key', 33))) return `key ${k} is not a valid secp256k1 point`;
  }
  const msg = hex(l.digest, 'digest', 32);
  const signed = new Set<string>();
  const used = new Set<number>();
  for (const p of l.paths) {
    let count = p.keys.filter((k) => signed.has(k)).length;
    for (const k of p.keys) {
      if (count >= p.need) break;
      if (signed.has(k)) continue;
      const x = hex(k, 'key', 33).subarray(1);
      for (const [j, sig] of l.signatures.entries()) {
        if (used.has(j) || !verifyBip340(curve, hex(sig, 'signature', 64), msg, x)) continue;
        signed.add(k);
        used.add(j);
        count++;
        break;
      }
    }
    if (count >= p.need) return undefined;
  }
  const needs = l.paths.map((p) => `${p.need} of ${p.keys.length}`).join(' or ');
  return `not enough valid signatures: the lock needs ${needs} key(s) signing`;
}
