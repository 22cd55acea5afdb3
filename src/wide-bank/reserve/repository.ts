/**
 * The reserve requests' SQL, and only SQL: the operator's deposit a claim names, and what the gateway's
 * audit reads of one holder's account (its entries, the request rows keyed by its holder key).
 */
import type { Kysely } from 'kysely';
import type { BankEntriesTable, BankRequestsTable, Database } from '../../store/schema.js';

type Db = Kysely<Database>;

/** The value of the operator's deposit `ref` into `account`, or undefined when there is none. */
export async function depositInto(db: Db, account: string, ref: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('bank_entries')
    .select((eb) => eb.fn.sum<number>('amount').as('v'))
    .where('account_id', '=', account)
    .where('kind', '=', 'deposit')
    .where('ref', '=', ref)
    .executeTakeFirst();
  return row?.v === null || row?.v === undefined ? undefined : Number(row.v);
}

/** Every entry on an account, oldest first. */
export async function entriesOf(db: Db, account: string): Promise<BankEntriesTable[]> {
  const rows = await db
    .selectFrom('bank_entries')
    .selectAll()
    .where('account_id', '=', account)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ ...r, amount: Number(r.amount), created_at: Number(r.created_at) }));
}

/** The request rows of an account (issue, receive, claim, payout), without their stored answers. */
export async function requestsOf(
  db: Db,
  account: string,
): Promise<Pick<BankRequestsTable, 'key' | 'kind' | 'account_id'>[]> {
  return db
    .selectFrom('bank_requests')
    .select(['key', 'kind', 'account_id'])
    .where('account_id', '=', account)
    .orderBy('key')
    .execute();
}
