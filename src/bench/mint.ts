/**
 * `bench mint`: notes/s of the mint engine's swap (64 notes in, 64 out, through the worker pool and a
 * real database) on each dialect, against the raw crypto bound on all cores measured in the same run,
 * just before and just after that dialect's swaps.
 * The wallet side is prepared before the clock starts and costs the mint nothing: inputs are made
 * directly with the keyset's private keys (C = k·Y) and outputs are random points. Swaps run for a
 * warm-up second before the clock starts, as in a server that has been up for a while.
 * On Linux it also reports CPU time per note by part (main thread, crypto workers, V8's helper
 * threads, the database server) and the ratio in CPU time, which a busy machine barely moves.
 */
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
import type { ScenarioOptions } from './scenario.js';

export async function mintScenario(o: ScenarioOptions): Promise<unknown> {
  // The bound is measured before and after each dialect's swaps and the ratio taken to their mean,
  // so a machine whose load drifts during the run skews the ratio less.
  const first = await cryptoBoundAllCores(o.seconds);
  const bounds = [first];
  const swap: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const before = bounds[bounds.length - 1]!;
    const r = await swapRate(dialect, o.seconds, before.notesPerSec);
    const after = await cryptoBoundAllCores(o.seconds);
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
  return {
    scenario: 'mint',
    batch: BATCH,
    warmupSeconds: WARMUP_SECONDS,
    cores: first.cores,
    cryptoBound: {
      what: 'hash_to_curve + verify + blind-sign + DLEQ per note, native backend, all cores',
      notesPerSec: Math.round(first.notesPerSec),
      perCore: first.perCore.map(Math.round),
      measurements: bounds.map((b) => Math.round(b.notesPerSec)),
      cpuUsPerNote: bounds.map((b) => b.cpuUsPerNote),
    },
    swap,
  };
}

function swapRate(dialect: string, seconds: number, boundRate: number) {
  return withBenchMint(dialect, async ({ mint, curve, bench, workers }) => {
    const ks = mint.keysets.current();
    // Half as much again: on a machine whose load drifts, swaps may outrun a bound measured earlier.
    const work = Array.from({ length: batchesFor(1.5 * boundRate, seconds + WARMUP_SECONDS) }, () => ({
      inputs: notesOf(curve, ks),
      outputs: outputsOf(curve, ks),
    }));
    const samples: Partial<Record<'open' | 'close', CpuSample | undefined>> = {};
    const r = await drive(work, seconds, (w) => mint.swap(w.inputs, w.outputs), 'swapsPerSec', {
      warmupSeconds: WARMUP_SECONDS,
      onWindow: (edge) => {
        samples[edge] = sampleCpu();
      },
    });
    const cpu = cpuPerNote(samples.open, samples.close, r.notes, workers);
    return { ...r, server: bench.description, ...(cpu ? { cpuUsPerNote: cpu } : {}) };
  });
}
