/**
 * The raw crypto bound on all cores: one worker thread per core runs the per-note mint work
 * (hash_to_curve + verify + blind-sign + DLEQ, native backend; with `locked`, plus one BIP-340
 * verification per P2PK-locked input) for the same time; their rates add up.
 * Also the process's CPU time per note meanwhile (every thread, V8's helpers included), counted from
 * when every worker has loaded.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../core/workers.js';

interface CoreResult {
  notesPerSec: number;
  notes: number;
}

export async function cryptoBoundAllCores(
  seconds: number,
  o: { locked?: boolean } = {},
): Promise<{ notesPerSec: number; cores: number; perCore: number[]; cpuUsPerNote: number }> {
  const cores = availableParallelism();
  const workers: Worker[] = [];
  try {
    await spawnReady(workers, cores, 'bound-worker', { seconds, locked: o.locked ?? false });
    const cpu = process.cpuUsage();
    const perCore = await goAll<CoreResult>(workers);
    const used = process.cpuUsage(cpu);
    const notes = perCore.reduce((n, r) => n + r.notes, 0);
    return {
      notesPerSec: perCore.reduce((a, r) => a + r.notesPerSec, 0),
      cores,
      perCore: perCore.map((r) => r.notesPerSec),
      cpuUsPerNote: Math.round((used.user + used.system) / notes),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * The in-run bound of `bench gateway`: one worker thread per core runs the unavoidable crypto of
 * conversions (`conversion-crypto.ts`, both directions alternately, over `amounts`) with no I/O for
 * `seconds`. Answers conversions per second on all cores and the process's CPU µs per conversion.
 */
export async function conversionBoundAllCores(
  seconds: number,
  amounts: readonly number[],
): Promise<{
  conversionsPerSec: number;
  cores: number;
  cpuUsPerConversion: number;
  notesPerConversion: number;
}> {
  const cores = availableParallelism();
  const workers: Worker[] = [];
  try {
    await spawnReady(workers, cores, 'conversion-bound-worker', { seconds, amounts });
    const cpu = process.cpuUsage();
    const from = performance.now();
    const done = await goAll<{ conversions: number; notes: number }>(workers);
    const elapsed = (performance.now() - from) / 1000;
    const used = process.cpuUsage(cpu);
    const conversions = done.reduce((n, r) => n + r.conversions, 0);
    const notes = done.reduce((n, r) => n + r.notes, 0);
    return {
      conversionsPerSec: conversions / elapsed,
      cores,
      cpuUsPerConversion: Math.round((used.user + used.system) / conversions),
      notesPerConversion: notes / conversions,
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Spawns `cores` workers named `name` into `workers` (so the caller terminates them); resolves once each has loaded. */
async function spawnReady(
  workers: Worker[],
  cores: number,
  name: string,
  workerData: unknown,
): Promise<void> {
  const ready = Array.from({ length: cores }, () => {
    const w = spawnWorker(import.meta.url, name, { workerData });
    workers.push(w);
    return answerOf<unknown>(w);
  });
  await Promise.all(ready);
}

/** Starts every worker at once; answers each one's result, in order. */
function goAll<R>(workers: readonly Worker[]): Promise<R[]> {
  return Promise.all(
    workers.map((w) => {
      const answer = answerOf<R>(w);
      w.postMessage('go');
      return answer;
    }),
  );
}

/** The worker's next message, or its error. */
function answerOf<R>(w: Worker): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}
