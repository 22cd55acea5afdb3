/**
 * Named statements on PostgreSQL: a planned statement becomes a server-side prepared statement from
 * its second run on and gives the same results; transaction control and statements with `*` in their
 * result columns stay unnamed, so a column another process adds (a rolling upgrade's migration) breaks
 * nothing; a result type changed under a named statement costs at most the one statement in flight.
 * A store transaction's BEGIN goes with its first statement (one round trip less), which runs inside
 * the transaction, and never without it. A named statement's result columns are asked for once a
 * connection; rows read the same from the connection's copy, which an error forgets and a changed
 * column never reaches.
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

  it('never sends a stale statement again inside the transaction it opened, however its replies arrive', async () => {
    // pg reports an error on its ErrorResponse and updates the client's transaction status on the
    // ReadyForQuery after it. Each ReadyForQuery handled a turn late makes certain what a read of its
    // own does now and then: the error handled while the status still reads as before the statement.
    type Ready = { _handleReadyForQuery: (this: unknown, msg: unknown) => void };
    const proto = pg.Client.prototype as unknown as Ready;
    const handle = proto._handleReadyForQuery;
    // pg's private handler, by name: should a pg release rename it, this test must fail, not pass idle.
    expect(handle).toBeTypeOf('function');
    proto._handleReadyForQuery = function (this: unknown, msg: unknown) {
      setImmediate(() => handle.call(this, msg));
    };
    const url = await freshDatabaseUrl('postgres');
    const store = await oneConnection(url);
    const migrating = await oneConnection(url);
    try {
      await store.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
      const read = () =>
        store.transaction(async (trx) => trx.selectFrom('settings').select('value').executeTakeFirst());
      for (let i = 0; i < 3; i++) expect(await read()).toEqual({ value: 'v' });
      await sql`alter table settings alter column value type varchar(100)`.execute(migrating.db);
      // The statement went with its transaction's BEGIN: its error ends that transaction, and the
      // statement is not sent again into it (which would fail as 25P02, in an aborted transaction).
      await expect(read()).rejects.toMatchObject({ code: '0A000' });
      expect(await read()).toEqual({ value: 'v' });
    } finally {
      proto._handleReadyForQuery = handle;
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
    let described = 0;
    let connections = 0;
    let rowsReceived = 0;
    pool.on('error', () => {}); // an idle connection the server ended (as connect() ignores it)
    pool.on('connect', (client) => {
      connections++;
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        sent++;
        return query(...args);
      };
      // pg's Connection writer of the Describe message (not in pg's type declarations).
      const connection = (
        client as unknown as {
          connection: { describe: (...args: unknown[]) => unknown; on: (e: string, f: () => void) => void };
        }
      ).connection;
      connection.on('dataRow', () => rowsReceived++);
      const describe = connection.describe.bind(connection);
      connection.describe = (...args: unknown[]) => {
        described++;
        return describe(...args);
      };
    });
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: namingStatements(pool, openings) }),
    });
    return {
      db,
      sent: () => sent,
      described: () => described,
      connections: () => connections,
      rowsReceived: () => rowsReceived,
    };
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

  it('hands a statement after a two-statement opening its known columns, and forgets them when the opening fails', async () => {
    const url = await freshDatabaseUrl('postgres');
    await (await openStore({ dialect: 'postgres', url })).close();
    // An opening of two statements without rows (as the relaxed one), failing whenever `lancash.t` is 0.
    const failing = ['begin', "do $$ begin perform 1 / current_setting('lancash.t')::int; end $$"];
    const opening = failing.join('; ');
    const { db, described } = counted(url, new Map([[opening, failing]]));
    const put = (conn: Kysely<Database>, key: string) =>
      conn
        .insertInto('settings')
        .values({ key, value: 'v' })
        .returning(['key', 'value'])
        .executeTakeFirstOrThrow();
    try {
      await db.connection().execute(async (conn) => {
        await sql`set lancash.t = 1`.execute(conn);
        const put1 = (key: string) =>
          inTransaction(conn, opening, async (c) => {
            expect(await put(c, key)).toEqual({ key, value: 'v' });
          });
        await put1('open-1'); // prepares the opening; the insert's first sight
        await put1('open-2'); // named: prepared and described, after the opening
        const before = described();
        await put1('open-3'); // its columns handed over after the opening's two CommandCompletes
        expect(described() - before).toBe(0);
        await sql`set lancash.t = 0`.execute(conn);
        await expect(put1('open-4')).rejects.toMatchObject({ code: '22012' });
        await sql`set lancash.t = 1`.execute(conn);
        await put1('open-5');
        expect(described() - before).toBe(1); // the error forgot them
        await put1('open-6');
        expect(described() - before).toBe(1);
      });
      expect(await keys(db)).toEqual(['open-1', 'open-2', 'open-3', 'open-5', 'open-6']);
    } finally {
      await db.destroy();
    }
  });

  /**
   * A keyed read of every kind of column the store reads (int8 and numeric through the pool's
   * parsers, text, a null), failing with division_by_zero on its row `fail` (0: never) after the
   * rows before it were sent.
   */
  const typed = (db: Kysely<Database>, fail: number) =>
    sql<{ x: number; big: number; total: number; label: string; none: number | null; q: number }>`
      select x::int8 as x, (x + 9007199254740000)::int8 as big, (x * 1000)::numeric as total,
        'row ' || x as label, null::int8 as none, 10 / (x - ${fail}) as q
      from generate_series(1, 3) as x`
      .execute(db)
      .then((r) => r.rows);
  const expected = [1, 2, 3].map((x) => ({
    x,
    big: x + 9007199254740000,
    total: x * 1000,
    label: `row ${x}`,
    none: null,
    q: Math.trunc(10 / x),
  }));

  it("does not ask again for a named statement's result columns: rows read the same, int8 and numeric parsed", async () => {
    const url = await freshDatabaseUrl('postgres');
    await (await openStore({ dialect: 'postgres', url })).close();
    const { db, described } = counted(url, OPENINGS);
    try {
      const runs: unknown[] = [];
      const describedByRun: number[] = [];
      for (let i = 0; i < 4; i++) {
        const before = described();
        runs.push(await typed(db, 0));
        describedByRun.push(described() - before);
      }
      // Unnamed, then named (prepared and described), then from the connection's description.
      expect(describedByRun).toEqual([1, 1, 0, 0]);
      for (const rows of runs) expect(rows).toEqual(expected);
      // A statement with no result columns (the server's NoData) keeps its row count.
      const put = (key: string) =>
        db
          .insertInto('settings')
          .values({ key, value: 'v' })
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
      const inserted: unknown[] = [];
      for (const key of ['a', 'b', 'c', 'a']) inserted.push((await put(key)).numInsertedOrUpdatedRows);
      expect(inserted).toEqual([1n, 1n, 1n, 0n]);
      const before = described();
      expect((await put('d')).numInsertedOrUpdatedRows).toBe(1n);
      expect(described() - before).toBe(0);
      // Inside a store transaction the statement goes after the opening, under the same Sync: its
      // columns are handed over after the opening's CommandComplete.
      const inside = () =>
        db.connection().execute(async (conn) => {
          await sql.raw(capabilities.beginWrite).execute(conn);
          const rows = await typed(conn, 0);
          await sql`commit`.execute(conn);
          return rows;
        });
      expect(await inside()).toEqual(expected); // prepares the opening (pg's own query, described)
      const opened = described();
      expect(await inside()).toEqual(expected);
      expect(described() - opened).toBe(0);
    } finally {
      await db.destroy();
    }
  });

  it('asks again after an error in the middle of the rows, with or without an opening before it', async () => {
    const url = await freshDatabaseUrl('postgres');
    await (await openStore({ dialect: 'postgres', url })).close();
    const { db, described, rowsReceived } = counted(url, OPENINGS);
    try {
      for (let i = 0; i < 3; i++) expect(await typed(db, 0)).toEqual(expected);
      const opened = (fail: number) =>
        db.connection().execute(async (conn) => {
          await sql.raw(capabilities.beginWrite).execute(conn);
          try {
            return await typed(conn, fail);
          } finally {
            await sql`rollback`.execute(conn);
          }
        });
      expect(await opened(0)).toEqual(expected); // prepares the opening
      for (const run of [(fail: number) => typed(db, fail), opened]) {
        const before = described();
        const rows = rowsReceived();
        // Row 1 is sent, row 2 fails: the server's error ends the statement (and the transaction).
        await expect(run(2)).rejects.toMatchObject({ code: '22012' });
        expect(rowsReceived() - rows).toBe(1);
        expect(described() - before).toBe(0);
        expect(await run(0)).toEqual(expected); // described again: the error forgot it
        expect(described() - before).toBe(1);
        expect(await run(0)).toEqual(expected);
        expect(described() - before).toBe(1);
      }
    } finally {
      await db.destroy();
    }
  });

  it("never reads a changed column by the old column's parser, nor on a connection the pool replaced", async () => {
    const url = await freshDatabaseUrl('postgres');
    await (await openStore({ dialect: 'postgres', url })).close();
    const { db, described, connections } = counted(url, OPENINGS);
    const migrating = await oneConnection(url);
    try {
      await sql`create table widened (id int primary key, n int4)`.execute(migrating.db);
      await sql`insert into widened values (1, 7)`.execute(migrating.db);
      const read = () =>
        sql<{ n: unknown }>`select n from widened where id = ${1}`.execute(db).then((r) => r.rows);
      for (let i = 0; i < 3; i++) expect(await read()).toEqual([{ n: 7 }]);
      // To text: read by the int4 parser, it would be a number still.
      await sql`alter table widened alter column n type text`.execute(migrating.db);
      const before = described();
      expect(await read()).toEqual([{ n: '7' }]);
      expect(described() - before).toBe(1); // the renamed statement, described anew
      for (let i = 0; i < 2; i++) expect(await read()).toEqual([{ n: '7' }]);
      // The server ends the pooled connection; the pool's next one knows no statement.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()`.execute(migrating.db);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the idle client's error arrives
      const again = described();
      const read2 = await read().catch(() => read()); // a connection lost mid-query may fail once
      expect(read2).toEqual([{ n: '7' }]);
      expect(connections()).toBe(2);
      expect(described() - again).toBeGreaterThanOrEqual(1);
    } finally {
      await migrating.close();
      await db.destroy();
    }
  });
});
