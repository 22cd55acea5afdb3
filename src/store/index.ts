/**
 * Storage: one query layer (Kysely) over SQLite (better-sqlite3, the embedded default) and PostgreSQL
 * (pg), with one set of migrations. Callers get a `Store`: the Kysely instance for reads and single
 * statements, and `transaction` for anything that must happen as a unit. What differs between the
 * databases lives in `sqlite/` and `postgres/` as capability flags; the code here reads the flags.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Kysely, Migrator, sql } from 'kysely';
import { describe, fail, isLancashError, LancashError } from '../core/errors.js';
import { SecretBox } from '../core/secret-box.js';
import { positiveInteger } from '../core/settings.js';
import type { Capabilities, DialectName } from './dialect.js';
import { migrationProvider } from './migrations/index.js';
import { isOutageCode } from './outage.js';
import { type PoolCounts, type PostgresConfig, poolCounts } from './postgres/connect.js';
import { postgres } from './postgres/index.js';
import type { Database } from './schema.js';
import { closeTransaction, type Direct, directOfStore, openTransaction } from './sqlite/direct.js';
import { sqlite } from './sqlite/index.js';

export type { Capabilities, DialectName } from './dialect.js';
export type { PoolCounts } from './postgres/connect.js';
export type * from './schema.js';

export type StoreConfig = (
  | { dialect: 'sqlite'; file: string /* ':memory:' allowed for tests */ }
  | ({ dialect: 'postgres' } & PostgresConfig /* url, poolSize, checkoutTimeoutMs, lockTimeoutMs */)
) & {
  /**
   * The operator's key material for secrets at rest (`LANCASH_SECRETS_KEY`, `--secrets-key-file`):
   * with it the seeds and private keys in `settings` are sealed (`core/secret-box.ts`).
   */
  secretsKey?: Uint8Array;
  /**
   * Refuse `transaction` called inside another transaction's `fn` (see `Store.transaction`). Tracking
   * that needs an AsyncLocalStorage, and on Node 20 one in use puts promise hooks on every promise of
   * the process (an awaited call then costs ~285 ns instead of ~115 ns), so it is a check for tests
   * and development: default `LANCASH_CHECK_NESTING=1` in the environment, which the test runner sets
   * for every test and the processes they start. Nesting is a fixed property of the code, not of the
   * data, so the tests that run each transaction's code path find it.
   */
  checkNesting?: boolean;
};

/** Whether stores check for nested transactions when their config does not say (`checkNesting`). */
const CHECK_NESTING_BY_DEFAULT = process.env.LANCASH_CHECK_NESTING === '1';

/** How one transaction commits (`Store.transaction`). */
export interface TransactionOptions {
  /**
   * false: the commit returns without waiting for its log to reach the disk (SQLite `synchronous =
   * NORMAL` for this transaction, PostgreSQL `synchronous_commit = off`; `relaxedCommit` of the
   * dialect). A crash of this process loses nothing either way; a power loss (on PostgreSQL also a
   * crash of the database server) may lose the last such commits, which are then as if never made.
   * Only for commits that move no value and whose loss redoes work at most: each use says why
   * (docs/storage.md, "Commits that move no value"). Default true: the commit is on disk when it returns.
   */
  durable?: boolean;
}

