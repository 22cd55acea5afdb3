/**
 * The mint's crypto ceiling, for the bench harness: how many notes one core can put through the
 * per-note crypto of a swap (hash_to_curve of the input, its signature check, the output's blind
 * signature and its DLEQ) on the native backend. Not a test: nothing here asserts a speed.
 * For the multi-core bound, run `measureCryptoBound` (or `prepareCryptoWork` + `cryptoWork`) in one
 * worker thread per core and add the results.
 */
import { bytesToHex, utf8 } from '../bytes.js';
import { fail } from '../errors.js';
import type { Curve } from './curve.js';
import { loadNativeCurve } from './native.js';
import { blindMessage, hashToCurve, signBlinded, verifySignature } from './nut00.js';
import { createDleq } from './nut12.js';
import { randomScalar } from './scalar.js';

/** One prepared batch: a mint key and, per note, an input (secret, C) and an output B_. */
export interface CryptoWork {
  readonly curve: Curve;
  readonly k: Uint8Array;
  readonly notes: readonly { secret: Uint8Array; C: Uint8Array; B_: Uint8Array }[];
}

function nativeCurve(): Curve {
  return (
    loadNativeCurve() ??
    fail('Internal', { reason: 'native secp256k1 binding did not load' }, 'bench needs native')
  );
}

/** Builds `batch` valid notes under a fresh random key (untimed set-up). */
export function prepareCryptoWork(batch: number, curve: Curve = nativeCurve()): CryptoWork {
  const k = randomScalar();
  const notes = Array.from({ length: batch }, () => {
    // A NUT-00 secret is a hex string; the note's Y hashes its UTF-8 bytes.
    const secret = utf8(bytesToHex(randomScalar()));
    const C = signBlinded(curve, k, hashToCurve(curve, secret));
    const { B_ } = blindMessage(curve, utf8(bytesToHex(randomScalar())), randomScalar());
    return { secret, C, B_ };
  });
  return { curve, k, notes };
}

/** The per-note mint work over one batch; returns the number of notes processed. */
export function cryptoWork(work: CryptoWork): number {
  const { curve, k } = work;
  for (const note of work.notes) {
    const Y = hashToCurve(curve, note.secret);
    if (!verifySignature(curve, k, Y, note.C)) fail('Internal', { reason: 'bench note failed to verify' });
    const C_ = signBlinded(curve, k, note.B_);
    createDleq(curve, k, note.B_, C_);
  }
  return work.notes.length;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `cryptoWork` on the native backend, one core, for about `seconds`; notes per second. */
export async function measureCryptoBound(o: {
  seconds: number;
  batch: number;
}): Promise<{ perCoreNotesPerSec: number; notes: number }> {
  const work = prepareCryptoWork(o.batch);
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
