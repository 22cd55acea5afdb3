/**
 * For migration tests: a connection to `config`'s database migrated up to, and not including, the
 * migration named `before`, as an older copy of the books was. The test writes its rows through it,
 * destroys it, and opens the store on `config` (which runs the rest).
 */
import { type Kysely, Migrator } from 'kysely';
import { expect } from 'vitest';
import type { StoreConfig } from '../store/index.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import { postgres } from '../store/postgres/index.js';
import { sqlite } from '../store/sqlite/index.js';

export async function migratedUpTo(
  config: StoreConfig,
  before: string,
): Promise<Kysely<Record<string, Record<string, unknown>>>> {
  const index = MIGRATIONS.findIndex(([name]) => name === before);
  expect(index, `no migration named ${before}`).toBeGreaterThan(0);
  const old = (config.dialect === 'sqlite'
    ? sqlite.connect(config)
    : postgres.connect(config)) as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const { error } = await new Migrator({
    db: old,
    provider: { getMigrations: async () => Object.fromEntries(MIGRATIONS.slice(0, index)) },
  }).migrateToLatest();
  expect(error).toBeUndefined();
  return old;
}
