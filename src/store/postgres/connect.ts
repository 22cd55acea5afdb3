/**
 * Opens a PostgreSQL pool (pg) for one store. int8 (and numeric, e.g. `sum(bigint)`) come back as
 * exact JS numbers through a per-pool type parser, so amounts read the same as on SQLite and the
 * process-global pg parsers stay untouched. Statements that repeat run as named (server-side
 * prepared) statements, without asking again for result columns the connection already knows, and a
 * store transaction's BEGIN goes with its first statement.
 */
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { LancashError } from '../../core/errors.js';
import { positiveInteger } from '../../core/settings.js';
import { safeNumber } from '../integers.js';
import { mappingOutages } from '../outage.js';
import type { Database } from '../schema.js';
import { capabilities } from './capabilities.js';

export interface PostgresConfig {
  url: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
  /**
   * How long a statement or transaction waits for a pooled connection, milliseconds: for one to be
   * free when all are in use, or for a new one to connect; past it, `StorageUnavailable` (503, retry
   * later). Default `CHECKOUT_TIMEOUT_MS`.
   */
  checkoutTimeoutMs?: number;
  /**
   * How long a statement waits for a lock (a row another transaction updated, a table), milliseconds:
   * past it, `StorageUnavailable` (503, retry later) and its transaction rolls back. Default
   * `LOCK_TIMEOUT_MS`. Migrations wait without it (`capabilities.migrationLock`).
   */
  lockTimeoutMs?: number;
}

/**
 * The default bound on a lock wait (`PostgresConfig.lockTimeoutMs`, the server's `lock_timeout` of
 * every pooled connection, sent when it connects: no statement a transaction). A transaction that
 * waits holds its pooled connection and whatever it locked before: without a bound, one slow holder
 * kept a chain of requests waiting, and the pool with them, for as long as it held on. Above the
 * server's `deadlock_timeout` (1 s), so a circle is still broken and retried as a deadlock; far above
 * the waits of a loaded bench (a group commit holds its rows ≈ 0.1 s at its slowest).
 */
export const LOCK_TIMEOUT_MS = 5_000;

/**
 * The default bound on a checkout (`PostgresConfig.checkoutTimeoutMs`). Without one a request behind
 * an exhausted pool waited as long as the connections stayed taken (slow clients' writes, a lock held
 * elsewhere, a flood): every route hung instead of answering. Long enough that a burst's queueing
 * never meets it (`bench gateway --rate none` on PostgreSQL, pool 16, a loaded machine: the longest
 * of 2 270 checkouts waited 0.1 s), short enough that the 503 reaches a peer before its own call
 * gives up (`DEFAULT_CALL_TIMEOUT_MS`, 10 s).
 */
export const CHECKOUT_TIMEOUT_MS = 5_000;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

function integerTypes(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, 'text', (text) => safeNumber(text, 'int8 value'));
  types.setTypeParser(NUMERIC_OID, 'text', (text) => safeNumber(text, 'numeric value'));
  return types;
}

/**
 * The pool's settings. Its connections stay open once made (no idle timeout; at most `poolSize`): a
 * connection pg's default closes after 10 s idle is opened again at the next burst, and the server
 * pays a new backend (its start, its catalog caches) and prepares and plans the named statements
 * again (five custom plans each before a generic one). Under `bench gateway` that churn was 1–15
 * backends every 10 s.
 */
export function poolConfig(config: PostgresConfig): pg.PoolConfig {
  return {
    connectionString: config.url,
    max: positiveInteger(config.poolSize ?? 10, 'poolSize'),
    idleTimeoutMillis: 0,
    // pg-pool bounds with it both the wait in its queue for a busy pool's next free connection and a
    // new connection's connect (pg-pool/index.js `connect`, `newClient`); 0 would be no bound at all.
    connectionTimeoutMillis: positiveInteger(
      config.checkoutTimeoutMs ?? CHECKOUT_TIMEOUT_MS,
      'checkoutTimeoutMs',
    ),
    lock_timeout: positiveInteger(config.lockTimeoutMs ?? LOCK_TIMEOUT_MS, 'lockTimeoutMs'),
    types: integerTypes(),
    application_name: 'lancash',
  };
}

