/**
 * The storage contract, run once per dialect in DIALECTS: migrations, transactions as a unit,
 * unique violations, exact integers, and double-spend safety that comes from the database itself.
 */
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLancashError, LancashError } from '../core/errors.js';
import { DIALECTS, freshDatabase, freshStore, type TestStore } from '../test-support/dialects.js';
import { isUniqueViolation, type NewMintProof, openStore, type Store } from './index.js';
import { UNCOMPRESSED } from './migrations/027_pg_uncompressed_columns.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

/** Every column of every table, as schema.ts declares them (the compiler checks this list is complete). */
const COLUMNS: { [T in keyof Database]: Record<keyof Database[T], true> } = {
  settings: { key: true, value: true },
  mint_keysets: {
    id: true,
    unit: true,
    active: true,
    input_fee_ppk: true,
    derivation_index: true,
    max_order: true,
    created_at: true,
    retires_at: true,
  },
  mint_proofs: {
    y: true,
    state: true,
    amount: true,
    keyset_id: true,
    secret: true,
    c: true,
    witness: true,
    operation: true,
    created_at: true,
    updated_at: true,
  },
  mint_signatures: {
    b_: true,
    amount: true,
    keyset_id: true,
    c_: true,
    dleq_e: true,
    dleq_s: true,
    operation: true,
    created_at: true,
  },
  mint_totals: { id: true, signed: true, spent: true, pending: true, fees: true },
  gateway_job_totals: {
    id: true,
    past_the_call: true,
    done_transfer: true,
    done_payroll: true,
    done_payout: true,
    refused_transfer: true,
    refused_payroll: true,
    refused_payout: true,
    oldest_done_transfer: true,
    oldest_done_payroll: true,
    oldest_done_payout: true,
    oldest_refused_transfer: true,
    oldest_refused_payroll: true,
    oldest_refused_payout: true,
  },
  bank_accounts: { id: true, kind: true, holder_key: true, balance: true, created_at: true, log_seq: true },
  bank_entries: {
    id: true,
    tx_id: true,
    account_id: true,
    amount: true,
    kind: true,
    ref: true,
    created_at: true,
    chain_seq: true,
    chain_hash: true,
  },
  bank_chain: { id: true, seq: true, hash: true },
  bank_requests: {
    key: true,
    kind: true,
    account_id: true,
    request_hash: true,
    response: true,
    created_at: true,
  },
  bank_request_log: {
    account_id: true,
    seq: true,
    key: true,
    kind: true,
    ref: true,
    amount: true,
    recovery: true,
    created_at: true,
  },
  lightning_quotes: {
    id: true,
    kind: true,
    unit: true,
    state: true,
    amount: true,
    fee_reserve: true,
    request: true,
    payment_hash: true,
    expires_at: true,
    preimage: true,
    attempt: true,
    fee_paid: true,
    inputs_amount: true,
    input_fee: true,
    outputs: true,
    change: true,
    pubkey: true,
    created_at: true,
    updated_at: true,
  },
  mailbox_inboxes: { recipient: true, messages: true, bytes: true, last_seq: true },
  mailbox_messages: {
    recipient: true,
    seq: true,
    sender: true,
    transfer_id: true,
    digest: true,
    depositor: true,
    shard: true,
    envelope: true,
    size: true,
    created_at: true,
    acked_at: true,
  },
  mailbox_nonces: { owner: true, nonce: true, created_at: true },
  mailbox_totals: { id: true, messages: true, bytes: true },
  mailbox_depositors: { depositor: true, messages: true, bytes: true },
  gateway_jobs: {
    id: true,
    direction: true,
    state: true,
    active: true,
    sender_key: true,
    request_hash: true,
    destination: true,
    destination_key: true,
    reply_to: true,
    amount: true,
    journal: true,
    notice: true,
    refusal: true,
    attempts: true,
    next_attempt_at: true,
    last_error: true,
    created_at: true,
    updated_at: true,
    kind: true,
    ref: true,
    parked_at: true,
    lease_owner: true,
    lease_until: true,
    pruned_at: true,
  },
  gateway_job_events: {
    job_id: true,
    seq: true,
    from_state: true,
    to_state: true,
    at: true,
    detail: true,
    bulk: true,
  },
  gateway_reserve_series: { at: true, reserve: true, outstanding: true },
};

