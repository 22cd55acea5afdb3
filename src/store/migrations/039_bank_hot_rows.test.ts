/**
 * Migration 039 on a bank written before it: the rows stay, and on PostgreSQL the hot tables lose their
 * foreign keys to `bank_accounts` (SQLite keeps them), keep their bulk in line, and
 * `lancash_bank_requests` writes with plain inserts. With no foreign key to catch it, every writer must
 * itself refuse an account that does not exist, writing nothing: the function (a holder that is not
 * there, a request naming an account it does not move, an entry of an account it does not move) and
 * the ledger's transactions (a log line, a posting). Replays and taken notes answer as before. Run
 * twice, the migration is the same.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../../test-support/dialects.js';
import { migratedUpTo } from '../../test-support/older-database.js';
import { codeOf } from '../../test-support/refusals.js';
import { auditWideBank } from '../../wide-bank/audit.js';
import { type RequestInOne, requestsInOne } from '../../wide-bank/ledger/repository.js';
import { Ledger } from '../../wide-bank/ledger/service.js';
import { logRequest } from '../../wide-bank/request-log/service.js';
import { openStore, type Store } from '../index.js';
import { IN_LINE, IN_LINE_UP_TO, UNCHECKED, up } from './039_bank_hot_rows.js';

const HOLDER = 'acct_0000000000000001';

describe.each(DIALECTS)('migration 039 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  /** A store migrated through 039, with a holder account (balance 100) and a request written before 039. */
  async function migrated(): Promise<Store> {
    fresh = await freshDatabase(dialect);
    const old = await migratedUpTo(fresh.config, '039_bank_hot_rows');
    await old
      .insertInto('bank_accounts')
      .values({
        id: HOLDER,
        kind: 'holder',
        holder_key: 'ab'.repeat(32),
        balance: 100,
        created_at: 1,
        log_seq: 0,
      })
      .execute();
    await old
      .insertInto('bank_requests')
      .values({
        key: 'before',
        kind: 'claim',
        account_id: HOLDER,
        request_hash: 'h',
        response: 'r',
        created_at: 1,
      })
      .execute();
    await old.destroy();
    store = await openStore(fresh.config);
    await up(store.db as never); // again: idempotent
    return store;
  }

  const count = async (s: Store, table: 'bank_requests' | 'bank_request_log' | 'bank_entries') =>
    Number(
      (
        await s.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('keeps the rows; on PostgreSQL no foreign key to bank_accounts is left and the bulk stays in line', async () => {
    const s = await migrated();
    expect(await s.db.selectFrom('bank_requests').select('key').execute()).toEqual([{ key: 'before' }]);
    for (const table of UNCHECKED) {
      const fks =
        dialect === 'postgres'
          ? (
              await sql<{ n: string }>`select count(*) as n from pg_constraint
                where contype = 'f' and conrelid = ${table}::regclass`.execute(s.db)
            ).rows[0]!.n
          : (
              await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${table})`.execute(
                s.db,
              )
            ).rows.length;
      expect(Number(fks), table).toBe(dialect === 'postgres' ? 0 : 1);
    }
    if (dialect !== 'postgres') return;
    for (const table of IN_LINE) {
      const { rows } = await sql<{ o: string[] | null }>`select reloptions as o from pg_class
        where relname = ${table}`.execute(s.db);
      expect(rows[0]?.o, table).toContain(`toast_tuple_target=${IN_LINE_UP_TO}`);
    }
  });

  it('the ledger’s transactions write nothing for an account that does not exist', async () => {
    const s = await migrated();
    const ledger = new Ledger(s);
    const before = await Promise.all([
      count(s, 'bank_requests'),
      count(s, 'bank_request_log'),
      count(s, 'bank_entries'),
    ]);
    const r = { key: 'claim:x:1', kind: 'claim', account: 'acct_missing', requestHash: 'h' };
    const logged = ledger.once(r, 'answer', (trx) =>
      logRequest(
        trx,
        s.dialect,
        { key: r.key, kind: 'claim', ref: '1', amount: 1, account: 'acct_missing', recovery: undefined },
        1,
      ),
    );
    // SQLite's foreign key refuses the request's row first; on PostgreSQL the log line's move does.
    if (dialect === 'postgres') expect(await codeOf(logged)).toBe(73001);
    else await expect(logged).rejects.toThrow(/FOREIGN KEY/);
    expect(await codeOf(s.transaction((trx) => ledger.postIssue(trx, 'acct_missing', 1, 'ref')))).toBe(73001);
    expect(await codeOf(s.transaction((trx) => ledger.postReceive(trx, 'acct_missing', 1, 'ref')))).toBe(
      73001,
    );
    expect(
      await Promise.all([count(s, 'bank_requests'), count(s, 'bank_request_log'), count(s, 'bank_entries')]),
    ).toEqual(before);
  });

  describe.runIf(dialect === 'postgres')('lancash_bank_requests', () => {
    /** An issue of 1 by `account` (moving `moves`), one signature, its entries of `entryAccounts`. */
    function issue(
      o: { account?: string; holder?: string; entryAccounts?: [string, string]; b?: string } = {},
    ): RequestInOne {
      const key = `issue:test:${randomUUID()}`;
      const holder = o.holder ?? HOLDER;
      const [debited, credited] = o.entryAccounts ?? [holder, 'notes_outstanding'];
      const tx = randomUUID();
      const entry = (account: string, amount: number) => [randomUUID(), tx, account, amount, 'issue', key, 1];
      return {
        key,
        kind: 'issue',
        account: o.account ?? holder,
        hash: 'h',
        response: 'x'.repeat(5000),
        at: 1,
        mint: {
          table: 'mint_signatures',
          rows: [[o.b ?? `02${randomUUID().replaceAll('-', '')}`, 1, '00ad268c4d1f5826', 'c', 'e', 's']],
          operation: key,
          createdAt: 1,
          keysets: ['00ad268c4d1f5826'],
          now: 1,
          shard: 0,
        },
        moves: [
          [holder, -1, true, true],
          ['notes_outstanding', 1, false, false],
        ],
        holders: 1,
        log: { key, kind: 'issue', ref: key, amount: 1, recovery: 'y'.repeat(5000), createdAt: 1 },
        links: [JSON.stringify([entry(debited, -1), entry(credited, 1)])],
      };
    }

    it('writes a request whose rows exist; answers a replay and a taken signature as before', async () => {
      const s = await migrated();
      const first = issue();
      expect(await requestsInOne(s.db, [first])).toEqual([{ written: true }]);
      const taken = issue({ b: first.mint.rows[0]![0] as string });
      // The same key again (a replay) and another request signing the same output, in one batch.
      expect(await requestsInOne(s.db, [first, taken])).toEqual([
        { written: false },
        { refused: { code: 'mint' } },
      ]);
      expect(await count(s, 'bank_requests')).toBe(2); // `before` and `first`
      expect(await count(s, 'bank_request_log')).toBe(1);
      expect(await count(s, 'bank_entries')).toBe(2);
    });

    it('the audit names an entry of an account that does not exist', async () => {
      const s = await migrated();
      const tx = randomUUID();
      // A balanced posting between two accounts that are not there: in no account's sum.
      await s.db
        .insertInto('bank_entries')
        .values(
          (['acct_gone_1', 'acct_gone_2'] as const).map((account_id, i) => ({
            id: `e${i}`,
            tx_id: tx,
            account_id,
            amount: i === 0 ? -5 : 5,
            kind: 'deposit',
            ref: 'r',
            created_at: 1,
          })),
        )
        .execute();
      const audit = await auditWideBank(s);
      expect(audit.differences.filter((d) => d.what.includes('does not exist'))).toEqual([
        {
          row: 'e0',
          tx,
          account: 'acct_gone_1',
          expected: 0,
          actual: -5,
          what: 'bank_entries row of an account that does not exist',
        },
        {
          row: 'e1',
          tx,
          account: 'acct_gone_2',
          expected: 0,
          actual: 5,
          what: 'bank_entries row of an account that does not exist',
        },
      ]);
    });

    it('writes nothing of a request whose holder, own account or entry account it does not move', async () => {
      const s = await migrated();
      const missing = issue({ holder: 'acct_missing' });
      expect(await requestsInOne(s.db, [missing])).toEqual([
        { refused: { code: 'unknown', account: 'acct_missing' } },
      ]);
      await expect(requestsInOne(s.db, [issue({ account: 'acct_missing' })])).rejects.toThrow(
        /names an account it does not move/,
      );
      await expect(requestsInOne(s.db, [issue({ entryAccounts: [HOLDER, 'acct_missing'] })])).rejects.toThrow(
        /posts to an account it does not move/,
      );
      expect(await count(s, 'bank_requests')).toBe(1); // `before`
      expect(await count(s, 'bank_request_log')).toBe(0);
      expect(await count(s, 'bank_entries')).toBe(0);
      const holder = await s.db
        .selectFrom('bank_accounts')
        .select(['balance', 'log_seq'])
        .where('id', '=', HOLDER)
        .executeTakeFirstOrThrow();
      expect([Number(holder.balance), Number(holder.log_seq)]).toEqual([100, 0]);
    });
  });
});
