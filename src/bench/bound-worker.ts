/**
 * Worker side of `cryptoBoundAllCores`: prepares its batch (P2PK-locked inputs when `locked`), says
 * `ready`, measures one core when told to go, and posts its notes/s and note count.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { measureCryptoBound, prepareCryptoWork } from '../core/crypto/bench.js';

const { seconds, locked } = workerData as { seconds: number; locked?: boolean };
// Prepared before `ready`: the process's CPU time is counted from then (signing locked notes is slow).
const work = prepareCryptoWork(64, undefined, { locked: locked ?? false });
parentPort?.once('message', async () => {
  const r = await measureCryptoBound(work, { seconds });
  parentPort?.postMessage({ notesPerSec: r.perCoreNotesPerSec, notes: r.notes });
});
parentPort?.postMessage('ready');
