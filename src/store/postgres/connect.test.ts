/**
 * Named statements on PostgreSQL: a planned statement becomes a server-side prepared statement from
 * its second run on and gives the same results; transaction control and statements with `*` in their
 * result columns stay unnamed, so a column another process adds (a rolling upgrade's migration) breaks
 * nothing; a result type changed under a named statement costs at most the one statement in flight.
 */
import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DIALECTS, freshDatabaseUrl } from '../../test-support/dialects.js';
import { openStore, type Store } from '../index.js';
import type { Database } from '../schema.js';
import { nameable, poolConfig } from './connect.js';

describe('nameable', () => {
  it('takes planned statements with listed result columns only', () => {
    for (const text of [
      'select "value" from "settings" where "key" = $1',
      'select count(*) as "n" from "mint_proofs"',
      'update "t" set "a" = "a" * $1 where "id" = $2 returning "id", "a"',
      '  WITH x AS (select 1 as a) select a from x',
      'insert into "t" ("a") values ($1) on conflict do nothing',
      'delete from "t" where "id" = $1 returning "id"',
    ]) {
      expect(nameable(text), text).toBe(true);
    }
    for (const text of [
      'select * from "settings"',
      'select distinct * from "t"',
      'select "t".* from "t"',
      'select "a", "t" . * from "t"',
      'select a, * from t',
      'insert into "t" ("a") values ($1) returning *',
      'update t set a = 1 returning t.*',
      'begin isolation level read committed',
      'commit',
      'rollback',
      'savepoint "group_write"',
      'release savepoint "group_write"',
      'set statement_timeout = 0',
      'alter table "t" add column "b" text',
    ]) {
      expect(nameable(text), text).toBe(false);
    }
  });
});

describe('poolConfig', () => {
  it('keeps the connections it opened (no idle timeout), at most poolSize (default 10)', () => {
    const url = 'postgres://u@localhost/db';
    expect(poolConfig({ url })).toMatchObject({ connectionString: url, max: 10, idleTimeoutMillis: 0 });
    expect(poolConfig({ url, poolSize: 16 }).max).toBe(16);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('postgres connection', () => {
  /** A store on one connection, so every statement runs in the session whose statements we list. */
  const oneConnection = async (url: string) => openStore({ dialect: 'postgres', url, poolSize: 1 });
  /** The texts on `settings` this session prepared (migrating prepared some of its own). */
  const prepared = async (db: Kysely<Database>) =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db)).rows
      .map((r) => r.statement)
      .filter((s) => s.includes('"settings"'));
  const readValue = (store: Store) =>
    store.db.selectFrom('settings').select('value').where('key', '=', 'k').executeTakeFirstOrThrow();
  const readAll = (store: Store) =>
    store.db.selectFrom('settings').selectAll().where('key', '=', 'k').executeTakeFirstOrThrow();

  it('prepares repeated statements by name, and not transaction control or `*`', async () => {
    const store = await oneConnection(await freshDatabaseUrl('postgres'));
    try {
      const rows = (from: number) =>
        Array.from({ length: 120 }, (_, i) => ({
          key: `key-${String(from + i).padStart(4, '0')}`,
          value: 'v',
        }));
      const insert = (from: number) =>
        store.db
          .insertInto('settings')
          .values(rows(from))
          .onConflict((oc) => oc.column('key').doNothing())
          .executeTakeFirst();
      expect((await insert(0)).numInsertedOrUpdatedRows).toBe(120n);
      expect(await prepared(store.db)).toEqual([]);
      expect((await insert(120)).numInsertedOrUpdatedRows).toBe(120n);
      expect((await insert(0)).numInsertedOrUpdatedRows).toBe(0n); // same statement, conflicts
      expect(await prepared(store.db)).toHaveLength(1);
      for (let i = 0; i < 3; i++) {
        await store.transaction(async (trx) => {
          const keys = await trx.selectFrom('settings').select('key').where('key', 'like', 'key-%').execute();
          expect(keys).toHaveLength(240);
          await trx
            .selectFrom('settings')
            .selectAll()
            .where('key', '=', 'key-0001')
            .executeTakeFirstOrThrow();
        });
      }
      const texts = await prepared(store.db);
      expect(texts).toHaveLength(2);
      expect(texts.some((t) => /^insert/.test(t))).toBe(true);
      expect(texts.some((t) => /^select "key" from/.test(t))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('keeps working when another process adds a column under its statements', async () => {
    const url = await freshDatabaseUrl('postgres');
    const store = await oneConnection(url);
    const migrating = await oneConnection(url);
    try {
      await store.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
      for (let i = 0; i < 3; i++) {
        expect(await readValue(store)).toEqual({ value: 'v' });
        expect(await readAll(store)).toEqual({ key: 'k', value: 'v' });
      }
      expect(await prepared(store.db)).toHaveLength(1); // the listed SELECT, not the `*` one
      await sql`alter table settings add column extra text`.execute(migrating.db);
      // A named `select *` would now fail with "cached plan must not change result type", and
      // inside a transaction nothing could run it again.
      const inTransaction = await store.transaction(async (trx) => {
        const all = await trx
          .selectFrom('settings')
          .selectAll()
          .where('key', '=', 'k')
          .executeTakeFirstOrThrow();
        const value = await trx
          .selectFrom('settings')
          .select('value')
          .where('key', '=', 'k')
          .executeTakeFirstOrThrow();
        return { all, value };
      });
      expect(inTransaction).toEqual({ all: { key: 'k', value: 'v', extra: null }, value: { value: 'v' } });
      expect(await readAll(store)).toEqual({ key: 'k', value: 'v', extra: null });
      expect(await readValue(store)).toEqual({ value: 'v' });
    } finally {
      await migrating.close();
      await store.close();
    }
  });

  it('prepares a statement again once its result type changed under it', async () => {
    const url = await freshDatabaseUrl('postgres');
    const store = await oneConnection(url);
    const migrating = await oneConnection(url);
    try {
      await store.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
      for (let i = 0; i < 3; i++) expect(await readValue(store)).toEqual({ value: 'v' });
      await sql`alter table settings alter column value type varchar(100)`.execute(migrating.db);
      // Outside a transaction the statement runs again under a fresh name.
      expect(await readValue(store)).toEqual({ value: 'v' });
      // Inside one, the error ends the transaction; the next one prepares the statement afresh.
      const read = () =>
        store.transaction(async (trx) => trx.selectFrom('settings').select('value').executeTakeFirst());
      for (let i = 0; i < 3; i++) expect(await read()).toEqual({ value: 'v' });
      await sql`alter table settings alter column value type text`.execute(migrating.db);
      await expect(read()).rejects.toMatchObject({ code: '0A000' });
      expect(await read()).toEqual({ value: 'v' });
      expect(await readValue(store)).toEqual({ value: 'v' });
    } finally {
      await migrating.close();
      await store.close();
    }
  });
});
