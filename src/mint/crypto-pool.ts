/**
 * A pool of worker threads that runs the mint's crypto jobs on every core. Each request's job goes
 * whole to one worker: one message each way, inputs verified and outputs signed in one go. The first
 * worker takes jobs until it holds `FILL_UP_TO` notes, then the next, and so on (`fillingSlot`): a
 * light load wakes one thread, not all of them. When a worker sits idle and a job is large enough to
 * gain, or a job is very large, the job is cut into chunks over all workers instead, in two rounds
 * (every input verified before any output is signed), so one request uses every core and many
 * requests queue fairly. Crypto is pure CPU and holds no database state, so a worker crash loses
 * nothing: its pending calls are rejected and the request fails as a server error before any commit.
 * DLEQ jobs (notes of another mint, checked by the gateway's job-2 intake) and unblind jobs
 * (signatures of the gateway's own outputs, checked and unblinded) are placed and cut the same way.
 * Jobs are assigned to a worker when posted. An idle worker gets them at once (the jobs posted in the
 * same run of code share one message); a busy one gets the jobs gathered meanwhile as one message when
 * it answers its next job or at the end of the event loop's turn, whichever comes first, so a busy
 * server still sends few messages (each costs the main thread its serialisation and wakes a worker).
 * The worker answers each job as soon as it is done: no job waits for another's curve work.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../core/workers.js';
import type {
  CryptoAnswer,
  CryptoJob,
  DleqAnswer,
  DleqJob,
  MintCrypto,
  UnblindAnswer,
  UnblindJob,
} from './crypto.js';
import { emptyAnswer } from './crypto.js';
import type { WorkerReply, WorkerRequest } from './crypto-worker.js';

interface Pending {
  resolve: (answer: CryptoAnswer | DleqAnswer | UnblindAnswer) => void;
  reject: (e: Error) => void;
}

/** A message for a worker, without its id: a mint's job, a DLEQ job or an unblind job. */
type Work = { job: CryptoJob } | { dleq: DleqJob } | { unblind: UnblindJob };
/** The answer a kind of work gets. */
type AnswerOf<W extends Work> = W extends { job: CryptoJob }
  ? CryptoAnswer
  : W extends { dleq: DleqJob }
    ? DleqAnswer
    : UnblindAnswer;

interface Slot {
  worker: Worker;
  /** Notes sent and not answered yet: the measure of how busy the worker is. */
  queued: number;
  /** Jobs assigned and not sent yet. */
  outbox: WorkerRequest[];
  /** Jobs sent and not answered yet: while there are any, new jobs wait for the next answer. */
  sent: number;
  /** A send of the outbox is due at the end of the current run of code. */
  due: boolean;
}

/** Notes a job may have and still go whole to one worker (a 64-in, 64-out swap does). */
const WHOLE_MAX = 256;
/**
 * Notes a job needs before an idle worker gets a share of it. A small job's answer waits for every
 * chunk, so for each thread to be scheduled, and the main thread (busy under load) takes a core: whole,
 * a 4-note signing job answered in 1.0 ms at the median, cut in two 1.45 ms (16 notes: 3.1 against
 * 4.2 ms; 32 notes: cut is faster, 25 against 32 ms; 2 cores, loaded machine, alternated).
 */
const IDLE_CUT_MIN = 32;
/** Notes per chunk when a job is cut: large enough to amortise messaging, small enough to interleave. */
const CHUNK_MAX = 64;
/**
 * Notes a worker may hold before a whole job goes to the next one (≈ 8 ms of curve work at ≈ 0.25 ms
 * a note). Below it the first worker takes the job although another sits idle: on a machine whose
 * event loop and database share the cores, each worker woken competes with them for a core, and its
 * wake-ups and messages cost more than its help. Measured on 2 cores (`bench gateway`, PostgreSQL,
 * alternated pairs with a mark of 32 or 12, docs/performance.md "Round seventeen"): CPU a conversion
 * over its crypto lower in six pairs of eight, the closed loop faster in six; at one offered load the
 * p99 lower in both pairs. A job of `IDLE_CUT_MIN` notes or more is still cut over every worker while
 * one idles, and a cut job's chunks go to the least busy.
 */
