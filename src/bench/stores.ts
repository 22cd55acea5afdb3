/**
 * Databases for benchmarks: SQLite in a temp file (durable settings, as in production) and PostgreSQL
 * at `DATABASE_URL` or on a throwaway durable server started for the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fail } from '../core/errors.js';
import { openStore, type Store } from '../store/index.js';
import { startThrowawayPostgres } from '../store/postgres/throwaway.js';
import { type StatementProbe, statementProbe } from './pg-stats.js';

/**
 * WAL segments the throwaway server makes and recycles before the run (512 MB at 16 MB each): a
 * server in service reuses the segments its checkpoints free, a fresh one creates each next segment
 * on the commit path, zero-filled and synced while every commit waits (`warmWal`). More than a
 * `--seconds 60` gateway run writes on either server (≈ 17 kB a conversion each: `--pg-stats`
 * counts the segments created in a window, `walSegmentsCreated`).
 */
const WAL_SEGMENTS = 32;

export interface BenchStore {
  store: Store;
  description: string;
  /** PostgreSQL with `pgStats`: this database's statement counters (`pg-stats.ts`). */
  statements?: StatementProbe;
  /** PostgreSQL: an admin URL of its server and the database's name (`pg-waits.ts` samples them). */
  activity?: Activity;
  close(): Promise<void>;
}

/** Where a PostgreSQL bench database's processes can be watched from (`pg-waits.ts`). */
export interface Activity {
  adminUrl: string;
  database: string;
}

export interface BenchStoreOptions {
  /**
   * PostgreSQL: count statements (`bench --pg-stats`). The throwaway server then loads
   * pg_stat_statements; a server at `DATABASE_URL` must load it already.
   */
  pgStats?: boolean;
  /** PostgreSQL: the server's admin URL; default `DATABASE_URL`, and without it (or '') a throwaway server. */
  serverUrl?: string;
}

export async function openBenchStore(dialect: string, o: BenchStoreOptions = {}): Promise<BenchStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'lancash-bench-'));
    const store = await openStore({ dialect: 'sqlite', file: join(dir, 'bench.db') });
    return {
      store,
      description: 'SQLite file, WAL, synchronous=FULL',
      close: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (dialect !== 'postgres')
    fail('InvalidInput', { argument: 'dialect', expected: 'sqlite or postgres', received: dialect });
  const own = (o.serverUrl ?? process.env.DATABASE_URL) || undefined;
  const server = own
    ? undefined
    : await startThrowawayPostgres({ durable: true, statements: o.pgStats, walSegments: WAL_SEGMENTS });
  // The throwaway server over its Unix socket, as a database on the same host is best reached.
  const admin = own ?? server!.socketUrl;
  const name = `lancash_bench_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const store = await openStore({ dialect: 'postgres', url: url.href, poolSize: 16 });
  const statements = o.pgStats
    ? await statementProbe(client, name).catch(async (e: unknown) => {
        await store.close();
        await client.end();
        await server?.stop();
        throw e;
      })
    : undefined;
  return {
    store,
    ...(statements ? { statements } : {}),
    activity: { adminUrl: admin, database: name },
    description: own
      ? `PostgreSQL at ${o.serverUrl ? 'the given URL' : 'DATABASE_URL'}`
      : `throwaway PostgreSQL, fsync on, Unix socket, ${WAL_SEGMENTS} WAL segments recycled ahead`,
    close: async () => {
      await store.close();
      await client.query(`DROP DATABASE ${name}`);
      await client.end();
      await server?.stop();
    },
  };
}
