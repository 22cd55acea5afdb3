/**
 * Opens a PostgreSQL pool (pg) for one store. int8 (and numeric, e.g. `sum(bigint)`) come back as
 * exact JS numbers through a per-pool type parser, so amounts read the same as on SQLite and the
 * process-global pg parsers stay untouched.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { safeNumber } from '../integers.js';
import type { Database } from '../schema.js';

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
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
