/**
 * What leaving messages took from the totals shards goes back exactly, to those shards only, on both
 * dialects; on PostgreSQL several shards go back in one statement that takes them in key order (the
 * mailbox's lock order), so a release waiting for one shard holds the lower ones and none above.
 * Locks are held by a second connection and probed with `lock_timeout` (a poll, never a timed assertion);
 * the statement that waits is read from `pg_stat_activity`.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { holdInTransaction, isLockTimeout } from '../test-support/held.js';
import { type Counts, type Freed, releaseTotals } from './repository.js';

/** What leaving messages freed, by shard. */
function freedFrom(byShard: [number, Counts][]): Freed {
  const freed: Freed = { messages: 0, bytes: 0, byDepositor: new Map(), byShard: new Map(byShard) };
  for (const [, c] of byShard) {
    freed.messages += c.messages;
    freed.bytes += c.bytes;
  }
  return freed;
}

const TAKEN = [2, 5, 9, 40];

async function shards(store: Store): Promise<Record<number, Counts>> {
  const rows = await store.db
    .selectFrom('mailbox_totals')
    .select(['id', 'messages', 'bytes'])
    .where('id', 'in', TAKEN)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.id, { messages: r.messages, bytes: r.bytes }]));
}

describe.each(DIALECTS)('mailbox totals release on %s', (dialect) => {
  let store: TestStore;

  beforeEach(async () => {
    store = await freshStore(dialect);
    await store.db
      .updateTable('mailbox_totals')
      .set({ messages: 10, bytes: 1000 })
      .where('id', 'in', TAKEN)
      .execute();
  });
  afterEach(() => store.close());

  it('gives each shard back what its messages took, and leaves the others as they were', async () => {
    const freed = freedFrom([
      [9, { messages: 2, bytes: 70 }],
      [2, { messages: 1, bytes: 100 }],
      [5, { messages: 3, bytes: 250 }],
    ]);
    await store.transaction((trx) => releaseTotals(trx, freed));
    expect(await shards(store)).toEqual({
      2: { messages: 9, bytes: 900 },
      5: { messages: 7, bytes: 750 },
      9: { messages: 8, bytes: 930 },
      40: { messages: 10, bytes: 1000 },
    });
    await store.transaction((trx) => releaseTotals(trx, freedFrom([[40, { messages: 4, bytes: 4 }]])));
    expect((await shards(store))[40]).toEqual({ messages: 6, bytes: 996 });
  });

  it('changes nothing when its transaction rolls back', async () => {
    const freed = freedFrom([
      [2, { messages: 1, bytes: 1 }],
      [40, { messages: 1, bytes: 1 }],
    ]);
    const before = await shards(store);
    await expect(
      store.transaction(async (trx) => {
        await releaseTotals(trx, freed);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await shards(store)).toEqual(before);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('mailbox totals release locks on postgres', () => {
  let store: TestStore;
  let other: Store;
  let probe: Store;

  beforeEach(async () => {
    store = await freshStore('postgres');
    other = await openStore(store.config);
    probe = await openStore(store.config);
  });
  afterEach(async () => {
    await other.close();
    await probe.close();
    await store.close();
  });

  /** Whether another transaction holds shard `id` now, by an update with a short lock wait. */
  const held = (id: number) =>
    probe.transaction(async (trx) => {
      await sql`set local lock_timeout = '20ms'`.execute(trx);
      return sql`update mailbox_totals set messages = messages where id = ${id}`
        .execute(trx)
        .then(() => false, isLockTimeout);
    });

  /** Shard 5 held elsewhere: the release holds shard 2, not shard 9, in the one statement that waits. */
  async function expectOrderedWait(): Promise<void> {
    let below = false;
    for (let i = 0; i < 200 && !below; i++) {
      below = await held(2);
      if (!below) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(below).toBe(true);
    expect(await held(9)).toBe(false);
    // One statement holds shard 2 and waits for shard 5: not one statement a shard.
    const { rows: waiting } = await sql<{ query: string }>`select query from pg_stat_activity
      where wait_event_type = 'Lock' and query like 'with locked as materialized%'`.execute(probe.db);
    expect(waiting).toHaveLength(1);
  }

  it('takes its shards in key order: waiting for one, it holds those below and none above', async () => {
    await store.db.updateTable('mailbox_totals').set({ messages: 10 }).where('id', 'in', [2, 5, 9]).execute();
    const holder = await holdInTransaction(other, (trx) =>
      sql`update mailbox_totals set messages = messages where id = 5`.execute(trx),
    );
    const freed = freedFrom([
      [9, { messages: 1, bytes: 10 }],
      [2, { messages: 1, bytes: 10 }],
      [5, { messages: 1, bytes: 10 }],
    ]);
    const release = store.transaction((trx) => releaseTotals(trx, freed));
    try {
      await expectOrderedWait();
    } finally {
      await holder.release();
      await release;
    }
    const rows = await store.db
      .selectFrom('mailbox_totals')
      .select(['id', 'messages'])
      .where('id', 'in', [2, 5, 9])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { id: 2, messages: 9 },
      { id: 5, messages: 9 },
      { id: 9, messages: 9 },
    ]);
  });
});
