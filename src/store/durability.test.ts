/**
 * A transaction's durability (`TransactionOptions.durable`) on every dialect: a relaxed transaction
 * runs with the dialect's no-flush setting in effect (SQLite `synchronous = NORMAL`, PostgreSQL
 * `synchronous_commit = off`), every other transaction with the durable one (SQLite FULL, PostgreSQL
 * on), also the next on the same connection after a relaxed one that committed, threw, or failed to
 * begin; and a group commit relaxes only when every write of the group asked for it.
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fail } from '../core/errors.js';
import { GroupCommit } from '../mint/group-commit.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../test-support/dialects.js';
import { commitMode } from '../test-support/durability.js';
import { openStore, type Store, type TransactionOptions } from './index.js';
import type { Database } from './schema.js';

const RELAXED: TransactionOptions = { durable: false };

describe.each(DIALECTS)('transaction durability on %s', (dialect) => {
  let fresh: FreshDatabase;
  let store: Store;

  beforeEach(async () => {
    fresh = await freshDatabase(dialect);
    // One connection, so every transaction below runs on the one the relaxed ones used.
    const config = fresh.config.dialect === 'postgres' ? { ...fresh.config, poolSize: 1 } : fresh.config;
    store = await openStore(config);
  });
  afterEach(async () => {
    await store.close();
    await fresh.drop();
  });

  const mode = (db: Kysely<Database>) => commitMode(db, dialect);

  it('a relaxed transaction runs relaxed; a durable one, and the next after a relaxed one, durable', async () => {
    expect(await store.transaction(mode)).toBe('durable');
    expect(await store.transaction(mode, {})).toBe('durable');
    expect(await store.transaction(mode, { durable: true })).toBe('durable');
    expect(await store.transaction(mode, RELAXED)).toBe('relaxed');
    expect(await store.transaction(mode)).toBe('durable');
    // Outside any transaction too (SQLite's pragma is the connection's; PostgreSQL's `set local` ended).
    expect(await mode(store.db)).toBe('durable');
  });

  it('a relaxed transaction commits its writes; one that throws leaves nothing and the connection durable', async () => {
    await store.transaction(async (trx) => {
      await trx.insertInto('settings').values({ key: 'relaxed', value: 'kept' }).execute();
    }, RELAXED);
    const boom = new Error('boom');
    await expect(
      store.transaction(async (trx) => {
        await trx.insertInto('settings').values({ key: 'thrown', value: 'gone' }).execute();
        expect(await mode(trx)).toBe('relaxed');
        throw boom;
      }, RELAXED),
    ).rejects.toBe(boom);
    // A statement that fails inside (a duplicate key) rolls back the same way.
    await expect(
      store.transaction(async (trx) => {
        await trx.insertInto('settings').values({ key: 'relaxed', value: 'again' }).execute();
      }, RELAXED),
    ).rejects.toThrow();
    const rows = await store.db
      .selectFrom('settings')
      .select(['key', 'value'])
      .where('key', 'in', ['relaxed', 'thrown'])
      .execute();
    expect(rows).toEqual([{ key: 'relaxed', value: 'kept' }]);
    expect(await store.transaction(mode)).toBe('durable');
    expect(await mode(store.db)).toBe('durable');
  });

  it("a refusal inside a relaxed transaction is the caller's, and the next transaction is durable", async () => {
    await expect(
      store.transaction(
        async () => fail('InvalidInput', { argument: 'x', expected: 'y', received: 'z' }),
        RELAXED,
      ),
    ).rejects.toMatchObject({ kind: 'InvalidInput' });
    expect(await store.transaction(mode)).toBe('durable');
  });

  it('a group commit relaxes only when every write of the group asked; one durable write makes it durable', async () => {
    const group = new GroupCommit(store);
    // Queued in one turn of the event loop: each trio is one group (one transaction).
    const mixed = await Promise.all([group.run(mode, RELAXED), group.run(mode), group.run(mode, RELAXED)]);
    expect(mixed).toEqual(['durable', 'durable', 'durable']);
    const allRelaxed = await Promise.all([
      group.run(mode, RELAXED),
      group.run(mode, RELAXED),
      group.run(mode, RELAXED),
    ]);
    expect(allRelaxed).toEqual(['relaxed', 'relaxed', 'relaxed']);
    expect(await group.run(mode, RELAXED)).toBe('relaxed');
    expect(await group.run(mode)).toBe('durable');
    // A refused write in a relaxed group: the group runs again savepointed, still relaxed; the next durable.
    const refused = await Promise.allSettled([
      group.run(mode, RELAXED),
      group.run(async () => fail('InvalidInput', { argument: 'x', expected: 'y', received: 'z' }), RELAXED),
    ]);
    expect(refused.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(refused[0]).toMatchObject({ value: 'relaxed' });
    expect(await group.run(mode)).toBe('durable');
  });
});
