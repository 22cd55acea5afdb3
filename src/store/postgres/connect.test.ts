/**
 * Named statements on PostgreSQL: a planned statement becomes a server-side prepared statement from
 * its second run on and gives the same results; transaction control and statements with `*` in their
 * result columns stay unnamed, so a column another process adds (a rolling upgrade's migration) breaks
 * nothing; a result type changed under a named statement costs at most the one statement in flight.
 * A store transaction's BEGIN goes with its first statement (one round trip less), which runs inside
 * the transaction, and never without it.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DIALECTS, freshDatabaseUrl } from '../../test-support/dialects.js';
import { openStore, type Store } from '../index.js';
import type { Database } from '../schema.js';
import { capabilities } from './capabilities.js';
import { nameable, namingStatements, OPENINGS, poolConfig } from './connect.js';

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

  /**
   * A Kysely on one pooled connection of `url` through `namingStatements(…, openings)`, and how many
   * queries (round trips) its client was sent.
   */
  const counted = (url: string, openings: ReadonlyMap<string, readonly string[]>) => {
    const pool = new pg.Pool({ ...poolConfig({ url, poolSize: 1 }) });
    let sent = 0;
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        sent++;
        return query(...args);
      };
    });
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: namingStatements(pool, openings) }),
    });
    return { db, sent: () => sent };
  };
  /** One transaction on `db` as the store runs one (store/index.ts): its opening, `fn`, then commit or rollback. */
  const inTransaction = (
    db: Kysely<Database>,
    opening: string,
    fn: (conn: Kysely<Database>) => Promise<void>,
  ) =>
    db.connection().execute(async (conn) => {
      await sql.raw(opening).execute(conn);
      try {
        await fn(conn);
      } catch (err) {
        await sql`rollback`.execute(conn);
        throw err;
      }
      await sql`commit`.execute(conn);
    });
  const insert = async (conn: Kysely<Database>, key: string) => {
    await conn.insertInto('settings').values({ key, value: 'v' }).execute();
  };
  const keys = async (db: Kysely<Database>) =>
    (
      await db.selectFrom('settings').select('key').where('key', 'like', 'open-%').orderBy('key').execute()
    ).map((r) => r.key);

  it("sends a store transaction's BEGIN with its first statement, which runs inside the transaction", async () => {
    const url = await freshDatabaseUrl('postgres');
    await (await openStore({ dialect: 'postgres', url })).close(); // migrated
    const { db, sent } = counted(url, OPENINGS);
    try {
      for (const [kind, opening] of [
        ['durable', capabilities.beginWrite],
        ['relaxed', capabilities.relaxedCommit.begin],
      ] as const) {
        await inTransaction(db, opening, (conn) => insert(conn, `open-${kind}-0`)); // prepares it
        const before = sent();
        await inTransaction(db, opening, (conn) => insert(conn, `open-${kind}-1`));
        expect(sent() - before, opening).toBe(2); // insert with the opening, commit
        // The insert ran inside the transaction: the rollback undid it.
        await expect(
          inTransaction(db, opening, async (conn) => {
            await insert(conn, `open-${kind}-2`);
            throw new Error('undo');
          }),
        ).rejects.toThrow('undo');
        // The relaxed opening's `set local` took effect too.
        await inTransaction(db, opening, async (conn) => {
          const { rows } = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(conn);
          expect(rows[0]?.synchronous_commit).toBe(kind === 'durable' ? 'on' : 'off');
        });
      }
      expect(await keys(db)).toEqual([
        'open-durable-0',
        'open-durable-1',
        'open-relaxed-0',
        'open-relaxed-1',
      ]);
      // Kysely's own transactions (the migrator's) are no opening: their BEGIN goes alone.
      const before = sent();
      await db.transaction().execute((trx) => insert(trx, 'open-k'));
      expect(sent() - before).toBe(3);
    } finally {
      await db.destroy();
    }
  });

  it('never runs the statement that follows an opening that failed', async () => {
    const url = await freshDatabaseUrl('postgres');
    await (await openStore({ dialect: 'postgres', url })).close();
    // An opening that fails whenever the session's `lancash.t` is 0.
    const failing = ['begin', "select 1 / current_setting('lancash.t')::int"];
    const opening = failing.join('; ');
    const { db } = counted(url, new Map([[opening, failing]]));
    try {
      await db.connection().execute(async (conn) => {
        await sql`set lancash.t = 1`.execute(conn);
        await inTransaction(conn, opening, (c) => insert(c, 'open-1')); // prepares it
        await sql`set lancash.t = 0`.execute(conn);
        await expect(inTransaction(conn, opening, (c) => insert(c, 'open-2'))).rejects.toMatchObject({
          code: '22012', // division_by_zero: the opening's error, the insert's to see
        });
        // Not in a transaction, and the insert never ran (not even on its own).
        const { rows } = await sql<{
          now: string;
        }>`select current_setting('transaction_isolation') as now`.execute(conn);
        expect(rows).toHaveLength(1);
      });
      expect(await keys(db)).toEqual(['open-1']);
    } finally {
      await db.destroy();
    }
  });
});
