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
    const ready = Array.from({ length: cores }, () => {
      const w = spawnWorker(import.meta.url, 'bound-worker', {
        workerData: { seconds, locked: o.locked ?? false },
      });
      workers.push(w);
      return new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
    });
    await Promise.all(ready);
    const cpu = process.cpuUsage();
    const perCore = await Promise.all(
      workers.map(
        (w) =>
          new Promise<CoreResult>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage('go');
          }),
      ),
    );
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
    const ready = Array.from({ length: cores }, () => {
      const w = spawnWorker(import.meta.url, 'conversion-bound-worker', { workerData: { seconds, amounts } });
      workers.push(w);
      return new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
    });
    await Promise.all(ready);
    const cpu = process.cpuUsage();
    const from = performance.now();
    const done = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ conversions: number; notes: number }>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage('go');
          }),
      ),
    );
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