/** The only columns that may hold NULL. */
const NULLABLE: Record<string, string[]> = {
  mint_keysets: ['mint_keysets.retires_at'],
  mint_proofs: ['mint_proofs.witness'],
  bank_accounts: ['bank_accounts.holder_key'],
  bank_entries: ['bank_entries.chain_seq', 'bank_entries.chain_hash'],
  bank_request_log: ['bank_request_log.recovery'],
  lightning_quotes: ['lightning_quotes.preimage', 'lightning_quotes.pubkey'],
  gateway_reserve_series: ['gateway_reserve_series.reserve'],
  gateway_job_totals: [
    'gateway_job_totals.oldest_done_transfer',
    'gateway_job_totals.oldest_done_payroll',
    'gateway_job_totals.oldest_done_payout',
    'gateway_job_totals.oldest_refused_transfer',
    'gateway_job_totals.oldest_refused_payroll',
    'gateway_job_totals.oldest_refused_payout',
  ],
  gateway_jobs: [
    'gateway_jobs.reply_to',
    'gateway_jobs.refusal',
    'gateway_jobs.last_error',
    'gateway_jobs.ref',
    'gateway_jobs.parked_at',
    'gateway_jobs.lease_owner',
    'gateway_jobs.lease_until',
    'gateway_jobs.pruned_at',
  ],
  gateway_job_events: ['gateway_job_events.bulk'],
};

function proof(y: string, operation: string, amount = 8): NewMintProof {
  const now = Date.now();
  return {
    y,
    state: 'pending',
    amount,
    keyset_id: '00ad268c4d1f5826',
    secret: `secret-${y}`,
    c: `02${'ab'.repeat(32)}`,
    witness: null,
    operation,
    created_at: now,
    updated_at: now,
  };
}

