/**
 * The raw crypto bound on all cores: one worker thread per core runs the per-note mint work
 * (hash_to_curve + verify + blind-sign + DLEQ, native backend) for the same time; their rates add up.
 */
import { availableParallelism } from 'node:os';
import { spawnWorker } from '../core/workers.js';

export async function cryptoBoundAllCores(
  seconds: number,
): Promise<{ notesPerSec: number; cores: number; perCore: number[] }> {
  const cores = availableParallelism();
  const perCore = await Promise.all(
    Array.from(
      { length: cores },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = spawnWorker(import.meta.url, 'bound-worker', { workerData: { seconds } });
          w.once('message', (rate: number) => {
            resolve(rate);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return { notesPerSec: perCore.reduce((a, b) => a + b, 0), cores, perCore };
}
