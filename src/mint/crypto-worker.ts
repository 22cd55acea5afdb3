/**
 * Worker-thread side of the crypto pool: runs `verifyBatch` / `signBatch` on the native curve.
 * Messages: `{ id, op: 'verify' | 'sign', items }` in, `{ id, result } | { id, error }` out.
 */
import { parentPort } from 'node:worker_threads';
import { defaultCurve } from '../core/crypto/index.js';
import { type SignItem, signBatch, type VerifyItem, verifyBatch } from './crypto.js';

export type WorkerRequest =
  | { id: number; op: 'verify'; items: VerifyItem[] }
  | { id: number; op: 'sign'; items: SignItem[] };

const curve = defaultCurve();
const port = parentPort;
if (!port) throw new Error('crypto-worker must run in a worker thread');

port.on('message', (msg: WorkerRequest) => {
  try {
    const result = msg.op === 'verify' ? verifyBatch(curve, msg.items) : signBatch(curve, msg.items);
    port.postMessage({ id: msg.id, result });
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
