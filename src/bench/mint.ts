/**
 * `bench mint`: notes/s of the mint engine's swap (64 notes in, 64 out, through the worker pool and a
 * real database) on each dialect, against the raw crypto bound on all cores measured in the same run,
 * just before and just after that dialect's swaps; then the same for P2PK-locked inputs (NUT-11
 * SIG_INPUTS, one signature each) against a bound that adds one Schnorr verify per input.
 * The wallet side is prepared before the clock starts and costs the mint nothing: inputs are made
 * directly with the keyset's private keys (C = k·Y) and outputs are random points. Swaps run for a
 * warm-up second before the clock starts, as in a server that has been up for a while.
 * On Linux it also reports CPU time per note by part (main thread, crypto workers, V8's helper
 * threads, the database server) and the ratio in CPU time, which a busy machine barely moves.
 */
import { lockedSecret } from '../core/crypto/bench.js';
import { type CpuSample, cpuPerNote, sampleCpu } from './cpu.js';
import {
  BATCH,
  batchesFor,
  drive,
  notesOf,
  outputsOf,
  round,
  WARMUP_SECONDS,
  withBenchMint,
} from './harness.js';
import { cryptoBoundAllCores } from './parallel.js';
import { StatsWindow } from './pg-stats.js';
import type { ScenarioOptions } from './scenario.js';

/** Notes with a P2PK lock (SIG_INPUTS, one key), each with its witness: one BIP-340 verify per input. */
type Locked = readonly { secret: string; witness: string }[];

export async function mintScenario(o: ScenarioOptions): Promise<unknown> {
  const plain = await swapsAgainstBound(o);
  // Signing is slow in noble (~3 ms a note on a loaded core), so the locked notes' secrets and
  // witnesses are made once, untimed, for every dialect: a witness signs the secret, not the keyset.
  const lockedBound = await cryptoBoundAllCores(o.seconds, { locked: true });
  const count = BATCH * batchesFor(1.5 * lockedBound.notesPerSec, o.seconds + WARMUP_SECONDS);
  const locked: Locked = Array.from({ length: count }, lockedSecret);
  const p2pk = await swapsAgainstBound(o, { locked, first: lockedBound });
  return {
    scenario: 'mint',
    batch: BATCH,
    warmupSeconds: WARMUP_SECONDS,
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
async function swapsAgainstBound(o: ScenarioOptions, l?: { locked: Locked; first: Bound }) {
  const bounds = [l?.first ?? (await cryptoBoundAllCores(o.seconds))];
  const swap: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const before = bounds[bounds.length - 1]!;
    const r = await swapRate(dialect, o.seconds, before.notesPerSec, {
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
  o: { locked?: Locked | undefined; pgStats?: boolean | undefined },
) {
  const locked = o.locked;
  return withBenchMint(dialect, { pgStats: o.pgStats }, async ({ mint, curve, bench, workers }) => {
    const ks = mint.keysets.current();
    // Half as much again: on a machine whose load drifts, swaps may outrun a bound measured earlier.
    const batches = locked ? locked.length / BATCH : batchesFor(1.5 * boundRate, seconds + WARMUP_SECONDS);
    const work = Array.from({ length: batches }, (_, b) => ({
      inputs: notesOf(curve, ks, locked?.slice(b * BATCH, (b + 1) * BATCH)),
      outputs: outputsOf(curve, ks),
    }));
    const samples: Partial<Record<'open' | 'close', CpuSample | undefined>> = {};
    const probe = bench.statements;
    let statements: StatsWindow | undefined;
    const r = await drive(work, seconds, (w) => mint.swap(w.inputs, w.outputs), 'swapsPerSec', {
      warmupSeconds: WARMUP_SECONDS,
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
