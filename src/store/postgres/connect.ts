/**
 * Opens a PostgreSQL pool (pg) for one store. int8 (and numeric, e.g. `sum(bigint)`) come back as
 * exact JS numbers through a per-pool type parser, so amounts read the same as on SQLite and the
 * process-global pg parsers stay untouched. Long INSERTs that repeat run as named (server-side
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

export function connect(config: PostgresConfig): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    types: integerTypes(),
    application_name: 'lancash',
  });
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

/** SQL shorter than this is cheap to parse; long texts are multi-row INSERTs. */
const NAME_MIN_LENGTH = 1000;
/** Named statements per pool at most; each connection prepares each one at most once. */
const NAMED_MAX = 64;

/**
 * The pool, with long INSERTs (without RETURNING) that run a second time sent as named statements:
 * PostgreSQL then parses and plans a 64-row INSERT once per connection instead of on every execution
 * (~0.4 ms of server CPU each, a quarter of running it). Only INSERTs without RETURNING, whose
 * result never has rows, so a schema change cannot trip a cached result type. Bounded per pool.
 */
export function namingStatements(pool: pg.Pool): PostgresPool {
  const seen = new Set<string>();
  const names = new Map<string, string>();
  const nameFor = (text: string): string | undefined => {
    const known = names.get(text);
    if (known !== undefined || text.length < NAME_MIN_LENGTH || names.size >= NAMED_MAX) return known;
    if (!/^insert\b/i.test(text) || /\breturning\b/i.test(text)) return undefined;
    if (!seen.has(text)) {
      if (seen.size >= 4 * NAMED_MAX) seen.clear();
      seen.add(text);
      return undefined;
    }
    seen.delete(text);
    const name = `lancash_${names.size}`;
    names.set(text, name);
    return name;
  };
  // Kysely keeps one connection object per client, so each client gets one wrapper.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrappers.get(client);
    if (w === undefined) {
      // A Cursor (Kysely's streams) passes through untouched, as every SQL text that is not named.
      const query = (q: unknown, values?: readonly unknown[]): unknown => {
        const name = typeof q === 'string' ? nameFor(q) : undefined;
        if (name !== undefined) return client.query({ name, text: q as string, values: [...(values ?? [])] });
        return (client.query as (q: unknown, values?: readonly unknown[]) => unknown).call(client, q, values);
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
