/**
 * `bench mint`: notes/s of the mint engine's swap (64 notes in, 64 out, through the worker pool and a
 * real database) on each dialect, against the raw crypto bound on all cores measured in the same run,
 * just before and just after that dialect's swaps; then the same for P2PK-locked inputs (NUT-11
 * SIG_INPUTS, one signature each) against a bound that adds one Schnorr verify per input.
 * The wallet side is prepared before the clock starts and costs the mint nothing: inputs are made
 * directly with the keyset's private keys (C = k·Y) and outputs are random points. Swaps run untimed
 * for `MINT_WARMUP_SECONDS` (or `--warmup`) before the clock starts, until V8 has compiled the hot
 * code, as in a server that has been up for a while: those swaps feed on each other's outputs
 * (`warmupChain`), so a long warm-up costs no notes made beforehand.
 * On Linux it also reports CPU time per note by part (main thread, crypto workers, V8's helper
 * threads, the database server) and the ratio in CPU time, which a busy machine barely moves.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { lockedSecret } from '../core/crypto/bench.js';
import type { Curve } from '../core/crypto/curve.js';
import type { MintKeyset } from '../core/crypto/keyset.js';
import { hashToCurve } from '../core/crypto/nut00.js';
import { fail } from '../core/errors.js';
import type { Proof } from '../core/protocol/cashu.js';
import type { Mint } from '../mint/mint.js';
import { type CpuSample, cpuPerNote, sampleCpu } from './cpu.js';
import { BATCH, batchesFor, drive, IN_FLIGHT, notesOf, outputsOf, round, withBenchMint } from './harness.js';
import { cryptoBoundAllCores } from './parallel.js';
import { StatsWindow } from './pg-stats.js';
import type { ScenarioOptions } from './scenario.js';

/**
 * Untimed seconds of swaps before each window (`--warmup` overrides). With one second V8's compiling
 * fell inside the window: V8's helper threads took 38–150 µs a note against 9–48 with ten, in every
 * cell of two alternated pairs (both dialects, plain and locked; docs/performance.md, round twelve).
 */
export const MINT_WARMUP_SECONDS = 10;

/** Notes with a P2PK lock (SIG_INPUTS, one key), each with its witness: one BIP-340 verify per input. */
type Locked = readonly { secret: string; witness: string }[];

export async function mintScenario(o: ScenarioOptions): Promise<unknown> {
  const warmup = o.warmupSeconds ?? MINT_WARMUP_SECONDS;
  const plain = await swapsAgainstBound(o, warmup);
  // The locked notes' secrets and witnesses are made once, untimed, for every dialect: a witness
  // signs the secret, not the keyset.
  const lockedBound = await cryptoBoundAllCores(o.seconds, { locked: true });
  const count = BATCH * batchesFor(1.5 * lockedBound.notesPerSec, o.seconds);
  const locked: Locked = Array.from({ length: count }, () => lockedSecret());
  const p2pk = await swapsAgainstBound(o, warmup, { locked, first: lockedBound });
  return {
    scenario: 'mint',
    batch: BATCH,
    warmupSeconds: warmup,
    cores: plain.bounds[0]!.cores,
    cryptoBound: {
      what: 'hash_to_curve + verify + blind-sign + DLEQ per note, native backend, all cores',
      ...boundFigures(plain.bounds),
    },
    swap: plain.swap,
    lockedCryptoBound: {
      what: 'the same plus one BIP-340 Schnorr verify per input (as the crypto workers run it: checkLock on the native backend), all cores',
      ...boundFigures(p2pk.bounds),
    },
    lockedSwap: { what: 'P2PK-locked inputs, SIG_INPUTS, one signature per input', ...p2pk.swap },
  };
}

type Bound = Awaited<ReturnType<typeof cryptoBoundAllCores>>;

function boundFigures(bounds: readonly Bound[]) {
  return {
    notesPerSec: Math.round(bounds[0]!.notesPerSec),
    perCore: bounds[0]!.perCore.map(Math.round),
    measurements: bounds.map((b) => Math.round(b.notesPerSec)),
    cpuUsPerNote: bounds.map((b) => b.cpuUsPerNote),
  };
}

/**
 * Each dialect's swaps against the bound measured just before and just after them (the ratio to their
 * mean, so a machine whose load drifts during the run skews it less); `locked`: P2PK-locked inputs
 * against the locked bound.
 */
