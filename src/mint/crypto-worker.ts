/**
 * Worker-thread side of the crypto pool: runs `runJob` on the native curve.
 * Messages: `{ id, job }` in, `{ id, answer } | { id, error }` out.
 */
import { parentPort } from 'node:worker_threads';
import { defaultCurve } from '../core/crypto/index.js';
import { type CryptoAnswer, type CryptoJob, runJob } from './crypto.js';

export interface WorkerRequest {
  id: number;
  job: CryptoJob;
}

export type WorkerReply = { id: number; answer: CryptoAnswer } | { id: number; error: string };

const curve = defaultCurve();
const port = parentPort;
if (!port) throw new Error('crypto-worker must run in a worker thread');

port.on('message', (msg: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: msg.id, answer: runJob(curve, msg.job) };
  } catch (e) {
    reply = { id: msg.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