export const FILL_UP_TO = 32;

/**
 * The worker a whole job goes to: the first, in a fixed order, that holds fewer than `FILL_UP_TO`
 * notes; when every one holds that many, the least busy. `queued`: the notes each holds.
 */
export function fillingSlot(queued: readonly number[]): number {
  const first = queued.findIndex((n) => n < FILL_UP_TO);
  return first >= 0 ? first : leastBusy(queued);
}

/** The worker holding the fewest notes (the first of equals). */
function leastBusy(queued: readonly number[]): number {
  return queued.reduce((best, n, i) => (n < queued[best]! ? i : best), 0);
}

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
    const slot: Slot = { worker, queued: 0, outbox: [], sent: 0, due: false };
    worker.on('message', (msg: WorkerReply) => {
      slot.sent -= 1;
      // The worker takes its next message while the main thread handles this answer.
      send(slot);
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if ('error' in msg) p.reject(new Error(`crypto worker: ${msg.error}`));
      else p.resolve(msg.answer);
    });
    worker.on('error', (e) => {
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(e);
      }
    });
    return slot;
  });

  /** `spread`: a cut job's chunk, which goes to the least busy worker so that the chunks run together. */
  function post<W extends Work>(work: W, spread = false): Promise<AnswerOf<W>> {
    if (closed) return Promise.reject(new Error('crypto pool is closed'));
    const id = nextId++;
    const notes =
      'job' in work
        ? notesOf(work.job)
        : 'dleq' in work
          ? work.dleq.notes.secret.length
          : work.unblind.outputs.B_.length;
    const queued = slots.map((s) => s.queued);
    const slot = slots[spread ? leastBusy(queued) : fillingSlot(queued)]!;
    slot.queued += notes;
    return new Promise<AnswerOf<W>>((resolve, reject) => {
      const done = () => {
        slot.queued -= notes;
      };
      pending.set(id, {
        resolve: (a) => {
          done();
          // The worker answers each kind of work with its kind of answer (crypto-worker.ts).
          resolve(a as AnswerOf<W>);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      const request: WorkerRequest = { id, ...work };
      slot.outbox.push(request);
      // An idle worker's jobs go once the code that posts them has run (it may post more); a busy
      // worker's at its next answer or at the end of this turn of the event loop, whichever comes
      // first (queued at the worker before it is done, as they always were: a busy main thread that
      // handles the answer late never leaves the worker idle).
      if (slot.sent === 0) {
        if (!slot.due) {
          slot.due = true;
          queueMicrotask(() => {
            slot.due = false;
            send(slot);
          });
        }
      } else if (!flushing) {
        flushing = true;
        setImmediate(flush);
      }
    });
  }

  /** Sends each worker the jobs gathered for it. */
  let flushing = false;
  function flush() {
    flushing = false;
    for (const slot of slots) send(slot);
  }

  /** Sends the worker the jobs gathered for it, as one message. */
  function send(slot: Slot) {
    if (slot.outbox.length === 0 || closed) return;
    slot.sent += slot.outbox.length;
    slot.worker.postMessage(slot.outbox);
    slot.outbox = [];
  }

  /** Both rounds cut into chunks over the workers; signing starts only once every input verified. */
  async function inChunks(job: CryptoJob): Promise<CryptoAnswer> {
    const answer = emptyAnswer();
    const ins = job.inputs.secret.length;
    for (const [from, part] of await chunks(ins, (a, b) => ({ job: onlyInputs(job, a, b) }))) {
      if (part.forged >= 0) return { ...answer, forged: from + part.forged };
      if (part.locked >= 0) return { ...answer, locked: from + part.locked, lockReason: part.lockReason };
      answer.Y.push(...part.Y);
    }
    const outs = job.outputs.B_.length;
    for (const [from, part] of await chunks(outs, (a, b) => ({ job: onlyOutputs(job, a, b) }))) {
      if (part.invalid >= 0) return { ...answer, invalid: from + part.invalid };
      answer.C_.push(...part.C_);
      answer.e.push(...part.e);
      answer.s.push(...part.s);
    }
    return answer;
  }

  /** Posts `count` notes in chunks spread over the workers; answers with their offsets, in order. */
  function chunks<W extends Work>(
    count: number,
    slice: (from: number, to: number) => W,
  ): Promise<[number, AnswerOf<W>][]> {
    const chunk = Math.max(1, Math.min(CHUNK_MAX, Math.ceil(count / size)));
    const parts: Promise<[number, AnswerOf<W>]>[] = [];
    for (let from = 0; from < count; from += chunk) {
      parts.push(post(slice(from, Math.min(count, from + chunk)), true).then((a) => [from, a]));
    }
    return Promise.all(parts);
  }

  /**
   * Cut a large job so other requests interleave with it, and a job of `IDLE_CUT_MIN` notes or more
   * while a worker idles so that one request uses every core.
   */
  const cut = (notes: number) =>
    notes > WHOLE_MAX || (size > 1 && notes >= IDLE_CUT_MIN && slots.some((s) => s.queued === 0));

  return {
    run(job) {
      return cut(notesOf(job)) ? inChunks(job) : post({ job });
    },
    async verifyDleq(dleq) {
      const count = dleq.notes.secret.length;
      if (!cut(count)) return post({ dleq });
      const answer: DleqAnswer = { Y: [], bad: -1, reason: '' };
      for (const [from, part] of await chunks(count, (a, b) => ({ dleq: dleqSlice(dleq, a, b) }))) {
        if (part.bad >= 0) return { ...answer, bad: from + part.bad, reason: part.reason };
        answer.Y.push(...part.Y);
      }
      return answer;
    },
    async unblind(unblind) {
      const count = unblind.outputs.B_.length;
      if (!cut(count)) return post({ unblind });
      const answer: UnblindAnswer = { C: [], bad: -1, reason: '' };
      for (const [from, part] of await chunks(count, (a, b) => ({ unblind: unblindSlice(unblind, a, b) }))) {
        if (part.bad >= 0) return { ...answer, bad: from + part.bad, reason: part.reason };
        answer.C.push(...part.C);
      }
      return answer;
    },
    async close() {
      closed = true;
      // A job still in flight would otherwise never settle: its caller's request would hang on shutdown.
      const gone = new Error('crypto pool is closed');
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(gone);
      }
      for (const slot of slots) slot.outbox = [];
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/** A job's weight in notes; a locked input's Schnorr signatures each weigh about one note more. */
function notesOf(job: CryptoJob): number {
  const sigs = job.inputs.lock?.reduce((n, l) => n + (l?.signatures.length ?? 0), 0) ?? 0;
  return job.inputs.secret.length + job.outputs.B_.length + sigs;
}

function onlyInputs(job: CryptoJob, from: number, to: number): CryptoJob {
  const { secret, C, key, lock } = job.inputs;
  return {
    keys: job.keys,
    inputs: {
      secret: secret.slice(from, to),
      C: C.slice(from, to),
      key: key.slice(from, to),
      ...(lock !== undefined ? { lock: lock.slice(from, to) } : {}),
    },
    outputs: { B_: [], key: [] },
  };
}

function onlyOutputs(job: CryptoJob, from: number, to: number): CryptoJob {
  const { B_, key } = job.outputs;
  return {
    keys: job.keys,
    inputs: { secret: [], C: [], key: [] },
    outputs: { B_: B_.slice(from, to), key: key.slice(from, to) },
  };
}

function dleqSlice(job: DleqJob, from: number, to: number): DleqJob {
  const { secret, C, e, s, r, key, Y } = job.notes;
  const cut = <T>(xs: T[]) => xs.slice(from, to);
  return {
    keys: job.keys,
    notes: {
      secret: cut(secret),
      C: cut(C),
      e: cut(e),
      s: cut(s),
      r: cut(r),
      key: cut(key),
      ...(Y !== undefined ? { Y: cut(Y) } : {}),
    },
  };
}

function unblindSlice(job: UnblindJob, from: number, to: number): UnblindJob {
  const { B_, r, C_, e, s, key } = job.outputs;
  const cut = <T>(xs: T[]) => xs.slice(from, to);
  return {
    keys: job.keys,
    outputs: { B_: cut(B_), r: cut(r), C_: cut(C_), e: cut(e), s: cut(s), key: cut(key) },
  };
}
