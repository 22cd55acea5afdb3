/**
 * The ledger on every dialect: balanced postings, idempotent operator postings, a holder balance that
 * can never go below 0 (also under concurrency, and from two connection pools on PostgreSQL), and a
 * property test over random sequences of deposits and withdrawals checked by the audit.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LancashError } from '../../core/errors.js';
import { openStore, type Store } from '../../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { type Held, holdInTransaction, isLockTimeout } from '../../test-support/held.js';
import { codeOf } from '../../test-support/refusals.js';
import { newHolder } from '../../test-support/wide-bank.js';
import { auditWideBank } from '../audit.js';
import { auditChain } from './chain-audit.js';
import { FUNDING, Ledger, NOTES_OUTSTANDING } from './service.js';

async function entryCount(store: Store): Promise<number> {
  const r = await store.db
    .selectFrom('bank_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe.each(DIALECTS)('ledger on %s', (dialect) => {
  let store: TestStore;
  let ledger: Ledger;

  beforeEach(async () => {
    store = await freshStore(dialect);
    ledger = new Ledger(store);
  });
  afterEach(async () => {
    await store.close();
  });

  async function expectBalanced(): Promise<void> {
    const audit = await auditWideBank(store);
    expect(audit.differences).toEqual([]);
    expect(audit.balanced).toBe(true);
  }

  it('starts with the two system accounts at 0', async () => {
    const accounts = await ledger.accounts();
    expect(accounts.map((a) => [a.id, a.kind, a.balance])).toEqual([
      [FUNDING, 'system', 0],
      [NOTES_OUTSTANDING, 'system', 0],
    ]);
    await expectBalanced();
  });

  it('opens one account per holder key, also when opened concurrently', async () => {
    const h = await newHolder();
    const opened = await Promise.all(Array.from({ length: 10 }, () => ledger.openAccount(h.key)));
    expect(new Set(opened.map((a) => a.id)).size).toBe(1);
    expect(opened.filter((a) => a.created)).toHaveLength(1);
    expect((await ledger.account(h.key)).id).toBe(opened[0]!.id);
    expect((await ledger.account(opened[0]!.id)).holderKey).toBe(h.key);
    expect(await codeOf(ledger.openAccount('zz'))).toBe(70002);
    expect(await codeOf(ledger.account('acct_nope'))).toBe(73001);
  });

  it('answers the account id of a holder key (cached after the first look-up), AccountUnknown for none', async () => {
    const h = await newHolder();
    expect(await codeOf(ledger.accountIdOfHolder(h.key))).toBe(73001);
    const { id } = await ledger.openAccount(h.key);
    expect(await ledger.accountIdOfHolder(h.key)).toBe(id);
    expect(await ledger.accountIdOfHolder(h.key.toUpperCase())).toBe(id);
  });

  it('a receive with its fee is two links locked in one order; each recomputes from the one before', async () => {
    const h = await newHolder();
    const { id } = await ledger.openAccount(h.key);
    const before = await auditChain(store.db);
    await store.transaction((trx) => ledger.postReceive(trx, id, 7, 'r1', { fee: 2 }));
    await store.transaction((trx) => ledger.postReceive(trx, id, 5, 'r2'));
    const chain = await auditChain(store.db);
    expect(chain.differences).toEqual([]);
    expect(chain.head.seq).toBe(before.head.seq + 3);
    expect(await ledger.balance(id)).toBe(12);
    expect((await ledger.account(FUNDING)).balance).toBe(2);
    expect((await ledger.account(NOTES_OUTSTANDING)).balance).toBe(-14);
  });

  it('posts deposits and withdrawals as balanced pairs; the same ref posts once', async () => {
    const h = await newHolder();
    const { id } = await ledger.openAccount(h.key);
    const first = await ledger.deposit(id, 100, 'wire-1');
    expect(await ledger.deposit(h.key, 100, 'wire-1')).toEqual(first);
    expect(await codeOf(ledger.deposit(id, 101, 'wire-1'))).toBe(72001);
    await ledger.withdraw(id, 30, 'payout-1');
    expect(await ledger.balance(id)).toBe(70);
    expect(await ledger.balance(FUNDING)).toBe(-70);
    const legs = await store.db
      .selectFrom('bank_entries')
      .select(['tx_id', 'account_id', 'amount', 'kind'])
      .where('tx_id', '=', first.tx)
      .orderBy('amount')
      .execute();
    expect(legs).toEqual([
      { tx_id: first.tx, account_id: FUNDING, amount: -100, kind: 'deposit' },
      { tx_id: first.tx, account_id: id, amount: 100, kind: 'deposit' },
    ]);
    await expectBalanced();
  });

  it('refuses bad amounts, unknown and system accounts, and changes nothing', async () => {
    const h = await newHolder();
    const { id } = await ledger.openAccount(h.key);
    await ledger.deposit(id, 10, 'd');
    const before = await entryCount(store);
    for (const amount of [0, -1, 1.5, '10', 2 ** 64, Number.NaN]) {
      expect(await codeOf(ledger.deposit(id, amount as number, `bad-${String(amount)}`))).toBe(70001);
    }
    expect(await codeOf(ledger.withdraw(id, 11, 'w'))).toBe(73002);
    expect(await codeOf(ledger.deposit('acct_nope', 1, 'x'))).toBe(73001);
    expect(await codeOf(ledger.deposit(FUNDING, 1, 'y'))).toBe(73001);
    expect(await codeOf(ledger.deposit(id, 1, ''))).toBe(70000);
    expect(await entryCount(store)).toBe(before);
    expect(await ledger.balance(id)).toBe(10);
    await expectBalanced();
  });

  it('never lets a holder balance go below 0: 20 parallel withdrawals of 10 from 50 → exactly 5', async () => {
    const h = await newHolder();
    const { id } = await ledger.openAccount(h.key);
    await ledger.deposit(id, 50, 'd');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => ledger.withdraw(id, 10, `w-${i}`)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as LancashError).code).toBe(73002);
    }
    expect(await ledger.balance(id)).toBe(0);
    await expectBalanced();
  });

  it('the database itself refuses a negative holder balance (CHECK constraint)', async () => {
    const h = await newHolder();
    const { id } = await ledger.openAccount(h.key);
    await expect(
      store.transaction((trx) =>
        sql`update bank_accounts set balance = -1 where id = ${id}`.execute(trx).then(() => undefined),
      ),
    ).rejects.toThrow();
    expect(await ledger.balance(id)).toBe(0);
  });

  it('property: any sequence of deposits and withdrawals keeps the books balanced', async () => {
    const h = await newHolder();
    const { id } = await ledger.openAccount(h.key);
    let n = 0;
    let expected = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 1000 })), { minLength: 1, maxLength: 8 }),
        async (ops) => {
          for (const [isDeposit, amount] of ops) {
            const ref = `p-${n++}`;
            if (isDeposit) {
              await ledger.deposit(id, amount, ref);
              expected += amount;
            } else if (amount <= expected) {
              await ledger.withdraw(id, amount, ref);
              expected -= amount;
            } else {
              expect(await codeOf(ledger.withdraw(id, amount, ref))).toBe(73002);
            }
          }
          expect(await ledger.balance(id)).toBe(expected);
          expect(await ledger.balance(FUNDING)).toBe(0 - expected); // not -expected: -0 is not 0 to toBe
          await expectBalanced();
        },
      ),
      { numRuns: 15 },
    );
  });

  it.runIf(dialect === 'postgres')(
    'a posting takes its system account before the chain head, also with both in one statement',
    async () => {
      const h = await newHolder();
      const { id } = await ledger.openAccount(h.key);
      const other = await openStore(store.config);
      let holder: Held | undefined;
      try {
        // Another transaction holds the chain head: the receive must wait there, holding
        // notes_outstanding already (the global lock order: holders, system accounts, head).
        holder = await holdInTransaction(other, (trx) =>
          sql`update bank_chain set seq = seq where id = 1`.execute(trx),
        );
        const posting = store.transaction((trx) => ledger.postReceive(trx, id, 5, 'lock-order'));
        let taken = false;
        for (let i = 0; i < 200 && !taken; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          taken = await other.transaction(async (trx) => {
            await sql`set local lock_timeout = '20ms'`.execute(trx);
            return sql`update bank_accounts set balance = balance where id = ${NOTES_OUTSTANDING}`
              .execute(trx)
              .then(() => false, isLockTimeout);
          });
        }
        await holder.release();
        await posting;
        expect(taken).toBe(true);
        expect(await ledger.balance(id)).toBe(5);
        expect((await ledger.account(NOTES_OUTSTANDING)).balance).toBe(-5);
        expect((await auditChain(store.db)).differences).toEqual([]);
      } finally {
        await holder?.release();
        await other.close();
      }
    },
  );

  it.runIf(dialect === 'postgres')(
    'two connection pools on one database: parallel withdrawals never overdraw',
    async () => {
      const other = await openStore(store.config);
      try {
        const ledgers = [ledger, new Ledger(other)];
        const h = await newHolder();
        const { id } = await ledger.openAccount(h.key);
        await ledger.deposit(id, 70, 'd');
        const results = await Promise.allSettled(
          Array.from({ length: 40 }, (_, i) => ledgers[i % 2]!.withdraw(id, 10, `w-${i}`)),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(7);
        expect(await ledger.balance(id)).toBe(0);
        await expectBalanced();
      } finally {
        await other.close();
      }
    },
  );
});
