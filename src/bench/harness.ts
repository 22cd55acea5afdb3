/**
 * What the mint and wide-bank benchmarks share: a mint on a bench store with the worker pool, notes
 * and outputs made before the clock starts (inputs with the keyset's private key, C = k·Y; outputs
 * random points), the timed loop that keeps several batches in flight, and rounding of the figures.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { bytesToHex, utf8 } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { defaultCurve } from '../core/crypto/index.js';
import type { MintKeyset } from '../core/crypto/keyset.js';
import { hashToCurve } from '../core/crypto/nut00.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { fail } from '../core/errors.js';
import type { BlindedMessage, Proof } from '../core/protocol/cashu.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import { Mint } from '../mint/mint.js';
import { type BenchStore, type BenchStoreOptions, openBenchStore } from './stores.js';

/** Notes per request (swap, issue, receive). */
export const BATCH = 64;

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Batches enough for `seconds` at the bound's rate, plus a margin; the clock stops when they run out. */
export function batchesFor(boundRate: number, seconds: number): number {
  return Math.max(8, Math.ceil((boundRate * seconds * 1.2) / BATCH));
}

/**
 * Requests `drive` keeps in flight: enough that the crypto workers never wait while the main thread
 * commits (better-sqlite3 commits synchronously): 2 per core left the workers idle half the time.
 */
export const IN_FLIGHT = 8 * availableParallelism();

/**
 * A mint (unit `eur`, a pool of `workers` crypto workers) on a fresh bench store of `dialect` (opened
 * with `options`), closed after `use`.
 */
export async function withBenchMint<T>(
  dialect: string,
  options: BenchStoreOptions,
  use: (o: { mint: Mint; curve: Curve; bench: BenchStore; workers: number }) => Promise<T>,
): Promise<T> {
  const bench = await openBenchStore(dialect, options);
  const workers = availableParallelism();
  const pool = createCryptoPool({ size: workers });
  const curve = defaultCurve();
  try {
    const mint = await Mint.open({ store: bench.store, unit: 'eur', crypto: pool, curve });
    return await use({ mint, curve, bench, workers });
  } finally {
    await pool.close();
    await bench.close();
  }
}

/**
 * `BATCH` unspent notes of 1 signed directly with the keyset's key (C = k·Y), costing the mint nothing:
 * random secrets, or the `given` ones (e.g. P2PK secrets with their witnesses, `lockedSecret()`, whose
 * signatures do not depend on the keyset, so one set serves every dialect's mint).
 */
export function notesOf(
  curve: Curve,
  ks: MintKeyset,
  given?: readonly { secret: string; witness?: string }[],
): Proof[] {
  const k = ks.privateKeys.get(1);
  if (k === undefined) fail('Internal', { reason: `keyset ${ks.id} has no key for amount 1` });
  return Array.from({ length: given?.length ?? BATCH }, (_, i) => {
    const g = given?.[i];
    const secret = g?.secret ?? bytesToHex(randomBytes(32));
    const C = bytesToHex(curve.mul(hashToCurve(curve, utf8(secret)), k));
    return { amount: 1, id: ks.id, secret, C, ...(g?.witness === undefined ? {} : { witness: g.witness }) };
  });
}

/** `BATCH` outputs of 1: random points, as good as blinded messages to the mint. */
export function outputsOf(curve: Curve, ks: MintKeyset): BlindedMessage[] {
  return Array.from({ length: BATCH }, () => ({
    amount: 1,
    id: ks.id,
    B_: bytesToHex(curve.mulG(randomScalar())),
  }));
}

/**
 * Handles `work` with several batches in flight, so crypto (workers), envelopes and commits overlap,
 * until the work or the time runs out. The rate counts the batches finished between the end of the
 * warm-up (JIT compilation, caches) and the deadline, over exactly that window: a long-running
 * server's steady state. During the warm-up each lane runs `warmup` (one batch's worth of the same
 * requests, made as it goes: see `mint.ts`'s chain) when given, or else takes `work` as the window
 * does; a batch that finishes inside the window counts, whichever it was, as one that finishes after
 * the deadline does not. `per` names the batches-per-second figure; `onWindow` is called as the
 * window opens and closes (e.g. to sample CPU time).
 */
export async function drive<W, K extends string>(
  work: readonly W[],
  seconds: number,
  handle: (w: W) => Promise<unknown>,
  per: K,
  o: {
    warmupSeconds?: number;
    warmup?: () => Promise<unknown>;
    onWindow?: (edge: 'open' | 'close') => void;
  } = {},
): Promise<
  { notesPerSec: number; notes: number; seconds: number; inFlight: number; warmupBatches: number } & Record<
    K,
    number
  >
> {
  const inFlight = IN_FLIGHT;
  let next = 0;
  let warmupBatches = 0;
  let notes = 0;
  const from = performance.now() + (o.warmupSeconds ?? 0) * 1000;
  const deadline = from + seconds * 1000;
  let last = from;
  let closed = false;
  const edges = o.onWindow
    ? [
        setTimeout(() => o.onWindow?.('open'), from - performance.now()),
        setTimeout(() => {
          closed = true;
          o.onWindow?.('close');
        }, deadline - performance.now()),
      ]
    : [];
  const finished = () => {
    const now = performance.now();
    if (now < from) warmupBatches++;
    if (now < from || now > deadline) return;
    notes += BATCH;
    last = now;
  };
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      if (o.warmup) {
        while (performance.now() < from) {
          await o.warmup();
          finished();
        }
      }
      while (performance.now() < deadline && next < work.length) {
        await handle(work[next++] as W);
        finished();
      }
    }),
  );
  for (const t of edges) clearTimeout(t);
  if (o.onWindow && !closed) o.onWindow('close'); // the work ran out before the deadline
  if (notes === 0) fail('Internal', { reason: 'bench: no batch finished after the warm-up; give more work' });
  // When the work ran out first, the window ends with the last batch.
  const elapsed = ((next >= work.length ? last : deadline) - from) / 1000;
  const perSec = { [per]: round(notes / BATCH / elapsed, 1) } as Record<K, number>;
  return {
    notesPerSec: Math.round(notes / elapsed),
    ...perSec,
    notes,
    seconds: round(elapsed, 2),
    inFlight,
    warmupBatches,
  };
}
