/**
 * The storage test matrix (Kysely's `DIALECTS` habit): every storage, mint and integration test runs
 * once per dialect in `DIALECTS`, each on a brand-new empty database. Narrow the list with
 * `LANCASH_TEST_DIALECTS=sqlite`; point PostgreSQL tests at your own server with `DATABASE_URL`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { fail } from '../core/errors.js';
import { type DialectName, openStore, type Store, type StoreConfig } from '../store/index.js';
import type { Database } from '../store/schema.js';
import { dialectsFromEnv } from './env.js';

const server = inject('lancashPostgres') ?? null;

/** The dialects under test in this run: the env's list, less postgres when no server is available. */
export const DIALECTS: DialectName[] = dialectsFromEnv().filter((d) => d !== 'postgres' || server !== null);

/** The test PostgreSQL server's admin URL (may CREATE DATABASE), or undefined when it is not under test. */
export function postgresUrl(): string | undefined {
  return server?.adminUrl;
}

/** A new, empty database that nobody else uses, and how to get rid of it. */
export interface FreshDatabase {
  /** The database as `parseStoreUrl` reads it, for a second store or a second process. */
  url: string;
  config: StoreConfig;
  /** Deletes the database (closing any connections still open to it). */
  drop(): Promise<void>;
}

export async function freshDatabase(dialect: DialectName): Promise<FreshDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'lancash-t-'));
    const file = join(dir, 'store.sqlite');
    return {
      url: `sqlite:${file}`,
      config: { dialect, file },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const admin = postgresUrl();
  if (admin === undefined) {
    fail('StorageUnavailable', { reason: 'no test PostgreSQL' }, 'postgres is not under test in this run');
  }
  const name = `lancash_t_${randomBytes(8).toString('hex')}`;
  await asAdmin(admin, `create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    config: { dialect, url: url.href },
    drop: () => asAdmin(admin, `drop database if exists ${name} with (force)`),
  };
}

const leftovers: Array<() => Promise<void>> = [];
// Databases handed out by URL only are dropped when the test file ends.
afterAll(async () => {
  for (const drop of leftovers.splice(0)) await drop();
});

/** A fresh database's URL; the database is dropped after the current test file. */
export async function freshDatabaseUrl(dialect: DialectName): Promise<string> {
  const fresh = await freshDatabase(dialect);
  leftovers.push(fresh.drop);
  return fresh.url;
}

/** A store on a fresh, migrated database; its `close` also deletes the database. */
export interface TestStore extends Store {
  readonly url: string;
  readonly config: StoreConfig;
}

export async function freshStore(dialect: DialectName): Promise<TestStore> {
  const fresh = await freshDatabase(dialect);
  let store: Store;
  try {
    store = await openStore(fresh.config);
  } catch (err) {
    await fresh.drop();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    dialect: store.dialect,
    db: store.db,
    url: fresh.url,
    config: fresh.config,
    transaction: (fn, options) => store.transaction(fn, options),
    afterCommit: (db, fn) => store.afterCommit(db, fn),
    secrets: store.secrets,
    overwriteSecurely: <T>(fn: (db: Kysely<Database>) => Promise<T>) => store.overwriteSecurely(fn),
    poolCounts: () => store.poolCounts?.(),
    close: () => {
      closing ??= store.close().finally(() => fresh.drop());
      return closing;
    },
  };
}

/** Runs one statement as the user of `url` (the test server's admin URL, `postgresUrl()`), on a connection of its own. */
export async function asAdmin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
