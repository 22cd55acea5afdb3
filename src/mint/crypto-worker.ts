/**
 * Worker-thread side of the crypto pool: runs `runJob` (a mint's job), `runDleqJob` (notes' DLEQ
 * proofs) or `runUnblindJob` (a mint's signatures of our outputs) on the native curve.
 * Messages: a list of `{ id, job } | { id, dleq } | { id, unblind }` in (the jobs the pool gathered for
 * this worker), then one `{ id, answer } | { id, error }` out for each, in order, as each is done.
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
  runUnblindJob,
  type UnblindAnswer,
  type UnblindJob,
} from './crypto.js';

export type WorkerRequest =
  | { id: number; job: CryptoJob }
  | { id: number; dleq: DleqJob }
  | { id: number; unblind: UnblindJob };

export type WorkerReply =
  | { id: number; answer: CryptoAnswer | DleqAnswer | UnblindAnswer }
  | { id: number; error: string };

function answerOf(msg: WorkerRequest): CryptoAnswer | DleqAnswer | UnblindAnswer {
  if ('job' in msg) return runJob(curve, msg.job);
  if ('dleq' in msg) return runDleqJob(curve, msg.dleq);
  return runUnblindJob(curve, msg.unblind);
}

const curve = defaultCurve();
const port = parentPort;
if (!port) throw new Error('crypto-worker must run in a worker thread');

function replyTo(msg: WorkerRequest): WorkerReply {
  try {
    return { id: msg.id, answer: answerOf(msg) };
  } catch (e) {
    return { id: msg.id, error: e instanceof Error ? e.message : String(e) };
  }
}

// Each job is answered as soon as it is done, not with the rest of its message: a job's caller never
// waits for the curve work of the jobs sent after it (a 4-note job's is ≈ 1 ms), for one message back
// a job instead of one a message.
port.on('message', (msgs: WorkerRequest[]) => {
  for (const msg of msgs) port.postMessage(replyTo(msg));
});
