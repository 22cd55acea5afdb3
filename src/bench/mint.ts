/**
 * `bench mint`: notes/s of the mint engine's swap (64 notes in, 64 out, through the worker pool and a
 * real database) on each dialect, against the raw crypto bound on all cores measured in the same run,
 * just before and just after that dialect's swaps.
 * The wallet side is prepared before the clock starts and costs the mint nothing: inputs are made
 * directly with the keyset's private keys (C = k·Y) and outputs are random points. Swaps run for a
 * warm-up second before the clock starts, as in a server that has been up for a while.
 */
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
import type { ScenarioOptions } from './index.js';
import { cryptoBoundAllCores } from './parallel.js';

export async function mintScenario(o: ScenarioOptions): Promise<unknown> {
  // The bound is measured before and after each dialect's swaps and the ratio taken to their mean,
  // so a machine whose load drifts during the run skews the ratio less.
  const first = await cryptoBoundAllCores(o.seconds);
  const rates = [first.notesPerSec];
  const swap: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const before = rates[rates.length - 1]!;
    const r = await swapRate(dialect, o.seconds, before);
    const after = (await cryptoBoundAllCores(o.seconds)).notesPerSec;
    rates.push(after);
    const around = (before + after) / 2;
    swap[dialect] = {
      ...r,
      boundAround: Math.round(around),
      ratioToBound: round(r.notesPerSec / around, 3),
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
      measurements: rates.map(Math.round),
    },
    swap,
  };
}

function swapRate(dialect: string, seconds: number, boundRate: number) {
  return withBenchMint(dialect, async ({ mint, curve, bench }) => {
    const ks = mint.keysets.current();
    const work = Array.from({ length: batchesFor(boundRate, seconds + WARMUP_SECONDS) }, () => ({
      inputs: notesOf(curve, ks),
      outputs: outputsOf(curve, ks),
    }));
    const r = await drive(work, seconds, (w) => mint.swap(w.inputs, w.outputs), 'swapsPerSec', {
      warmupSeconds: WARMUP_SECONDS,
    });
    return { ...r, server: bench.description };
  });
}