async function migrationNames(store: Store): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
    store.db,
  );
  return rows.map((r) => r.name);
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe.each(DIALECTS)('store on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(async () => {
    await store.close();
  });

  it('migration 001 creates exactly the tables and columns of schema.ts', async () => {
    const tables = await store.db.introspection.getTables();
    const ours = tables.filter((t) => t.name in COLUMNS);
    expect(ours.map((t) => t.name).sort()).toEqual(Object.keys(COLUMNS).sort());
    for (const table of ours) {
      const declared = Object.keys(COLUMNS[table.name as keyof Database]).sort();
      expect(table.columns.map((c) => c.name).sort(), table.name).toEqual(declared);
      const nullable = table.columns.filter((c) => c.isNullable).map((c) => `${table.name}.${c.name}`);
      expect(nullable).toEqual(NULLABLE[table.name] ?? []);
    }
  });

  it('migrations are idempotent: opening the same database again applies nothing twice', async () => {
    expect(await migrationNames(store)).toEqual(MIGRATIONS.map(([name]) => name));
    await store.db.insertInto('settings').values({ key: 'seed', value: 'aa' }).execute();
    const again = await openStore(store.config);
    try {
      expect(await migrationNames(again)).toEqual(MIGRATIONS.map(([name]) => name));
      const row = await again.db.selectFrom('settings').selectAll().executeTakeFirst();
      expect(row).toEqual({ key: 'seed', value: 'aa' });
    } finally {
      await again.close();
    }
  });

  it('migration 027: on PostgreSQL the large incompressible columns are stored uncompressed', async () => {
    if (dialect !== 'postgres') return;
    // attstorage 'e' (EXTERNAL): out of line when big, never compressed ('x', the default, tries pglz).
    const { rows } = await sql<{ t: string; c: string; storage: string }>`
      select c.relname as t, a.attname as c, a.attstorage as storage
        from pg_attribute a join pg_class c on c.oid = a.attrelid
       where c.relnamespace = 'public'::regnamespace and a.attnum > 0 and not a.attisdropped`.execute(
      store.db,
    );
    const storage = new Map(rows.map((r) => [`${r.t}.${r.c}`, r.storage]));
    for (const [table, column] of UNCOMPRESSED)
      expect(storage.get(`${table}.${column}`), `${table}.${column}`).toBe('e');
    // Other columns keep the default.
    expect(storage.get('gateway_jobs.refusal')).toBe('x');
  });

  it('a transaction commits all its writes and returns its result', async () => {
    const result = await store.transaction(async (trx) => {
      await trx.insertInto('settings').values({ key: 'a', value: '1' }).execute();
      await trx.insertInto('settings').values({ key: 'b', value: '2' }).execute();
      return 'done';
    });
    expect(result).toBe('done');
    const keys = await store.db.selectFrom('settings').select('key').orderBy('key').execute();
    expect(keys.map((r) => r.key)).toEqual(['a', 'b']);
  });

  it('a transaction that throws leaves nothing behind and rethrows the same error', async () => {
    const boom = new LancashError('Internal', { reason: 'test' });
    const err = await caught(
      store.transaction(async (trx) => {
        await trx.insertInto('settings').values({ key: 'a', value: '1' }).execute();
        throw boom;
      }),
    );
    expect(err).toBe(boom);
    expect(await store.db.selectFrom('settings').selectAll().execute()).toEqual([]);
  });

  it('a statement failing midway rolls back the statements before it', async () => {
    await store.db.insertInto('mint_proofs').values(proof('y1', 'first')).execute();
    const err = await caught(
      store.transaction(async (trx) => {
        await trx.insertInto('mint_proofs').values(proof('y2', 'second')).execute();
        await trx.insertInto('mint_proofs').values(proof('y1', 'second')).execute();
      }),
    );
    expect(isUniqueViolation(err)).toBe(true);
    const rows = await store.db.selectFrom('mint_proofs').select(['y', 'operation']).execute();
    expect(rows).toEqual([{ y: 'y1', operation: 'first' }]);
  });

  it('the store is usable after a failed transaction (the connection is not left inside it)', async () => {
    await caught(store.transaction(() => Promise.reject(new Error('fails'))));
    await store.transaction((trx) => trx.insertInto('settings').values({ key: 'k', value: 'v' }).execute());
    expect(await store.db.selectFrom('settings').select('key').execute()).toEqual([{ key: 'k' }]);
  });

  it('refuses a transaction nested in another of the same store instead of deadlocking', async () => {
    // The tests' default (vitest.config.ts): without it this would hang on SQLite, not fail.
    expect(process.env.LANCASH_CHECK_NESTING).toBe('1');
    const err = await caught(store.transaction(() => store.transaction(async () => 1)));
    expect(isLancashError(err, 'Internal')).toBe(true);
  });

  it('isUniqueViolation recognises duplicate primary keys and unique values, and nothing else', async () => {
    await store.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
    const duplicateKey = await caught(
      store.db.insertInto('settings').values({ key: 'k', value: 'w' }).execute(),
    );
    expect(isUniqueViolation(duplicateKey)).toBe(true);

    const keyset = { unit: 'eur', active: 1, input_fee_ppk: 0, max_order: 32, created_at: 1 };
    await store.db
      .insertInto('mint_keysets')
      .values({ ...keyset, id: 'a', derivation_index: 0 })
      .execute();
    const duplicateUnique = await caught(
      store.db
        .insertInto('mint_keysets')
        .values({ ...keyset, id: 'b', derivation_index: 0 })
        .execute(),
    );
    expect(isUniqueViolation(duplicateUnique)).toBe(true);

    const notNull = await caught(sql`insert into settings (key, value) values ('n', null)`.execute(store.db));
    expect(isUniqueViolation(notNull)).toBe(false);
    for (const other of [
      new Error('x'),
      new LancashError('Internal', { reason: 'x' }),
      null,
      '23505',
      { code: 5 },
    ]) {
      expect(isUniqueViolation(other)).toBe(false);
    }
  });

  it('BIGINT comes back as an exact number up to 2^53 − 1, also from sum() and count()', async () => {
    const big = 2 ** 50;
    await store.db
      .insertInto('mint_proofs')
      .values([
        proof('y1', 'op', big),
        proof('y2', 'op', big),
        proof('y3', 'op', Number.MAX_SAFE_INTEGER - 2 * big),
      ])
      .execute();
    const row = await store.db
      .selectFrom('mint_proofs')
      .select('amount')
      .where('y', '=', 'y1')
      .executeTakeFirstOrThrow();
    expect(row.amount).toBe(big);
    const totals = await store.db
      .selectFrom('mint_proofs')
      .select((eb) => [eb.fn.sum<number>('amount').as('total'), eb.fn.countAll<number>().as('n')])
      .executeTakeFirstOrThrow();
    expect(totals).toEqual({ total: Number.MAX_SAFE_INTEGER, n: 3 });
  });

  it.each(['9007199254740992', '9007199254740993', '-9007199254740993', '9223372036854775807'])(
    'refuses to read the integer %s (beyond ±(2^53 − 1)) rather than round it',
    async (big) => {
      await store.db
        .insertInto('mint_proofs')
        .values({ ...proof('y1', 'op'), amount: sql<number>`${sql.raw(big)}` })
        .execute();
      const err = await caught(store.db.selectFrom('mint_proofs').select('amount').execute());
      expect(isLancashError(err, 'Internal')).toBe(true);
    },
  );

  it('100 concurrent transactions holding the same Y: exactly one wins, 99 are unique violations', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        store.transaction((trx) =>
          trx
            .insertInto('mint_proofs')
            .values(proof('same-y', `op${i}`))
            .execute(),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(refused.filter(isUniqueViolation)).toHaveLength(99);
    expect(await store.db.selectFrom('mint_proofs').select('y').execute()).toEqual([{ y: 'same-y' }]);
  });

  it.runIf(dialect === 'postgres')(
    'two pools on one database: 100 concurrent inserts of one Y, exactly one wins',
    async () => {
      const other = await openStore(store.config);
      try {
        const results = await Promise.allSettled(
          Array.from({ length: 100 }, (_, i) =>
            (i % 2 ? store : other).transaction((trx) =>
              trx
                .insertInto('mint_proofs')
                .values(proof('same-y', `op${i}`))
                .execute(),
            ),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
        expect(refused.filter(isUniqueViolation)).toHaveLength(99);
      } finally {
        await other.close();
      }
    },
  );

  it.runIf(dialect === 'postgres')('transactions run in READ COMMITTED', async () => {
    const level = await store.transaction(async (trx) => {
      const { rows } = await sql<{ transaction_isolation: string }>`show transaction_isolation`.execute(trx);
      return rows[0]?.transaction_isolation;
    });
    expect(level).toBe('read committed');
  });

  it.runIf(dialect === 'postgres')('a transaction aborted by a deadlock runs again and commits', async () => {
    await store.db
      .insertInto('settings')
      .values([
        { key: 'a', value: '0' },
        { key: 'b', value: '0' },
      ])
      .execute();
    // Each first attempt locks one row, waits until the other has locked its row, then wants the other.
    let arrived = 0;
    let release: () => void = () => {};
    const bothLocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const attempts = { ab: 0, ba: 0 };
    const crossing = (first: 'a' | 'b', second: 'a' | 'b', name: 'ab' | 'ba') =>
      store.transaction(async (trx) => {
        attempts[name]++;
        await trx.updateTable('settings').set({ value: name }).where('key', '=', first).execute();
        if (attempts[name] === 1 && ++arrived === 2) release();
        if (attempts[name] === 1) await bothLocked;
        await trx.updateTable('settings').set({ value: name }).where('key', '=', second).execute();
      });
    await Promise.all([crossing('a', 'b', 'ab'), crossing('b', 'a', 'ba')]);
    expect(attempts.ab + attempts.ba).toBe(3);
    const values = await store.db.selectFrom('settings').select('value').execute();
    expect(new Set(values.map((r) => r.value)).size).toBe(1);
  });

  it.runIf(dialect === 'postgres')(
    'four stores migrating one fresh database at once do not collide',
    async () => {
      const fresh = await freshDatabase(dialect);
      try {
        const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(fresh.config)));
        try {
          for (const s of stores) expect(await migrationNames(s)).toEqual(MIGRATIONS.map(([name]) => name));
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      } finally {
        await fresh.drop();
      }
    },
  );

  it.runIf(dialect === 'sqlite')('applies the pragmas money needs', async () => {
    const pragma = async (name: string) => {
      const { rows } = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(store.db);
      return Object.values(rows[0] ?? {})[0];
    };
    expect(await pragma('journal_mode')).toBe('wal');
    expect(await pragma('synchronous')).toBe(2); // FULL
    expect(await pragma('foreign_keys')).toBe(1);
    expect(await pragma('busy_timeout')).toBe(5000);
  });

  it.runIf(dialect === 'sqlite')(
    'a writer on another connection queues behind BEGIN IMMEDIATE instead of failing',
    async () => {
      // Another thread writes the same file through its own connection while this store does
      // read-then-write transactions; with a plain deferred BEGIN these would fail with SQLITE_BUSY.
      const file = store.config.dialect === 'sqlite' ? store.config.file : '';
      const rounds = 200;
      const worker = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads');
         const db = new (require('better-sqlite3'))(workerData.file);
         db.pragma('busy_timeout = 5000');
         const count = db.prepare('select count(*) as n from settings');
         const insert = db.prepare('insert into settings (key, value) values (?, ?)');
         for (let i = 0; i < workerData.rounds; i++) {
           db.prepare('begin immediate').run();
           insert.run('worker-' + i, String(count.get().n));
           db.prepare('commit').run();
         }
         db.close();
         parentPort.postMessage('done');`,
        { eval: true, workerData: { file, rounds } },
      );
      const workerDone = new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      for (let i = 0; i < rounds; i++) {
        await store.transaction(async (trx) => {
          const { n } = await trx
            .selectFrom('settings')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow();
          // A real gap between read and write, as when a mint verifies notes between the two.
          await new Promise((resolve) => setImmediate(resolve));
          await trx
            .insertInto('settings')
            .values({ key: `main-${i}`, value: String(n) })
            .execute();
        });
      }
      await workerDone;
      const { n } = await store.db
        .selectFrom('settings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(n).toBe(2 * rounds);
    },
  );
});