export interface Store {
  readonly dialect: DialectName;
  readonly db: Kysely<Database>;
  /**
   * Runs `fn` in ONE write transaction and returns its result; if `fn` throws, nothing of it stays.
   * SQLite: `BEGIN IMMEDIATE`, so writers from other processes queue on `busy_timeout`.
   * PostgreSQL: READ COMMITTED; when the database aborts the transaction for a serialization failure
   * or a deadlock (40001/40P01) `fn` runs again from the start, so `fn` must only touch the database
   * through `trx` (and keep any other effects until it returns). After a statement fails, rethrow:
   * PostgreSQL refuses every further statement of that transaction (SQLite would carry on), so code
   * that catches and continues works on one database only. Never call `transaction` inside `fn`
   * (pass `trx` down): it would deadlock SQLite and commit apart on PostgreSQL; the tests refuse it
   * (`StoreConfig.checkNesting`). `options.durable: false`: see `TransactionOptions`.
   */
  transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` once what `db` wrote is committed: after the commit of the transaction `db` belongs to
   * (never, if it rolls back or runs again), or at once when `db` is the store's own handle (its
   * statements commit as they run). For effects outside the database, e.g. telling live subscribers
   * (NUT-17) that states changed; `fn` runs synchronously and its errors are swallowed.
   */
  afterCommit(db: Kysely<Database>, fn: () => void): void;
  /** Seals and opens the secrets kept in this database; undefined when no secrets key was given. */
  readonly secrets: SecretBox | undefined;
  /**
   * Runs `fn`, single statements outside any transaction that overwrite a secret in place, so that
   * no old copy stays readable in the database's free space or log where the dialect can see to it
   * (SQLite: zeroed freed cells, an emptied WAL; PostgreSQL keeps old row versions until VACUUM).
   */
  overwriteSecurely<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** PostgreSQL: the pool's connections and waiting checkouts now (`/metrics`); absent or undefined on SQLite. */
  poolCounts?(): PoolCounts | undefined;
  close(): Promise<void>;
}

/** Connects, applies the dialect's settings and brings the schema to the latest migration. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const secrets = config.secretsKey === undefined ? undefined : SecretBox.fromMaterial(config.secretsKey);
  const { db, capabilities } = connect(config);
  try {
    await sql`select 1`.execute(db).catch((err: unknown) => {
      throw unavailable(err, `cannot reach the ${config.dialect} database`);
    });
    await migrate(db, capabilities);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
  const checkNesting = config.checkNesting ?? CHECK_NESTING_BY_DEFAULT;
  return new KyselyStore(config.dialect, db, capabilities, secrets, checkNesting);
}

/**
 * A store location as operators write it: `postgres://…` or `postgresql://…` is PostgreSQL;
 * `sqlite:PATH` (also `sqlite://PATH`, `sqlite::memory:`) or a plain file path is SQLite.
 */
export function parseStoreUrl(s: string): StoreConfig {
  const expected = 'postgres://…, postgresql://…, sqlite:PATH or a file path';
  if (typeof s !== 'string' || s.trim() === '') {
    fail(
      'InvalidInput',
      { argument: 'store url', expected, received: describe(s) },
      `store url: expected ${expected}`,
    );
  }
  if (/^postgres(?:ql)?:\/\//i.test(s)) return postgresConfig(s);
  const sqliteUrl = /^sqlite:(?:\/\/)?(.*)$/is.exec(s);
  if (sqliteUrl) {
    const file = sqliteUrl[1] ?? '';
    if (file === '') {
      fail(
        'InvalidInput',
        { argument: 'store url', expected, received: describe(s) },
        `store url: ${s} names no file`,
      );
    }
    return { dialect: 'sqlite', file };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    const scheme = s.slice(0, s.indexOf(':'));
    fail(
      'InvalidInput',
      { argument: 'store url', expected, received: `${scheme}://…` },
      `store url: expected ${expected}, got a ${scheme}:// url`,
    );
  }
  return { dialect: 'sqlite', file: s };
}

/**
 * lancash's own pool settings in a PostgreSQL URL's query (`?pool_size=20&checkout_timeout_ms=3000
 * &lock_timeout_ms=5000`), taken out before pg reads the URL: every other parameter is pg's (libpq's
 * `sslmode`, `host`, …).
 */
const POOL_PARAMETERS = {
  pool_size: 'poolSize',
  checkout_timeout_ms: 'checkoutTimeoutMs',
  lock_timeout_ms: 'lockTimeoutMs',
} as const;

/** A `postgres://` store URL with its pool settings (`POOL_PARAMETERS`) read out of it. */
function postgresConfig(s: string): StoreConfig {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return { dialect: 'postgres', url: s }; // pg reports what it cannot read, when it connects
  }
  const names = Object.keys(POOL_PARAMETERS) as (keyof typeof POOL_PARAMETERS)[];
  if (!names.some((name) => url.searchParams.has(name))) return { dialect: 'postgres', url: s };
  const settings: Partial<Record<(typeof POOL_PARAMETERS)[keyof typeof POOL_PARAMETERS], number>> = {};
  for (const name of names) {
    const text = url.searchParams.get(name);
    if (text === null) continue;
    const argument = `store url ${name}`;
    // Digits only: Number('') is 0, Number('1e3') 1000; a setting is written as the number it is.
    if (!/^[0-9]{1,15}$/.test(text)) {
      fail(
        'InvalidInput',
        { argument, expected: 'a positive integer', received: text },
        `${argument}: expected a positive integer, got ${JSON.stringify(text)}`,
      );
    }
    settings[POOL_PARAMETERS[name]] = positiveInteger(Number(text), argument);
    url.searchParams.delete(name);
  }
  return { dialect: 'postgres', url: url.href, ...settings };
}

const UNIQUE_VIOLATION_CODES = new Set([
  ...sqlite.capabilities.uniqueViolationCodes,
  ...postgres.capabilities.uniqueViolationCodes,
]);

/** True when `err` is a database's duplicate primary key / unique value error, on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const code = driverCode(err);
  return code !== undefined && UNIQUE_VIOLATION_CODES.has(code);
}

/** The one place that picks a dialect folder by name. */
function connect(config: StoreConfig): { db: Kysely<Database>; capabilities: Capabilities } {
  try {
    switch (config.dialect) {
      case 'sqlite':
        return { db: sqlite.connect(config), capabilities: sqlite.capabilities };
      case 'postgres':
        return { db: postgres.connect(config), capabilities: postgres.capabilities };
    }
  } catch (err) {
    // A config refused (InvalidInput) stays what it is: no retry later makes it valid.
    if (isLancashError(err)) throw err;
    throw unavailable(err, `cannot open the ${config.dialect} database`);
  }
  return fail(
    'InvalidInput',
    { argument: 'config.dialect', expected: "'sqlite' or 'postgres'", received: describe(config) },
    `config.dialect: expected 'sqlite' or 'postgres'`,
  );
}

/**
 * Applies pending migrations on one connection while holding the dialect's migration lock, so two
 * processes starting at once on one database do not both migrate (Kysely's own lock on PostgreSQL
 * covers only part of its work; SQLite's covers nothing across processes).
 */
async function migrate(db: Kysely<Database>, capabilities: Capabilities): Promise<void> {
  const lock = capabilities.migrationLock;
  await db.connection().execute(async (conn) => {
    for (const statement of lock.acquire) await sql.raw(statement).execute(conn);
    try {
      const { error, results } = await new Migrator({
        db: conn,
        provider: migrationProvider,
      }).migrateToLatest();
      if (error !== undefined) {
        const name = results?.find((r) => r.status === 'Error')?.migrationName ?? 'setup';
        const reason = `migration ${name} failed: ${messageOf(error)}`;
        throw new LancashError('Internal', { reason }, reason, { cause: error });
      }
    } catch (err) {
      for (const statement of lock.abort)
        await sql
          .raw(statement)
          .execute(conn)
          .catch(() => {});
      throw err;
    }
    for (const statement of lock.release) await sql.raw(statement).execute(conn);
  });
}

class KyselyStore implements Store {
  readonly #capabilities: Capabilities;
  /**
   * Set while this store runs a transaction's `fn`, to refuse nesting (it would deadlock SQLite);
   * undefined when not checked (`StoreConfig.checkNesting`).
   */
  readonly #inside: AsyncLocalStorage<true> | undefined;
  /** What runs after the commit of each open transaction, by its connection (`afterCommit`). */
  readonly #afterCommit = new WeakMap<Kysely<Database>, (() => void)[]>();
  /** SQLite: the connection's statements, run without Kysely inside a transaction (`sqlite/direct.ts`). */
  readonly #direct: Direct | undefined;
  /**
   * A relaxed transaction's `relaxedCommit.after` failed, so the connection may still commit without
   * waiting for the disk: the next transaction puts it back first (and fails if it cannot).
   */
  #relaxedLeft = false;
  #closing: Promise<void> | undefined;

