/**
 * A pool of worker threads that runs the mint's crypto on every core. A swap's inputs and outputs are
 * cut into chunks so one large request uses all workers, and many small requests queue fairly.
 * Crypto is pure CPU and holds no database state, so a worker crash loses nothing: its pending calls
 * are rejected and the request fails as a server error before any commit.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../core/workers.js';
import type { MintCrypto, SignItem, SignResult, VerifyItem, VerifyResult } from './crypto.js';
import type { WorkerRequest } from './crypto-worker.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

/** Items per message: large enough to amortise messaging (~50 µs), small enough to spread a batch. */
const CHUNK = 16;

export interface CryptoPoolOptions {
  /** Worker count; default: every core. */
  size?: number;
}

export function createCryptoPool(opts: CryptoPoolOptions = {}): MintCrypto {
  const size = Math.max(1, opts.size ?? availableParallelism());
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;

  const slots: Slot[] = Array.from({ length: size }, () => {
    const worker = spawnWorker(import.meta.url, 'crypto-worker');
    const slot: Slot = { worker, inFlight: 0 };
    worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      slot.inFlight--;
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(`crypto worker: ${msg.error}`));
      else p.resolve(msg.result);
    });
    worker.on('error', (e) => {
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(e);
      }
    });
    return slot;
  });

  function run<T>(op: WorkerRequest['op'], items: unknown[]): Promise<T[]> {
    if (closed) return Promise.reject(new Error('crypto pool is closed'));
    const id = nextId++;
    const slot = slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    slot.inFlight++;
    return new Promise<T[]>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      slot.worker.postMessage({ id, op, items });
    });
  }

  async function chunked<I, O>(op: WorkerRequest['op'], items: readonly I[]): Promise<O[]> {
    if (items.length === 0) return [];
    const parts: Promise<O[]>[] = [];
    const chunk = Math.max(1, Math.min(CHUNK, Math.ceil(items.length / size)));
    for (let i = 0; i < items.length; i += chunk) parts.push(run<O>(op, items.slice(i, i + chunk)));
    return (await Promise.all(parts)).flat();
  }

  return {
    verifyInputs: (items: readonly VerifyItem[]) => chunked<VerifyItem, VerifyResult>('verify', items),
    signOutputs: (items: readonly SignItem[]) => chunked<SignItem, SignResult>('sign', items),
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
