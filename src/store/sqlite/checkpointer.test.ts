/**
 * The SQLite checkpointer: the worker checkpoints the WAL after so many commits (so the store's
 * connection never does it on the event loop), the connection still checkpoints itself past the
 * fallback bound, closing the store closes the worker's connection first and stops the worker, and
 * nothing committed is lost. A checkpoint is seen in the WAL file itself: once every frame is copied
 * home, the next write starts the WAL over and its header's checkpoint sequence number (bytes 12–15,
 * https://www.sqlite.org/fileformat2.html#walformat) goes up. No timings: conditions are polled.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../index.js';
import { attachCheckpointer, checkpointWorkerRunning, FALLBACK_PAGES } from './checkpointer.js';
import { withStatementCache } from './connect.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lancash-ckpt-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The WAL header's checkpoint sequence number: it grows each time the WAL starts over. */
function walGeneration(file: string): number {
  const fd = openSync(`${file}-wal`, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 12);
    return b.readUInt32BE(0);
  } finally {
    closeSync(fd);
  }
}

/** Polls `ok` until it holds, for up to ~20 s (a loaded machine may be slow to start the worker). */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(ok()).toBe(true);
}

/** A WAL connection as the store opens one, with a table to write to. */
function walDatabase(file: string): BetterSqlite3.Database {
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.exec('create table t (id integer primary key, v text)');
  return sqlite;
}

describe('sqlite checkpointer', () => {
  it('has the worker checkpoint after so many commits, not the committing connection', async () => {
    const file = join(dir, 'a.db');
    const sqlite = walDatabase(file);
    const cp = attachCheckpointer(sqlite, file, { commitsPerCheckpoint: 5, busyTimeoutMs: 1000 });
    const db = withStatementCache(sqlite, cp);
    try {
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(FALLBACK_PAGES);
      const insert = 'insert into t (v) values (?)';
      // Four commits (one in a transaction, three by themselves): below the threshold, nothing asked.
      db.prepare('begin immediate').run([]);
      db.prepare(insert).run(['in a transaction']);
      expect(cp.stats.requested).toBe(0); // not a commit yet
      db.prepare('commit').run([]);
      for (let i = 0; i < 3; i++) db.prepare(insert).run([`row ${i}`]);
      expect(cp.stats.requested).toBe(0);
      const before = walGeneration(file);
      db.prepare(insert).run(['the fifth commit']);
      expect(cp.stats.requested).toBe(1);
      await until(() => cp.stats.done === 1);
      // Every frame was copied home, so the next write starts the WAL over.
      db.prepare(insert).run(['after the checkpoint']);
      expect(walGeneration(file)).toBe(before + 1);
      expect(cp.stats.failed).toBe(0);
    } finally {
      await cp.detach();
      db.close();
    }
    const again = new BetterSqlite3(file);
    expect(again.prepare('select count(*) as n from t').get()).toEqual({ n: 6 });
    again.close();
  });

  it('leaves the connection checkpointing itself past the fallback bound', async () => {
    const file = join(dir, 'b.db');
    const sqlite = walDatabase(file);
    // The worker is never asked (a reader holding the WAL, a worker far behind): the bound holds alone.
    const cp = attachCheckpointer(sqlite, file, {
      commitsPerCheckpoint: 1_000_000,
      fallbackPages: 20,
      busyTimeoutMs: 1000,
    });
    const db = withStatementCache(sqlite, cp);
    try {
      const first = walGeneration(file);
      // ≈ 2 pages a commit: 40 commits pass 20 pages (and stay far below SQLite's default 1 000).
      for (let i = 0; i < 40; i++) db.prepare('insert into t (v) values (?)').run(['x'.repeat(100)]);
      expect(walGeneration(file)).toBeGreaterThan(first);
      expect(cp.stats.requested).toBe(0);
    } finally {
      await cp.detach();
      db.close();
    }
  });

  it('closes with the store: the worker first, then the store, which removes the WAL; nothing lost', async () => {
    const file = join(dir, 'c.db');
    const store = await openStore({ dialect: 'sqlite', file });
    const rows = 100; // past the default threshold (32 commits), so the worker runs
    for (let i = 0; i < rows; i++) {
      await store.transaction((trx) =>
        trx
          .insertInto('settings')
          .values({ key: `k${i}`, value: `v${i}` })
          .execute(),
      );
    }
    const { rows: setting } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(
      store.db,
    );
    expect(setting[0]?.wal_autocheckpoint).toBe(FALLBACK_PAGES);
    expect(checkpointWorkerRunning()).toBe(true);
    await store.close();
    // The store's connection was the last one open: it checkpointed and deleted the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(checkpointWorkerRunning()).toBe(false);
    const again = await openStore({ dialect: 'sqlite', file });
    try {
      const n = await again.db
        .selectFrom('settings')
        .select((e) => e.fn.countAll<number>().as('n'))
        .where('key', 'like', 'k%')
        .executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(rows);
    } finally {
      await again.close();
    }
  });

  it('starts nothing for :memory:', async () => {
    const store = await openStore({ dialect: 'sqlite', file: ':memory:' });
    try {
      for (let i = 0; i < 40; i++) {
        await store.db
          .insertInto('settings')
          .values({ key: `k${i}`, value: 'v' })
          .execute();
      }
      expect(checkpointWorkerRunning()).toBe(false);
    } finally {
      await store.close();
    }
  });
});
