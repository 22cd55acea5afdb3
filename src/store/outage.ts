/**
 * One place where a database outage becomes `StorageUnavailable` (503, "retry later"): a Kysely
 * dialect wrapped so that every query, every connection taken from the pool and every transaction
 * command turns a driver error whose code the dialect lists as an outage (full disk, I/O error, the
 * server unreachable or shutting down; `Capabilities.unavailableCodes`) into that error, keeping the
 * driver's error as `cause`. Without it such an error reached the HTTP edge as a 500 wherever a
 * repository ran a statement outside `store.transaction`. Other driver errors (unique violations,
 * serialization failures to retry) pass through untouched.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { isLancashError, LancashError } from '../core/errors.js';

/** True when `code` is listed, or is an extended code of a listed one (SQLite's `SQLITE_IOERR_WRITE`). */
export function isOutageCode(listed: ReadonlySet<string>, code: string): boolean {
  if (listed.has(code)) return true;
  const base = /^(SQLITE_[A-Z]+)_/.exec(code)?.[1];
  return base !== undefined && listed.has(base);
}

/** `err` as `StorageUnavailable` when it is an outage; otherwise `err` itself. */
export function asOutage(err: unknown, listed: ReadonlySet<string>): unknown {
  if (typeof err !== 'object' || err === null || isLancashError(err)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !isOutageCode(listed, code)) return err;
  const reason = `database unavailable (${code}): ${err instanceof Error ? err.message : String(err)}`;
  return new LancashError('StorageUnavailable', { reason }, reason, { cause: err });
}

/** `dialect` with its outages turned into `StorageUnavailable` (see the file comment). */
export function mappingOutages(dialect: Dialect, listed: ReadonlySet<string>): Dialect {
  const rethrow = (err: unknown): never => {
    throw asOutage(err, listed);
  };
  // A thunk: some drivers throw synchronously (better-sqlite3 under Kysely's SQLite connection).
  // Not an async function: this runs for every statement, and one `then` is the cheaper wrapper.
  const map = <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return run().then(undefined, rethrow);
    } catch (err) {
      return Promise.reject(asOutage(err, listed));
    }
  };
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => wrapDriver(dialect.createDriver(), map),
  };
}

function wrapDriver(driver: Driver, map: <T>(run: () => Promise<T>) => Promise<T>): Driver {
  // The driver's own methods need its own connection objects (PostgreSQL's release is private to it).
  const inner = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const wrappers = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const wrap = (c: DatabaseConnection): DatabaseConnection => {
    let w = wrappers.get(c);
    if (w === undefined) {
      w = {
        executeQuery: <R>(q: CompiledQuery): Promise<QueryResult<R>> => map(() => c.executeQuery<R>(q)),
        // Streams (not used by lancash's repositories) pass through as they are.
        streamQuery: <R>(q: CompiledQuery, chunkSize?: number) => c.streamQuery<R>(q, chunkSize),
      };
      wrappers.set(c, w);
      inner.set(w, c);
    }
    return w;
  };
  const unwrap = (w: DatabaseConnection): DatabaseConnection => inner.get(w) ?? w;
  const wrapped: Driver = {
    init: () => map(() => driver.init()),
    acquireConnection: async () => wrap(await map(() => driver.acquireConnection())),
    beginTransaction: (c: DatabaseConnection, s: TransactionSettings) =>
      map(() => driver.beginTransaction(unwrap(c), s)),
    commitTransaction: (c) => map(() => driver.commitTransaction(unwrap(c))),
    rollbackTransaction: (c) => map(() => driver.rollbackTransaction(unwrap(c))),
    releaseConnection: (c) => driver.releaseConnection(unwrap(c)),
    destroy: () => driver.destroy(),
  };
  if (driver.savepoint)
    wrapped.savepoint = (c, name, compile) => map(() => driver.savepoint!(unwrap(c), name, compile));
  if (driver.rollbackToSavepoint)
    wrapped.rollbackToSavepoint = (c, name, compile) =>
      map(() => driver.rollbackToSavepoint!(unwrap(c), name, compile));
  if (driver.releaseSavepoint)
    wrapped.releaseSavepoint = (c, name, compile) =>
      map(() => driver.releaseSavepoint!(unwrap(c), name, compile));
  return wrapped;
}
