/**
 * A database that runs out of space answers `StorageUnavailable` (503, retry later), never a bare
 * driver error that the HTTP edge would answer 500 (issue 8, item 10). Real driver errors: SQLite with
 * `max_page_count` set low gives a genuine SQLITE_FULL; PostgreSQL raises a genuine `disk_full`
 * (53100) from the server. Each case both inside `store.transaction` and outside it.
 */
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLancashError, LancashError } from '../core/errors.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { refusalOf } from '../test-support/refusals.js';
import { isUniqueViolation } from './index.js';
import { asOutage, isOutageCode } from './outage.js';
import { reusable } from './reusable.js';
import type { Database } from './schema.js';

describe.each(DIALECTS)('a full disk on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(() => store.close());

  /** Makes the next writes fail as on a full disk, with the driver's own error. */
  async function fillDisk(): Promise<(db: Kysely<Database>) => Promise<unknown>> {
    if (dialect === 'sqlite') {
      // Free pages (a migration dropped an index) would take the rows without growing the file.
      await sql`vacuum`.execute(store.db);
      const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(store.db);
      await sql.raw(`pragma max_page_count = ${rows[0]!.page_count}`).execute(store.db);
      // Rows that need new pages: SQLITE_FULL once the file may not grow.
      return (db) =>
        db
          .insertInto('settings')
          .values({ key: `k${Math.random()}`, value: 'x'.repeat(8000) })
          .execute();
    }
    return (db) =>
      sql`do $$ begin raise exception 'no space left' using errcode = 'disk_full'; end $$`.execute(db);
  }

  it('answers StorageUnavailable outside a transaction', async () => {
    const write = await fillDisk();
    const e = await refusalOf(write(store.db));
    expect(e.kind).toBe('StorageUnavailable');
    expect(e.status).toBe(503);
    expect((e.cause as { code?: string }).code).toBe(dialect === 'sqlite' ? 'SQLITE_FULL' : '53100');
  });

  it('answers StorageUnavailable inside a transaction, and the store still works afterwards', async () => {
    const write = await fillDisk();
    const e = await refusalOf(store.transaction((trx) => write(trx)));
    expect(e.kind).toBe('StorageUnavailable');
    expect(await store.db.selectFrom('settings').select('key').execute()).toBeInstanceOf(Array);
  });

  // A reusable statement inside a SQLite transaction runs without Kysely's executor (sqlite/direct.ts):
  // it must map outages, and leave other errors, as the executor's path does.
  it('maps a reusable statement’s outage inside a transaction, and leaves its other errors', async () => {
    await store.db.insertInto('settings').values({ key: 'same', value: '1' }).execute();
    const unique = await store
      .transaction((trx) => insertSetting(trx, 'same', '2'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isLancashError(unique)).toBe(false);
    expect(isUniqueViolation(unique)).toBe(true);
    if (dialect !== 'sqlite') return; // PostgreSQL's full disk is a raised error, not an insert (fillDisk)
    await fillDisk();
    const e = await refusalOf(
      store.transaction((trx) => insertSetting(trx, `k${Math.random()}`, 'x'.repeat(8000))),
    );
    expect(e.kind).toBe('StorageUnavailable');
    expect((e.cause as { code?: string }).code).toBe('SQLITE_FULL');
    expect(await store.db.selectFrom('settings').select('key').execute()).toHaveLength(1);
  });

  it('keeps other driver errors as they are (a unique violation is no outage)', async () => {
    await store.db.insertInto('settings').values({ key: 'same', value: '1' }).execute();
    const err = await store.db
      .insertInto('settings')
      .values({ key: 'same', value: '2' })
      .execute()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isLancashError(err)).toBe(false);
  });
});

const insertSetting = reusable((db, key: string, value: string) =>
  db.insertInto('settings').values({ key, value }),
);

describe('outage codes', () => {
  it('matches listed codes and SQLite’s extended codes of them, nothing else', () => {
    const listed = new Set(['SQLITE_IOERR', 'SQLITE_FULL', '53100']);
    expect(isOutageCode(listed, 'SQLITE_IOERR_WRITE')).toBe(true);
    expect(isOutageCode(listed, 'SQLITE_FULL')).toBe(true);
    expect(isOutageCode(listed, '53100')).toBe(true);
    expect(isOutageCode(listed, 'SQLITE_CONSTRAINT_UNIQUE')).toBe(false);
    expect(isOutageCode(listed, '23505')).toBe(false);
    const full = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    expect(asOutage(full, listed)).toBeInstanceOf(LancashError);
    expect(asOutage(new Error('plain'), listed)).toBeInstanceOf(Error);
  });
});
