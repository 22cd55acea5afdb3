/**
 * Opens a SQLite file (better-sqlite3, one connection per store) with the pragmas money needs:
 * WAL so readers never block the writer, `synchronous=FULL` so every commit is on disk when it
 * returns, `busy_timeout` so writers from other processes queue, `foreign_keys` on.
 * Integers are read as numbers and refused beyond ±(2^53 − 1) (`integers.ts`), like PostgreSQL's int8.
 * Prepared statements are kept per connection (Kysely would prepare every query again). WAL
 * checkpoints run on a worker thread (`checkpointer.ts`), not in a commit on the event loop. Inside
 * the store's transactions the same cache also runs statements without Kysely (`direct.ts`).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement, type UnknownRow } from 'kysely';
import { withinSafeRange } from '../integers.js';
import { mappingOutages } from '../outage.js';
import type { Database } from '../schema.js';
import { capabilities } from './capabilities.js';
import { attachCheckpointer, type Checkpointing } from './checkpointer.js';
import { Direct, registerStore } from './direct.js';

export interface SqliteConfig {
  /** A file path, or ':memory:' (tests). */
  file: string;
}

/** How long a writer waits for another process's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 5_000;

/** Prepared statements kept per connection, least recently used dropped first. */
const STATEMENT_CACHE_SIZE = 128;

/**
 * A statement whose rows are checked for integers beyond ±(2^53 − 1): better-sqlite3 reads INTEGER
 * as a double (its bigint mode costs a BigInt per value and a conversion back), and such a value
 * must fail, not come back rounded (`withinSafeRange`). The schema has no REAL column.
 */
function checkingIntegers(
  stmt: BetterSqlite3.Statement,
  sqlite: BetterSqlite3.Database,
  checkpointing: Checkpointing | undefined,
): CheckedStatement {
  return {
    reader: stmt.reader,
    readonly: stmt.readonly,
    all: (parameters) => {
      const rows = stmt.all(parameters as unknown[]) as UnknownRow[];
      for (const row of rows) checkRow(row);
      return rows;
    },
    run:
      // A pragma commits nothing (the relaxed commits' `synchronous`, `capabilities.ts`).
      checkpointing === undefined || /^\s*pragma\b/i.test(stmt.source)
        ? (parameters) => stmt.run(parameters as unknown[])
        : (parameters) => {
            const result = stmt.run(parameters as unknown[]);
            // Outside a transaction after a run: a commit, or a write that committed by itself.
            if (!sqlite.inTransaction) checkpointing.committed();
            return result;
          },
    *iterate(parameters) {
      for (const row of stmt.iterate(parameters as unknown[]) as IterableIterator<UnknownRow>) {
        yield checkRow(row);
      }
    },
  };
}

/** Kysely's statement, plus whether it only reads (`direct.ts` runs such reads at once). */
type CheckedStatement = SqliteStatement & { readonly readonly: boolean };

function checkRow(row: UnknownRow): UnknownRow {
  for (const column in row) {
    const value = row[column];
    if (typeof value === 'number') withinSafeRange(value, column);
  }
  return row;
}

/**
 * The connection with its prepared statements kept by SQL text: Kysely prepares every query anew,
 * and preparing a 64-row INSERT costs ~90 µs, about a tenth of running it. A statement still being
 * iterated is busy, so that query gets a fresh one. Recency is a counter per entry rather than the
 * Map's order, so a hit is one lookup.
 */
export function withStatementCache(
  sqlite: BetterSqlite3.Database,
  checkpointing?: Checkpointing,
): SqliteDatabase & { prepare(sql: string): CheckedStatement } {
  const cache = new Map<string, { stmt: BetterSqlite3.Statement; checked: CheckedStatement; used: number }>();
  let clock = 0;
  return {
    prepare(sql: string) {
      const hit = cache.get(sql);
      if (hit !== undefined && !hit.stmt.busy) {
        hit.used = ++clock;
        return hit.checked;
      }
      const stmt = sqlite.prepare(sql);
      const entry = { stmt, checked: checkingIntegers(stmt, sqlite, checkpointing), used: ++clock };
      cache.set(sql, entry);
      if (cache.size > STATEMENT_CACHE_SIZE) {
        let oldest: string | undefined;
        let min = Number.POSITIVE_INFINITY;
        for (const [key, e] of cache) {
          if (e.used < min) {
            min = e.used;
            oldest = key;
          }
        }
        if (oldest !== undefined) cache.delete(oldest);
      }
      return entry.checked;
    },
    close: () => sqlite.close(),
  };
}

/**
 * The file holds seeds, keys and blinding factors (issue 8 item 7): readable by its owner only. It is
 * created 0600 before SQLite opens it, since SQLite gives its `-wal` and `-shm` the database file's
 * mode; an existing file and those two are set 0600 again as a defence.
 */
function privateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600)); // an empty file is an empty database
}

function protect(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (err) {
      // Gone (no WAL yet), or another user's file that this one may only read: nothing to do here.
      const code = (err as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw err;
    }
  }
}

export function connect(config: SqliteConfig): Kysely<Database> {
  if (config.file !== ':memory:') privateFile(config.file);
  const sqlite = new BetterSqlite3(config.file);
  let checkpointing: Checkpointing | undefined;
  try {
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const wal = sqlite.pragma('journal_mode = WAL', { simple: true }) === 'wal'; // not for ':memory:'
    if (config.file !== ':memory:') protect(config.file);
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    if (wal) checkpointing = attachCheckpointer(sqlite, config.file, { busyTimeoutMs: BUSY_TIMEOUT_MS });
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const statements = withStatementCache(sqlite, checkpointing);
  const dialect = new SqliteDialect({ database: statements });
  if (checkpointing !== undefined) {
    const detach = checkpointing.detach;
    const createDriver = dialect.createDriver.bind(dialect);
    dialect.createDriver = () => {
      const driver = createDriver();
      const destroy = driver.destroy.bind(driver);
      // The worker's connection closes first: once the store is closed no connection of this process
      // holds the file (a restore may replace it), and the store's, the last, checkpoints the WAL away.
      driver.destroy = async () => {
        await detach();
        await destroy();
      };
      return driver;
    };
  }
  const db = new Kysely<Database>({ dialect: mappingOutages(dialect, capabilities.unavailableCodes) });
  registerStore(db, new Direct(statements, () => sqlite.inTransaction));
  return db;
}
