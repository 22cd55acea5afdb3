/** Worker side of `cryptoBoundAllCores`: measures one core and posts its notes/s. */
import { parentPort, workerData } from 'node:worker_threads';
import { measureCryptoBound } from '../core/crypto/bench.js';

const { seconds } = workerData as { seconds: number };
const r = await measureCryptoBound({ seconds, batch: 64 });
parentPort?.postMessage(r.perCoreNotesPerSec);