  constructor(
    readonly dialect: DialectName,
    readonly db: Kysely<Database>,
    capabilities: Capabilities,
    readonly secrets: SecretBox | undefined,
    checkNesting: boolean,
  ) {
    this.#capabilities = capabilities;
    this.#inside = checkNesting ? new AsyncLocalStorage<true>() : undefined;
    this.#direct = directOfStore(db);
  }

  poolCounts(): PoolCounts | undefined {
    return poolCounts(this.db);
  }

  async overwriteSecurely<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    const { before, after } = this.#capabilities.secureOverwrite;
    return this.db.connection().execute(async (conn) => {
      for (const s of before) await sql.raw(s).execute(conn);
      try {
        return await fn(conn);
      } finally {
        for (const s of after) await sql.raw(s).execute(conn);
      }
    });
  }

  async transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const durable = options?.durable !== false;
    const inside = this.#inside;
    if (inside?.getStore()) {
      fail(
        'Internal',
        { reason: 'nested store.transaction' },
        'store.transaction was called inside another transaction of the same store; pass trx down instead',
      );
    }
    const caps = this.#capabilities;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db
          .connection()
          .execute((conn) =>
            inside === undefined
              ? this.#once(conn, fn, durable)
              : inside.run(true, () => this.#once(conn, fn, durable)),
          );
      } catch (err) {
        const code = driverCode(err);
        if (code === undefined || isLancashError(err)) throw err;
        if (caps.retryCodes.has(code)) {
          if (attempt < caps.maxAttempts) {
            // Random backoff, so the transactions that collided do not collide again in step.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));
            continue;
          }
          throw unavailable(err, `transaction aborted by conflicts ${attempt} times`);
        }
        if (isOutageCode(caps.unavailableCodes, code)) throw unavailable(err, 'database unavailable');
        throw err;
      }
    }
  }

  afterCommit(db: Kysely<Database>, fn: () => void): void {
    const queued = this.#afterCommit.get(db);
    if (queued !== undefined) queued.push(fn);
    else runQuietly(fn);
  }

  async #once<T>(
    conn: Kysely<Database>,
    fn: (trx: Kysely<Database>) => Promise<T>,
    durable: boolean,
  ): Promise<T> {
    const queued: (() => void)[] = [];
    this.#afterCommit.set(conn, queued);
    const direct = this.#direct;
    const run = async (statement: string): Promise<void> => {
      if (direct === undefined) await sql.raw(statement).execute(conn);
      else direct.rows(statement, NO_PARAMETERS);
    };
    // The one place that decides how a transaction commits: the dialect gives only the statements.
    const relaxed = this.#capabilities.relaxedCommit;
    if (this.#relaxedLeft) {
      for (const s of relaxed.after) await run(s);
      this.#relaxedLeft = false;
    }
    if (!durable) {
      // Marked first: should a `before` statement fail halfway, the next transaction puts it back.
      this.#relaxedLeft = relaxed.after.length > 0;
      for (const s of relaxed.before) await run(s);
    }
    try {
      await run(durable ? this.#capabilities.beginWrite : relaxed.begin);
      if (direct !== undefined) openTransaction(conn, direct);
      let result: T;
      try {
        result = await fn(conn);
        if (direct === undefined) await sql`commit`.execute(conn);
        else {
          closeTransaction(conn);
          direct.rows('commit', NO_PARAMETERS);
        }
      } catch (err) {
        // After a failed commit the transaction may already be gone; the error that matters is `err`.
        if (direct === undefined) await sql`rollback`.execute(conn).catch(() => {});
        else {
          closeTransaction(conn);
          try {
            direct.rows('rollback', NO_PARAMETERS);
          } catch {
            // as above
          }
        }
        throw err;
      }
      this.#afterCommit.delete(conn);
      for (const f of queued) runQuietly(f);
      return result;
    } finally {
      this.#afterCommit.delete(conn);
      if (direct !== undefined) closeTransaction(conn);
      if (!durable) await this.#restore(run, relaxed.after);
    }
  }

  /** Puts a relaxed transaction's connection back to durable commits; on failure the next one does. */
  async #restore(run: (statement: string) => Promise<void>, after: readonly string[]): Promise<void> {
    try {
      for (const s of after) await run(s);
      this.#relaxedLeft = false;
    } catch {
      // Left marked (`#relaxedLeft`): the transaction's own outcome stands, the next one restores first.
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.db.destroy();
    return this.#closing;
  }
}

const NO_PARAMETERS: readonly unknown[] = Object.freeze([]);

/** The driver's error code: SQLite's `SQLITE_…` name, PostgreSQL's SQLSTATE or a socket errno name. */
function driverCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** An after-commit effect's failure is its own business: the commit happened. */
function runQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // nothing to undo
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function unavailable(err: unknown, what: string): LancashError<'StorageUnavailable'> {
  if (isLancashError(err, 'StorageUnavailable')) return err;
  const reason = `${what}: ${messageOf(err)}`;
  return new LancashError('StorageUnavailable', { reason }, reason, { cause: err });
}
