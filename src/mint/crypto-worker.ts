/**
 * Worker-thread side of the crypto pool: runs `runJob` (a mint's job) or `runDleqJob` (notes' DLEQ
 * proofs) on the native curve.
 * Messages: `{ id, job } | { id, dleq }` in, `{ id, answer } | { id, error }` out.
 */
import { parentPort } from 'node:worker_threads';
import { defaultCurve } from '../core/crypto/index.js';
import {
  type CryptoAnswer,
  type CryptoJob,
  type DleqAnswer,
  type DleqJob,
  runDleqJob,
  runJob,
} from './crypto.js';

export type WorkerRequest = { id: number; job: CryptoJob } | { id: number; dleq: DleqJob };

export type WorkerReply = { id: number; answer: CryptoAnswer | DleqAnswer } | { id: number; error: string };

const curve = defaultCurve();
const port = parentPort;
if (!port) throw new Error('crypto-worker must run in a worker thread');

port.on('message', (msg: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: msg.id, answer: 'job' in msg ? runJob(curve, msg.job) : runDleqJob(curve, msg.dleq) };
  } catch (e) {
    reply = { id: msg.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