/**
 * pg-pool's errors when a checkout met `connectionTimeoutMillis` (pg-pool/index.js 3.x): waiting in
 * its queue, and connecting a new client. They carry no code, so the message is what tells them apart.
 */
const QUEUE_TIMEOUT = 'timeout exceeded when trying to connect';
const CONNECT_TIMEOUT = 'Connection terminated due to connection timeout';

/**
 * `err` from a checkout as `StorageUnavailable` when it is the checkout's timeout; otherwise `err`
 * itself (a refused or dropped connection is mapped by its code in `outage.ts`). A checkout that timed
 * out took no connection and ran nothing. A store transaction takes its connection before its BEGIN
 * and keeps it to its end, so its statements never check out; one that takes a second connection (a
 * read through `store.db` instead of `trx`) fails at the bound and rolls back as on any outage.
 */
export function checkoutTimedOut(err: unknown, timeoutMs: number): unknown {
  const message = err instanceof Error ? err.message : undefined;
  if (message !== QUEUE_TIMEOUT && message !== CONNECT_TIMEOUT) return err;
  const reason =
    message === QUEUE_TIMEOUT
      ? `no database connection became free within ${timeoutMs} ms: the server is busy, retry later`
      : `could not connect to the database within ${timeoutMs} ms: retry later`;
  return new LancashError('StorageUnavailable', { reason }, reason, { cause: err });
}

/**
 * The store's transaction openings (`Capabilities.beginWrite`, `relaxedCommit.begin`), each as the
 * statements it runs: the relaxed one is two, joined for the simple protocol's one message.
 */
export const OPENINGS: ReadonlyMap<string, readonly string[]> = new Map(
  [capabilities.beginWrite, capabilities.relaxedCommit.begin].map((text) => [
    text,
    text.split(';').map((s) => s.trim()),
  ]),
);

export function connect(config: PostgresConfig): Kysely<Database> {
  const settings = poolConfig(config);
  const pool = new pg.Pool(settings);
  // An idle connection the server drops (restart, DROP DATABASE … FORCE) must not crash the
  // process; the pool replaces it, and queries in flight fail on their own.
  pool.on('error', () => {});
  const timeoutMs = settings.connectionTimeoutMillis ?? CHECKOUT_TIMEOUT_MS;
  const pooled = namingStatements(pool, OPENINGS, (err) => checkoutTimedOut(err, timeoutMs));
  const db = new Kysely<Database>({
    dialect: mappingOutages(new PostgresDialect({ pool: pooled }), capabilities.unavailableCodes),
  });
  const max = settings.max ?? 10;
  pools.set(db, () => ({
    max,
    busy: pool.totalCount - pool.idleCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
  }));
  return db;
}

/** A pool's connections as it stands (`Store.poolCounts`, the `/metrics` gauges of `store/metrics.ts`). */
export interface PoolCounts {
  /** Connections it keeps at most (`poolSize`). */
  max: number;
  /** Connections taken by a statement or a transaction. */
  busy: number;
  /** Connections open and free. */
  idle: number;
  /** Checkouts waiting for a connection (each fails past `checkoutTimeoutMs`). */
  waiting: number;
}

const pools = new WeakMap<Kysely<Database>, () => PoolCounts>();

/** The pool counts of a `db` made by `connect`; undefined for any other. */
export function poolCounts(db: Kysely<Database>): PoolCounts | undefined {
  return pools.get(db)?.();
}

/**
 * Distinct statements a pool names at most (each connection prepares a name the first time it runs
 * it); past that, new texts run unnamed. The code has a few hundred statement shapes; IN lists of
 * every length and multi-row INSERTs of every size add some.
 */
const NAMED_MAX = 2000;
/** Texts seen once and not named yet, at most; cleared when full (they only wait for a second sight). */
const SEEN_MAX = 4 * NAMED_MAX;

