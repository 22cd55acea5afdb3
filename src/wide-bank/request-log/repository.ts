/**
 * The request log's SQL, and only SQL (docs/wide-bank.md, "The request log"): one row per request a
 * holder made on its own account, numbered per account in commit order.
 */
import { type Kysely, sql } from 'kysely';
import type { BankRequestLogTable, Database } from '../../store/schema.js';
import { adjustBalance } from '../ledger/repository.js';

type Db = Kysely<Database>;

export type LogRow = BankRequestLogTable;

/**
 * Appends a request to its account's log, inside the request's own transaction. The account row is
 * locked first (a no-op update, skipped when `accountLocked`: issue and receive hold it already from
 * their posting's balance update), so the next `seq` is read and written by one transaction at a
 * time: numbers follow commit order and leave no gap, on PostgreSQL (READ COMMITTED: this statement's
 * snapshot is taken after the lock, so it sees the previous holder's commit) as on SQLite.
 */
export async function appendRequest(db: Db, row: Omit<LogRow, 'seq'>, accountLocked = false): Promise<void> {
  if (!accountLocked) await adjustBalance(db, row.account_id, 0);
  await sql`insert into bank_request_log (account_id, seq, key, kind, ref, amount, recovery, created_at)
    values (${row.account_id},
            (select coalesce(max(seq), 0) + 1 from bank_request_log where account_id = ${row.account_id}),
            ${row.key}, ${row.kind}, ${row.ref}, ${row.amount}, ${row.recovery}, ${row.created_at})`.execute(
    db,
  );
}

/** Entries with `seq > after`, oldest first; the recovery records only when asked for. */
export async function page(
  db: Db,
  account: string,
  after: number,
  limit: number,
  withRecovery: boolean,
): Promise<LogRow[]> {
  const rows = await db
    .selectFrom('bank_request_log')
    .select(['account_id', 'seq', 'key', 'kind', 'ref', 'amount', 'created_at'])
    .$if(withRecovery, (q) => q.select('recovery'))
    .where('account_id', '=', account)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    ...r,
    seq: Number(r.seq),
    amount: Number(r.amount),
    created_at: Number(r.created_at),
    recovery: 'recovery' in r ? (r.recovery as string | null) : null,
  }));
}

/** The account's highest `seq`, 0 without entries. */
export async function lastSeq(db: Db, account: string): Promise<number> {
  const row = await db
    .selectFrom('bank_request_log')
    .select((eb) => eb.fn.max('seq').as('last'))
    .where('account_id', '=', account)
    .executeTakeFirst();
  return Number(row?.last ?? 0);
}
