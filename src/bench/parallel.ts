/**
 * The raw crypto bound on all cores: one worker thread per core runs the per-note mint work
 * (hash_to_curve + verify + blind-sign + DLEQ, native backend) for the same time; their rates add up.
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
): Promise<{ notesPerSec: number; cores: number; perCore: number[]; cpuUsPerNote: number }> {
  const cores = availableParallelism();
  const workers: Worker[] = [];
  try {
    const ready = Array.from({ length: cores }, () => {
      const w = spawnWorker(import.meta.url, 'bound-worker', { workerData: { seconds } });
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
