/**
 * Opens a PostgreSQL pool (pg) for one store. int8 (and numeric, e.g. `sum(bigint)`) come back as
 * exact JS numbers through a per-pool type parser, so amounts read the same as on SQLite and the
 * process-global pg parsers stay untouched. Statements that repeat run as named (server-side
 * prepared) statements.
 */
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { safeNumber } from '../integers.js';
import { mappingOutages } from '../outage.js';
import type { Database } from '../schema.js';
import { capabilities } from './capabilities.js';

export interface PostgresConfig {
  url: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
}

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
    max: config.poolSize ?? 10,
    idleTimeoutMillis: 0,
    types: integerTypes(),
    application_name: 'lancash',
  };
}

export function connect(config: PostgresConfig): Kysely<Database> {
  const pool = new pg.Pool(poolConfig(config));
  // An idle connection the server drops (restart, DROP DATABASE … FORCE) must not crash the
  // process; the pool replaces it, and queries in flight fail on their own.
  pool.on('error', () => {});
  return new Kysely<Database>({
    dialect: mappingOutages(
      new PostgresDialect({ pool: namingStatements(pool) }),
      capabilities.unavailableCodes,
    ),
  });
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

/**
 * The pool, with every planned statement that runs a second time sent as a named (server-side
 * prepared) statement: PostgreSQL then parses and plans it once per connection (or reuses a generic
 * plan) instead of on every execution; a keyed SELECT costs ≈ 40 % of its CPU unnamed
 * (docs/performance.md). Not named: transaction control and other unplanned statements, and any
 * statement with `*` in its result columns, which a migration adding a column would break. Should a
 * named statement's result type change all the same (a column's type changed), its text gets a fresh
 * name, so each connection prepares it again, and the statement runs again if no transaction was
 * open (the failed one did nothing); inside a transaction the error ends it, as any other would.
 */
export function namingStatements(pool: pg.Pool): PostgresPool {
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
  // Kysely keeps one connection object per client, so each client gets one wrapper.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrappers.get(client);
    if (w === undefined) {
      const named = (name: string, text: string, values: readonly unknown[] | undefined) =>
        client.query({ name, text, values: [...(values ?? [])] });
      // A Cursor (Kysely's streams) passes through untouched, as every SQL text that is not named.
      const query = (q: unknown, values?: readonly unknown[]): unknown => {
        const name = typeof q === 'string' ? nameFor(q) : undefined;
        if (name === undefined) {
          return (client.query as (q: unknown, values?: readonly unknown[]) => unknown).call(
            client,
            q,
            values,
          );
        }
        const text = q as string;
        return named(name, text, values).catch((err: unknown) => {
          if (!stalePlan(err)) throw err;
          const fresh = renamed(text, name);
          if (transactionStatus(client) !== 'I') throw err;
          return named(fresh, text, values);
        });
      };
      w = {
        query: query as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy),
      };
      wrappers.set(client, w);
    }
    return w;
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}
