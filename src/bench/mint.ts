/**
 * `bench mint`: notes/s of the mint engine's swap (64 notes in, 64 out, through the worker pool and a
 * real database) on each dialect, against the raw crypto bound on all cores measured in the same run.
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
  const bound = await cryptoBoundAllCores(o.seconds);
  const swap: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const r = await swapRate(dialect, o.seconds, bound.notesPerSec);
    swap[dialect] = { ...r, ratioToBound: round(r.notesPerSec / bound.notesPerSec, 3) };
  }
  return {
    scenario: 'mint',
    batch: BATCH,
    warmupSeconds: WARMUP_SECONDS,
    cores: bound.cores,
    cryptoBound: {
      what: 'hash_to_curve + verify + blind-sign + DLEQ per note, native backend, all cores',
      notesPerSec: Math.round(bound.notesPerSec),
      perCore: bound.perCore.map(Math.round),
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
