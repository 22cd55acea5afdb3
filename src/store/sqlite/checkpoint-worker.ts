/**
 * Worker-thread side of the SQLite checkpointer (`checkpointer.ts`): one connection per attached
 * store, opened on its first request, on which it runs `PRAGMA wal_checkpoint(PASSIVE)` when asked,
 * so the page copy and the database file's fsync happen on this thread instead of the event loop's.
 * Messages: `CheckpointRequest` in, `CheckpointReply` out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

export type CheckpointRequest =
  | { kind: 'checkpoint'; id: number; file: string }
  | { kind: 'close'; id: number }
  | { kind: 'stop' };

export type CheckpointReply =
  | { kind: 'done'; id: number; log: number; checkpointed: number }
  | { kind: 'failed'; id: number; message: string }
  /** The connection of `id` is closed: the store may close its own (the last to close tidies the WAL). */
  | { kind: 'closed'; id: number };

export interface CheckpointWorkerData {
  busyTimeoutMs: number;
}

/** Passes of one checkpoint at most, each copying the frames committed during the one before. */
const MAX_PASSES = 4;

interface CheckpointPass {
  /** Frames in the WAL. */
  log: number;
  /** Of which copied into the database file. */
  checkpointed: number;
}

function passive(db: BetterSqlite3.Database): CheckpointPass {
  const [row] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointPass[];
  return { log: row?.log ?? 0, checkpointed: row?.checkpointed ?? 0 };
}

const { busyTimeoutMs } = workerData as CheckpointWorkerData;
const port = parentPort!;
const connections = new Map<number, BetterSqlite3.Database>();

function connection(id: number, file: string): BetterSqlite3.Database {
  let db = connections.get(id);
  if (db === undefined) {
    // The store made the file and put it in WAL mode; this connection never creates anything.
    db = new BetterSqlite3(file, { fileMustExist: true, timeout: busyTimeoutMs });
    // A checkpoint fsyncs the database file before the WAL may be reused only at FULL or NORMAL
    // (with OFF a crash could lose pages the WAL no longer holds): say FULL, as the store does.
    db.pragma('synchronous = FULL');
    connections.set(id, db);
  }
  return db;
}

function close(id: number): void {
  const db = connections.get(id);
  connections.delete(id);
  try {
    db?.close();
  } catch {
    // Its files may be gone already (a test's directory removed after the store closed): nothing to keep.
  }
}

port.on('message', (m: CheckpointRequest) => {
  if (m.kind === 'close') {
    close(m.id);
    port.postMessage({ kind: 'closed', id: m.id } satisfies CheckpointReply);
    return;
  }
  if (m.kind === 'stop') {
    for (const id of [...connections.keys()]) close(id);
    port.close();
    return;
  }
  try {
    const db = connection(m.id, m.file);
    let pass: CheckpointPass;
    let passes = 0;
    // PASSIVE copies what no reader still needs and never waits for a lock or blocks the writer. The
    // WAL starts over (is overwritten, not grown: a cheaper fsync per commit) only at a write that
    // finds every frame copied, so while commits arrived during a pass, copy those too.
    do pass = passive(db);
    while (pass.checkpointed < pass.log && ++passes < MAX_PASSES);
    port.postMessage({ kind: 'done', id: m.id, ...pass } satisfies CheckpointReply);
  } catch (e) {
    close(m.id);
    port.postMessage({ kind: 'failed', id: m.id, message: (e as Error).message } satisfies CheckpointReply);
  }
});