async function swapsAgainstBound(o: ScenarioOptions, warmup: number, l?: { locked: Locked; first: Bound }) {
  const bounds = [l?.first ?? (await cryptoBoundAllCores(o.seconds))];
  const swap: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const before = bounds[bounds.length - 1]!;
    const r = await swapRate(dialect, o.seconds, before.notesPerSec, {
      warmup,
      locked: l?.locked,
      pgStats: o.pgStats,
    });
    const after = await cryptoBoundAllCores(o.seconds, { locked: l !== undefined });
    bounds.push(after);
    const around = (before.notesPerSec + after.notesPerSec) / 2;
    const cpuAround = (before.cpuUsPerNote + after.cpuUsPerNote) / 2;
    swap[dialect] = {
      ...r,
      boundAround: Math.round(around),
      ratioToBound: round(r.notesPerSec / around, 3),
      // The same ratio in CPU time per note: what it would be with every core busy, whatever the load.
      ...(r.cpuUsPerNote ? { cpuRatioToBound: round(cpuAround / r.cpuUsPerNote.total, 3) } : {}),
    };
  }
  return { bounds, swap };
}

function swapRate(
  dialect: string,
  seconds: number,
  boundRate: number,
  o: { warmup: number; locked?: Locked | undefined; pgStats?: boolean | undefined },
) {
  const locked = o.locked;
  return withBenchMint(dialect, { pgStats: o.pgStats }, async ({ mint, curve, bench, workers }) => {
    const ks = mint.keysets.current();
    // Half as much again: on a machine whose load drifts, swaps may outrun a bound measured earlier.
    // The window's alone: the warm-up makes its own notes as it goes.
    const batches = locked ? locked.length / BATCH : batchesFor(1.5 * boundRate, seconds);
    const work = Array.from({ length: batches }, (_, b) => ({
      inputs: notesOf(curve, ks, locked?.slice(b * BATCH, (b + 1) * BATCH)),
      outputs: outputsOf(curve, ks),
    }));
    const samples: Partial<Record<'open' | 'close', CpuSample | undefined>> = {};
    const probe = bench.statements;
    let statements: StatsWindow | undefined;
    const r = await drive(work, seconds, (w) => mint.swap(w.inputs, w.outputs), 'swapsPerSec', {
      warmupSeconds: o.warmup,
      ...(o.warmup > 0 ? { warmup: warmupChain(mint, curve, ks, { locked: locked !== undefined }) } : {}),
      onWindow: (edge) => {
        samples[edge] = sampleCpu();
        if (probe === undefined) return;
        if (edge === 'open') statements = new StatsWindow([probe]);
        else statements?.close();
      },
    });
    const cpu = cpuPerNote(samples.open, samples.close, r.notes, workers);
    const pgStats = await statements?.figures(r.notes / BATCH, `swap of ${BATCH} notes`);
    return {
      ...r,
      server: bench.description,
      ...(cpu ? { cpuUsPerNote: cpu } : {}),
      ...(pgStats ? { pgStats: Array.isArray(pgStats) ? pgStats[0] : pgStats } : {}),
    };
  });
}

/**
 * Untimed swaps that feed on each other's outputs, one batch a call, for `IN_FLIGHT` callers at once:
 * each swap's outputs are B_ = Y of fresh secrets (NUT-00 blinding with r = 0, which the mint cannot
 * tell from any other point), so its signatures C_ = k·Y are valid notes, the next swap's inputs.
 * `IN_FLIGHT` batches are made first as the window's are (`notesOf`); after that a swap costs the
 * bench one hash_to_curve a note, not a note's making (hash_to_curve, k·Y) and an output (r·G), and
 * a warm-up of any length needs no notes made beforehand. `locked`: the inputs carry P2PK locks as the
 * window's do, each output's secret a fresh `lockedSecret` with its witness.
 */
export function warmupChain(
  mint: Mint,
  curve: Curve,
  ks: MintKeyset,
  o: { locked: boolean },
): () => Promise<void> {
  const fresh = (): { secret: string; witness?: string }[] =>
    Array.from({ length: BATCH }, () =>
      o.locked ? lockedSecret() : { secret: bytesToHex(randomBytes(32)) },
    );
  // A stack of unspent batches: every caller takes one and puts one back, so IN_FLIGHT never run dry.
  const unspent: Proof[][] = Array.from({ length: IN_FLIGHT }, () => notesOf(curve, ks, fresh()));
  return async () => {
    const inputs = unspent.pop() ?? fail('Internal', { reason: 'bench: the warm-up chain ran dry' });
    const secrets = fresh();
    const outputs = secrets.map((s) => ({
      amount: 1,
      id: ks.id,
      B_: bytesToHex(hashToCurve(curve, utf8(s.secret))),
    }));
    const signatures = await mint.swap(inputs, outputs);
    unspent.push(
      signatures.map((sig, i) => {
        const { secret, witness } = secrets[i]!;
        return {
          amount: sig.amount,
          id: sig.id,
          secret,
          C: sig.C_,
          ...(witness === undefined ? {} : { witness }),
        };
      }),
    );
  };
}
