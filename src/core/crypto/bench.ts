/**
 * The mint's crypto ceiling, for the bench harness: how many notes one core can put through the
 * per-note crypto of a swap (hash_to_curve of the input, its signature check, the output's blind
 * signature and its DLEQ) on the native backend; for P2PK-locked inputs (NUT-11 SIG_INPUTS, one key)
 * also the input's BIP-340 verification, as the mint's workers run it (`checkLock`). Not a test:
 * nothing here asserts a speed.
 * For the multi-core bound, run `prepareCryptoWork` then `measureCryptoBound` in one worker thread
 * per core and add the results.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8 } from '../bytes.js';
import { p2pkSecret } from '../conditions/secret.js';
import { messageDigest } from '../conditions/sign.js';
import { checkLock, type LockCheck, planLocks } from '../conditions/verify.js';
import { fail } from '../errors.js';
import { CHALLENGE_TAG } from './bip340.js';
import type { Curve } from './curve.js';
import { loadNativeCurve } from './native.js';
import { blindMessage, hashToCurve, signBlinded, verifySignature } from './nut00.js';
import { createDleq } from './nut12.js';
import { bytesToNumber, N, numberToBytes32, randomScalar } from './scalar.js';

/**
 * One prepared batch: a mint key and, per note, an input (secret, C) and an output B_; `lock`, the
 * Schnorr work of a locked input's witness.
 */
export interface CryptoWork {
  readonly curve: Curve;
  readonly k: Uint8Array;
  readonly notes: readonly { secret: Uint8Array; C: Uint8Array; B_: Uint8Array; lock?: LockCheck }[];
}

function nativeCurve(): Curve {
  return (
    loadNativeCurve() ??
    fail('Internal', { reason: 'native secp256k1 binding did not load' }, 'bench needs native')
  );
}

/**
 * A BIP-340 signature of `message` by the private key `key`, on `curve`: for the bench's locked inputs
 * only, because noble's `schnorr.sign` (`conditions/sign.ts`, what wallets use) takes ≈ 3 ms on this
 * machine's cores and the native backend's two multiplications ≈ 0.1 ms, and a bench that warms up
 * on locked swaps signs tens of thousands. BIP-340 "Default Signing" with a random nonce in place of
 * the one derived from the key, the message and aux_rand (the BIP allows any nonce that is secret and
 * never reused; a verifier cannot tell): d and k negated where their points' y is odd, e the tagged
 * challenge hash of R.x || P.x || m, s = k + e·d mod n.
 */
export function benchSignBip340(curve: Curve, message: Uint8Array, key: Uint8Array): Uint8Array {
  const P = curve.mulG(key);
  const d = P[0] === 0x02 ? bytesToNumber(key) : N - bytesToNumber(key);
  const nonce = randomScalar();
  const R = curve.mulG(nonce);
  const k = R[0] === 0x02 ? bytesToNumber(nonce) : N - bytesToNumber(nonce);
  const r = R.subarray(1);
  const e = bytesToNumber(sha256(concatBytes(CHALLENGE_TAG, CHALLENGE_TAG, r, P.subarray(1), message))) % N;
  return concatBytes(r, numberToBytes32((k + e * d) % N));
}

/**
 * A P2PK secret (NUT-11 SIG_INPUTS, locked to one fresh key) and its witness: one signature on the
 * secret by that key, as a receiving wallet sends it (signed on `curve`, `benchSignBip340`).
 */
export function lockedSecret(curve: Curve = nativeCurve()): { secret: string; witness: string } {
  const key = randomScalar();
  const secret = p2pkSecret({ pubkey: bytesToHex(curve.mulG(key)) });
  const signature = bytesToHex(benchSignBip340(curve, messageDigest(secret), key));
  return { secret, witness: JSON.stringify({ signatures: [signature] }) };
}

/** Builds `batch` valid notes under a fresh random key (untimed set-up); `locked`: P2PK-locked inputs. */
export function prepareCryptoWork(
  batch: number,
  curve: Curve = nativeCurve(),
  o: { locked?: boolean } = {},
): CryptoWork {
  const k = randomScalar();
  const notes = Array.from({ length: batch }, () => {
    // A NUT-00 secret is a hex string (a NUT-10 one is JSON); the note's Y hashes its UTF-8 bytes.
    const locked = o.locked ? lockedSecret(curve) : undefined;
    const secret = utf8(locked?.secret ?? bytesToHex(randomScalar()));
    const C = signBlinded(curve, k, hashToCurve(curve, secret));
    const { B_ } = blindMessage(curve, utf8(bytesToHex(randomScalar())), randomScalar());
    if (locked === undefined) return { secret, C, B_ };
    // The structural half (parsing, the digest) runs on the mint's main thread, outside this bound.
    const [lock] = planLocks([{ ...locked, C: bytesToHex(C) }], { now: Math.floor(Date.now() / 1000) });
    if (!lock) return fail('Internal', { reason: 'bench: a locked note planned no lock' });
    return { secret, C, B_, lock };
  });
  return { curve, k, notes };
}

/** The per-note mint work over one batch; returns the number of notes processed. */
export function cryptoWork(work: CryptoWork): number {
  const { curve, k } = work;
  for (const note of work.notes) {
    const Y = hashToCurve(curve, note.secret);
    if (!verifySignature(curve, k, Y, note.C)) fail('Internal', { reason: 'bench note failed to verify' });
    if (note.lock && checkLock(curve, note.lock) !== undefined)
      fail('Internal', { reason: 'bench lock failed' });
    const C_ = signBlinded(curve, k, note.B_);
    createDleq(curve, k, note.B_, C_);
  }
  return work.notes.length;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `cryptoWork` over `work` (prepared by `prepareCryptoWork`, untimed, beforehand: a caller that
 * counts CPU time leaves the set-up out) for about `seconds` on one core; notes per second.
 */
export async function measureCryptoBound(
  work: CryptoWork,
  o: { seconds: number },
): Promise<{ perCoreNotesPerSec: number; notes: number }> {
  const start = performance.now();
  const deadline = start + o.seconds * 1000;
  let notes = 0;
  do {
    notes += cryptoWork(work);
    await yieldToEventLoop();
  } while (performance.now() < deadline);
  const elapsed = (performance.now() - start) / 1000;
  return { perCoreNotesPerSec: notes / elapsed, notes };
}

/** Arbitrary-point scalar multiplications per second on `curve` (the figure docs/design.md §8 compares). */
export function measureMulPerSec(curve: Curve, seconds: number): number {
  const k = randomScalar();
  let P = curve.mulG(randomScalar());
  let count = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 20; i++) P = curve.mul(P, k);
    count += 20;
  }
  return count / ((performance.now() - start) / 1000);
}