/** Statements that are planned: the only ones worth naming (not BEGIN, COMMIT, SAVEPOINT, SET, DDL…). */
const PLANNED = /^\s*(?:select|insert|update|delete|with)\b/i;
/**
 * A `*` in a select list or RETURNING (`select *`, `select "t".*`, `returning *`, `, *`), not
 * `count(*)` nor a product. A named statement fixes its result columns: once a migration adds a
 * column under a running process, it fails with "cached plan must not change result type".
 */
const STAR = /(?:\bselect|\bdistinct|\breturning|,)\s*(?:(?:"[^"]*"|\w+)\s*\.\s*)?\*/i;

/** Whether a statement may run as a named statement: planned, with its result columns listed. */
export function nameable(text: string): boolean {
  return PLANNED.test(text) && !STAR.test(text);
}

/** SQLSTATE feature_not_supported as a named statement's result type changed under it (a migration). */
function stalePlan(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return (
    code === '0A000' &&
    typeof message === 'string' &&
    message.includes('cached plan must not change result type')
  );
}

/** pg's transaction status of a client as of its last ReadyForQuery: 'I' idle, 'T' in one, 'E' failed one. */
function transactionStatus(client: pg.PoolClient): unknown {
  return (client as unknown as { _txStatus?: unknown })._txStatus;
}

/** pg's `Query` as far as this file extends it (pg/lib/query.js; not in pg's type declarations). */
interface PgQuery extends pg.Submittable {
  name?: string;
  /** Whether pg sends the statement by the extended protocol (Parse/Bind/Describe/Execute/Sync). */
  requiresPreparation(): boolean;
  /** Writes the extended protocol's messages for the statement (pg corks the socket around it). */
  prepare(connection: PgConnection): void;
  /** The server's RowDescription: the result's fields and their parsers (`Result.addFields`). */
  handleRowDescription(msg: { fields: readonly pg.FieldDef[] }): void;
  /** A statement's CommandComplete (one per statement of the Sync: an opening's, then this one's). */
  handleCommandComplete(msg: unknown, connection: PgConnection): void;
  /** The Sync's ReadyForQuery: the query is over, its callback called (an error was reported already). */
  handleReadyForQuery(connection: PgConnection): void;
  /** The query's error (the server's, or pg's own while binding its values). */
  handleError(err: unknown, connection: PgConnection): void;
  /** A row pg could not parse; reported (as the query's error) at ReadyForQuery. */
  _canceledDueToError: unknown;
  /** The result being filled (a new one for each statement after the first: `_checkForMultirow`). */
  _result: PgResult;
  /** Starts the next statement's result if this one's is complete (pg's first step of a RowDescription). */
  _checkForMultirow(): void;
  /** Whether rows are kept in the result (pg's second step of a RowDescription). */
  _accumulateRows: boolean;
  callback?: unknown;
  listenerCount(event: string): number;
}
/** pg's `Result` as far as a RowDescription sets it (pg/lib/result.js `addFields`). */
interface PgResult {
  fields: readonly pg.FieldDef[];
  /** One parser a column, from the pool's type parsers (`integerTypes`) by type and format. */
  _parsers: readonly unknown[] | undefined;
  /** The row object each row starts as a copy of: every column, null. */
  _prebuiltEmptyResultObject: object | null;
}
/** pg's `Connection` writers used here (pg/lib/connection.js). */
interface PgConnection {
  bind(config: { statement: string }): void;
  execute(config: Record<string, never>): void;
  describe(config: { type: string; name: string }): void;
}
type PgQueryClass = new (
  text: string,
  values: unknown[],
  callback: (err: Error | undefined, result: pg.QueryResult | pg.QueryResult[]) => void,
) => PgQuery;

/**
 * A named statement's result columns as the server described them on one connection, with what pg
 * made of them for its result (each column's parser, the empty row): `null` for a statement that
 * returns no rows (the server's NoData).
 */
export type Described = Readonly<PgResult> | null;

/** Each connection as pg's `Query.prepare` writes to it with its Describe left out, made once. */
const undescribed = new WeakMap<PgConnection, PgConnection>();
function withoutDescribe(connection: PgConnection): PgConnection {
  let view = undescribed.get(connection);
  if (view === undefined) {
    // Everything else is the connection's own (its prototype): its stream, its statements.
    view = Object.create(connection, { describe: { value: () => {} } }) as PgConnection;
    undescribed.set(connection, view);
  }
  return view;
}

/**
 * A statement sent after the Bind and Execute of a transaction's opening statements (prepared on the
 * connection before), all before the statement's one Sync: one write and one round trip where the
 * BEGIN took its own. No Parse goes before the statement's own (pg would take its reply for the
 * statement's). Should an opening statement fail, the server skips every message up to the Sync, the
 * statement with them (the extended protocol's error rule), so the statement never runs outside the
 * transaction it was written for; the error is the statement's.
 */
class OpenedQuery extends (pg.Query as unknown as PgQueryClass) {
  opening: readonly string[] = [];
  /**
   * This named statement's result columns as this connection described them before, if known: then
   * no Describe is sent, and the fields are handed to the result where the server's RowDescription
   * would have come.
   */
  described: Described | undefined = undefined;
  /** Called with the statement's description once a run that asked for it succeeded. */
  learn: ((described: Described) => void) | undefined = undefined;
  /** The RowDescription of this run, when it asked for one. */
  #seen: Described = null;
  /** CommandCompletes so far: the opening's come before this statement's messages. */
  #completed = 0;
  #failed = false;
  override requiresPreparation(): boolean {
    return true;
  }
  override prepare(connection: PgConnection): void {
    for (const statement of this.opening) {
      connection.bind({ statement });
      connection.execute({});
    }
    if (this.described === undefined) {
      super.prepare(connection);
      return;
    }
    super.prepare(withoutDescribe(connection));
    if (this.opening.length === 0) this.#describe();
  }
  /**
   * The connection's description handed to the result, as pg's `handleRowDescription` takes the
   * server's, without `Result.addFields` building the parsers and the empty row again (they are only
   * read: `Result.parseRow` copies the empty row).
   */
  #describe(): void {
    const described = this.described;
    if (described === null || described === undefined) return;
    this._checkForMultirow();
    const result = this._result;
    result.fields = described.fields;
    result._parsers = described._parsers;
    result._prebuiltEmptyResultObject = described._prebuiltEmptyResultObject;
    this._accumulateRows = this.callback !== undefined || this.listenerCount('row') === 0;
  }
  override handleRowDescription(msg: { fields: readonly pg.FieldDef[] }): void {
    super.handleRowDescription(msg);
    const { fields, _parsers, _prebuiltEmptyResultObject } = this._result;
    this.#seen = { fields, _parsers, _prebuiltEmptyResultObject };
  }
  override handleCommandComplete(msg: unknown, connection: PgConnection): void {
    super.handleCommandComplete(msg, connection);
    if (++this.#completed === this.opening.length && this.described !== undefined) this.#describe();
  }
  override handleError(err: unknown, connection: PgConnection): void {
    this.#failed = true;
    super.handleError(err, connection);
  }
  override handleReadyForQuery(connection: PgConnection): void {
    // Learnt only from a run that succeeded: a failed one may not have had its Describe answered.
    if (this.described === undefined && !this.#failed && !this._canceledDueToError) this.learn?.(this.#seen);
    super.handleReadyForQuery(connection);
  }
}

/** What Kysely reads of a query's result, for an opening sent later (`namingStatements`). */
const OPENED = Object.freeze({ command: 'BEGIN', rowCount: null, rows: Object.freeze([]) });

/**
 * The pool, with every planned statement that runs a second time sent as a named (server-side
 * prepared) statement: PostgreSQL then parses and plans it once per connection (or reuses a generic
 * plan) instead of on every execution; a keyed SELECT costs ≈ 40 % of its CPU unnamed
 * (docs/performance.md). Not named: transaction control and other unplanned statements, and any
 * statement with `*` in its result columns, which a migration adding a column would break. Should a
 * named statement's result type change all the same (a column's type changed), its text gets a fresh
 * name, so each connection prepares it again, and the statement runs again if no transaction was
 * open (the failed one did nothing); inside a transaction the error ends it, as any other would.
 *
 * `openings` (text → its statements): a transaction opening the store sends (`BEGIN …`) is not sent
 * when asked but with the connection's next statement, in the same write and before the same Sync
 * (`OpenedQuery`): a round trip less a transaction, ≈ 35 µs of the server's CPU and the client's
 * write, read and wake-up. Its reply is taken as given (the BEGIN of a transaction on an idle
 * connection cannot fail without the statement after it failing too, see `OpenedQuery`). The first
 * time on a connection each opening statement runs alone, as a named statement, to prepare it. Kysely's
 * own transactions (`begin`, the migrator's) are not openings and run as sent.
 *
 * A named statement's result columns are asked for (Describe) and parsed (RowDescription) on its
 * first successful run on a connection only; later runs send Bind/Execute/Sync and the fields are
 * handed to pg's result from the connection's copy (`OpenedQuery.described`). That copy cannot go
 * stale: the server refuses to run a prepared statement whose result type changed
 * ("cached plan must not change result type", the `stalePlan` path above, which renames it) before
 * sending any row, and the protocol's prepared statement lives as long as its connection. Text
 * format, as pg binds every statement here. The parsers and the empty row pg builds from the fields
 * are kept with them. Saves the server's Describe, the client's parse of its reply and the result's
 * set-up: 18 → 12 µs of the client's CPU for a 2-column keyed SELECT, 30 → 15 µs for 12 columns
 * (docs/performance.md, round eleven).
 */
export function namingStatements(
  pool: pg.Pool,
  openings: ReadonlyMap<string, readonly string[]> = new Map(),
  /**
   * What a failed checkout throws, given pg-pool's error (`checkoutTimedOut`): mapped here rather
   * than in a wrapper of its own, which would add a promise to every checkout.
   */
  checkoutError: (err: unknown) => unknown = (err) => err,
): PostgresPool {
  const seen = new Set<string>();
  const names = new Map<string, string>();
  /** Texts that are never named, so each is tested once; bounded like `seen`. */
  const unnamed = new Set<string>();
  let made = 0;
  const nameFor = (text: string): string | undefined => {
    const known = names.get(text);
    if (known !== undefined || unnamed.has(text) || names.size >= NAMED_MAX) return known;
    if (!seen.has(text)) {
      if (!nameable(text)) {
        if (unnamed.size >= SEEN_MAX) unnamed.clear();
        unnamed.add(text);
      } else {
        if (seen.size >= SEEN_MAX) seen.clear();
        seen.add(text);
      }
      return undefined;
    }
    seen.delete(text);
    const name = `lancash_${made++}`;
    names.set(text, name);
    return name;
  };
  /** A fresh name for `text` unless another connection already gave it one. */
  const renamed = (text: string, stale: string): string => {
    if (names.get(text) === stale) names.set(text, `lancash_${made++}`);
    return names.get(text) ?? stale;
  };
  /** Each opening statement's name, the same on every connection, and back. */
  const openingNames = new Map<string, string>();
  const openingTexts = new Map<string, string>();
  for (const statements of openings.values()) {
    for (const s of statements) {
      if (openingNames.has(s)) continue;
      const name = `lancash_open_${openingNames.size}`;
      openingNames.set(s, name);
      openingTexts.set(name, s);
    }
  }
  const openingName = (statement: string): string => openingNames.get(statement) ?? '';
  // Kysely keeps one connection object per client, so each client gets one wrapper.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrappers.get(client);
    if (w === undefined) {
      /** The opening statements prepared on this connection, by name. */
      const prepared = new Set<string>();
      /** An opening asked for and not sent yet: its statements' names. */
      let pending: readonly string[] | undefined;
      /**
       * The result columns of the named statements this connection ran, by name, as its server
       * described them (`OpenedQuery.described`). A connection the pool replaces is a new client with
       * none; a statement's error forgets its entry, and a renamed statement (`stalePlan`) starts
       * without one.
       */
      const descriptions = new Map<string, Described>();
      /** `text` as a pg query, named when `name` is given, after the opening `opening` if any. */
      const send = (
        text: string,
        values: readonly unknown[] | undefined,
        name: string | undefined,
        opening: readonly string[],
      ) =>
        new Promise<pg.QueryResult>((resolve, reject) => {
          const q = new OpenedQuery(text, [...(values ?? [])], (err, result) => {
            if (err !== undefined && err !== null) {
              if (name !== undefined) descriptions.delete(name);
              reject(err);
            }
            // With an opening, pg gives one result per statement: the opening's first, then this one's.
            else resolve(Array.isArray(result) ? (result[result.length - 1] as pg.QueryResult) : result);
          });
          if (name !== undefined) {
            q.name = name;
            q.described = descriptions.get(name);
            if (q.described === undefined) q.learn = (described) => descriptions.set(name, described);
          }
          q.opening = opening;
          client.query(q);
        });
      const plain = (q: unknown, values?: readonly unknown[]): unknown =>
        (client.query as (q: unknown, values?: readonly unknown[]) => unknown).call(client, q, values);
      /** Each opening statement alone, named, so that later openings can go with a statement. */
      const prepareOpening = async (statements: readonly string[]) => {
        let result: pg.QueryResult | undefined;
        for (const s of statements) {
          const name = openingName(s);
          result = await client.query({ name, text: s });
          prepared.add(name);
        }
        return result;
      };
      const query = (q: unknown, values?: readonly unknown[]): unknown => {
        if (typeof q === 'string') {
          const opening = openings.get(q);
          if (opening !== undefined && pending === undefined && transactionStatus(client) === 'I') {
            const opened = opening.map(openingName);
            if (!opened.every((n) => prepared.has(n))) return prepareOpening(opening);
            pending = opened;
            return Promise.resolve(OPENED);
          }
        }
        const opening = pending ?? [];
        pending = undefined;
        // A statement that cannot follow the opening in its Sync (a Cursor; several statements in one
        // text, which only the simple protocol takes) waits for the opening to run alone first.
        if (opening.length > 0 && (typeof q !== 'string' || q.includes(';'))) {
          return sendAlone(opening).then(() => query(q, values));
        }
        if (typeof q !== 'string') return plain(q, values);
        const name = nameFor(q);
        if (name === undefined)
          return opening.length > 0 ? send(q, values, undefined, opening) : plain(q, values);
        // Whether the statement runs outside any transaction block, read before it is sent and only then:
        // pg reports its error on the ErrorResponse, before the ReadyForQuery that updates the client's
        // status, so read in the error's handler the status of a statement that opened its transaction
        // (an opening before it) can still be idle, and the statement would go again into the failed one.
        const alone = opening.length === 0 && transactionStatus(client) === 'I';
        return send(q, values, name, opening).catch((err: unknown) => {
          if (!stalePlan(err)) throw err;
          const fresh = renamed(q, name);
          if (!alone) throw err;
          return send(q, values, fresh, []);
        });
      };
      /** An opening's statements by themselves (before a statement that cannot take them along). */
      const sendAlone = async (opening: readonly string[]) => {
        for (const name of opening) await client.query({ name, text: openingTexts.get(name) ?? '' });
      };
      w = {
        query: query as PostgresPoolClient['query'],
        release: (destroy?: boolean) => {
          // An opening never followed by a statement opened nothing: nothing to close.
          pending = undefined;
          client.release(destroy);
        },
      };
      wrappers.set(client, w);
    }
    return w;
  };
  return {
    connect: async () => {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw checkoutError(err);
      }
      return wrap(client);
    },
    end: () => pool.end(),
  };
}
