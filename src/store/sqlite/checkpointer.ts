/**
 * SQLite's WAL checkpoints, moved off the event loop. By default the connection that commits past
 * 1 000 pages of WAL checkpoints in that commit: it copies the pages into the database file and fsyncs
 * it, and better-sqlite3 being synchronous, the one event loop that the bank, the gateway and the
 * mailboxes share waits that long (3–4 commits' time, tens of ms on a busy disk) for every database
 * file of the process. Instead the store's connection counts its commits and every
 * `COMMITS_PER_CHECKPOINT` asks one worker thread per process (`checkpoint-worker.ts`, its own
 * connection to each file) to run a PASSIVE checkpoint. Durability is unchanged: a commit returns
 * once its frames are fsynced in the WAL (`synchronous=FULL`), and a checkpoint only copies committed
 * frames into the database file, which it fsyncs before the WAL may be reused; PASSIVE never blocks
 * the writer or waits for a reader. The bound stays: the store's connection keeps SQLite's own
 * checkpoint at `FALLBACK_PAGES` (a reader holding old frames, a worker behind), and should the worker
 * die, at SQLite's default again. Several processes on one file each checkpoint: harmless, one waits
 * for nothing and the other finds the work done. `:memory:` databases have no WAL and get none.
 */
import type { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { spawnWorker } from '../../core/workers.js';
import type { CheckpointReply, CheckpointRequest, CheckpointWorkerData } from './checkpoint-worker.js';

/** SQLite's default `wal_autocheckpoint`: the committing connection checkpoints past this many pages. */
export const SQLITE_AUTOCHECKPOINT_PAGES = 1_000;
/** With the worker, the store's connection checkpoints itself only past this many pages of WAL. */
export const FALLBACK_PAGES = 10 * SQLITE_AUTOCHECKPOINT_PAGES;
/**
 * Commits between two requests to the worker. A conversion's commits write ≈ 20 pages each (the
 * bench's WAL reached 1 000 pages every 25–55 commits), so about SQLite's own threshold; small
 * commits make smaller, more frequent checkpoints, off the event loop.
 */
export const COMMITS_PER_CHECKPOINT = 32;

export interface CheckpointerOptions {
  commitsPerCheckpoint?: number;
  fallbackPages?: number;
  /** The worker connection's `busy_timeout` (opening the file may wait for another process's lock). */
  busyTimeoutMs: number;
}

export interface Checkpointing {
  /** A transaction committed on the store's connection (a counter; a message every so many). */
  committed(): void;
  /** Closes the worker's connection to the file; resolves once it is closed. */
  detach(): Promise<void>;
  /** What the worker did, for tests and traces. */
  readonly stats: { requested: number; done: number; failed: number };
}

interface Attachment {
  sqlite: BetterSqlite3.Database;
  stats: { requested: number; done: number; failed: number };
  closed?: () => void;
}

let worker: Worker | undefined;
const attached = new Map<number, Attachment>();
let nextId = 1;

/** The process's checkpoint worker, started on the first request. */
function theWorker(busyTimeoutMs: number): Worker {
  if (worker !== undefined) return worker;
  const data: CheckpointWorkerData = { busyTimeoutMs };
  const w = spawnWorker(import.meta.url, 'checkpoint-worker', { workerData: data });
  w.unref(); // a background helper: never what keeps a process alive
  w.on('message', (r: CheckpointReply) => {
    const a = attached.get(r.id);
    if (a === undefined) return;
    if (r.kind === 'done') a.stats.done++;
    else if (r.kind === 'failed') a.stats.failed++;
    else {
      attached.delete(r.id);
      a.closed?.();
    }
  });
  const gone = () => {
    if (worker !== w) return;
    worker = undefined;
    // Lost (it could not start, or crashed): each connection checkpoints itself again, as SQLite does.
    for (const [id, a] of attached) {
      if (a.closed !== undefined) {
        attached.delete(id);
        a.closed();
      } else if (a.sqlite.open) a.sqlite.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    }
  };
  w.on('error', gone);
  w.on('exit', gone);
  worker = w;
  return w;
}

/** Whether the process's checkpoint worker is running (tests). */
export function checkpointWorkerRunning(): boolean {
  return worker !== undefined;
}

/** Hands `sqlite`'s checkpoints (a file in WAL mode) to the worker; see the file comment. */
export function attachCheckpointer(
  sqlite: BetterSqlite3.Database,
  file: string,
  options: CheckpointerOptions,
): Checkpointing {
  const every = options.commitsPerCheckpoint ?? COMMITS_PER_CHECKPOINT;
  sqlite.pragma(`wal_autocheckpoint = ${options.fallbackPages ?? FALLBACK_PAGES}`);
  const id = nextId++;
  const a: Attachment = { sqlite, stats: { requested: 0, done: 0, failed: 0 } };
  attached.set(id, a);
  let commits = 0;
  let started = false;
  const post = (m: CheckpointRequest) => theWorker(options.busyTimeoutMs).postMessage(m);
  return {
    stats: a.stats,
    committed() {
      if (++commits < every || !attached.has(id)) return;
      // Only while this connection has the worker: after a loss it checkpoints itself.
      if (started && worker === undefined) return;
      commits = 0;
      started = true;
      a.stats.requested++;
      post({ kind: 'checkpoint', id, file });
    },
    detach() {
      if (!attached.has(id)) return Promise.resolve();
      const w = worker;
      if (!started || w === undefined) {
        attached.delete(id);
        stopWhenUnused();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        w.ref(); // the answer must arrive even if nothing else keeps the process alive
        a.closed = () => {
          w.unref();
          resolve();
          stopWhenUnused();
        };
        w.postMessage({ kind: 'close', id } satisfies CheckpointRequest);
      });
    },
  };
}

/** The worker stops once no connection is attached: a test process that closed its stores exits clean. */
function stopWhenUnused(): void {
  if (attached.size > 0 || worker === undefined) return;
  const w = worker;
  worker = undefined;
  w.postMessage({ kind: 'stop' } satisfies CheckpointRequest);
}
