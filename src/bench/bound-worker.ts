/**
 * Worker side of `cryptoBoundAllCores`: says `ready` once loaded, measures one core when told to go,
 * and posts its notes/s and note count.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { measureCryptoBound } from '../core/crypto/bench.js';

const { seconds } = workerData as { seconds: number };
parentPort?.once('message', async () => {
  const r = await measureCryptoBound({ seconds, batch: 64 });
  parentPort?.postMessage({ notesPerSec: r.perCoreNotesPerSec, notes: r.notes });
});
parentPort?.postMessage('ready');
