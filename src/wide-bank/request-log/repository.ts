/**
 * The request log's SQL, and only SQL (docs/wide-bank.md, "The request log"): one row per request a
 * holder made on its own account, numbered per account in commit order.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { DialectName } from '../../store/index.js';
import { executeCompiled, reusable } from '../../store/reusable.js';
import type { BankRequestLogTable, Database } from '../../store/schema.js';

type Db = Kysely<Database>;

export type LogRow = BankRequestLogTable;

/** A log line as a request writes it: its number comes from the account's counter. */
export type NewLogRow = Omit<LogRow, 'seq'>;

/**
 * Moves the account's balance by `delta` (0: none) and appends the request to its log, numbered by
 * the account's counter `log_seq` (migration 024), inside the request's own transaction; false, with
 * nothing written, when the account is missing or, `covered`, its balance does not cover −`delta`.
 * The counter is on the row the posting updates anyway: its row lock is held until the commit, so
 * numbers follow commit order and leave no gap (a rollback takes the counter back with the line), on
 * PostgreSQL as on SQLite. On PostgreSQL it is one statement (a data-modifying CTE).
 */
export async function moveAndAppend(
  db: Db,
  dialect: DialectName,
  row: NewLogRow,
  delta: number,
  covered: boolean,
): Promise<boolean> {
  const line = [row.key, row.kind, row.ref, row.amount, row.recovery, row.created_at];
  if (dialect === 'postgres') {
    const text = covered ? MOVE_COVERED_AND_APPEND : MOVE_AND_APPEND;
    const r = await db.executeQuery(CompiledQuery.raw(text, [delta, row.account_id, ...line]));
    return r.rows.length === 1;
  }
  const counted = covered
    ? await moveCovered(db, delta, row.account_id, -delta)
    : await move(db, delta, row.account_id);
  const seq = counted[0]?.log_seq;
  if (seq === undefined) return false;
  await executeCompiled(db, CompiledQuery.raw(APPEND, [row.account_id, seq, ...line]));
  return true;
}

const LOG_COLUMNS = 'account_id, seq, key, kind, ref, amount, recovery, created_at';

/** `$1` the balance's move, `$2` the account, `$3`… the line (typed: a select list gives no type); `where` narrows the row. */
function moveAndAppendSql(where: string): string {
  return `with a as (update bank_accounts set balance = balance + $1, log_seq = log_seq + 1
                      where id = $2${where} returning log_seq)
    insert into bank_request_log (${LOG_COLUMNS})
    select $2, a.log_seq, $3, $4, $5, $6::bigint, $7, $8::bigint from a
    returning seq`;
}
const MOVE_AND_APPEND = moveAndAppendSql('');
const MOVE_COVERED_AND_APPEND = moveAndAppendSql(' and balance + $1 >= 0');
/** SQLite only (its positional parameters). */
const APPEND = `insert into bank_request_log (${LOG_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?)`;

const move = reusable((db, delta: number, id: string) =>
  db
    .updateTable('bank_accounts')
    .set((eb) => ({ balance: eb('balance', '+', delta), log_seq: eb('log_seq', '+', 1) }))
    .where('id', '=', id)
    .returning('log_seq'),
);

const moveCovered = reusable((db, delta: number, id: string, debit: number) =>
  db
    .updateTable('bank_accounts')
    .set((eb) => ({ balance: eb('balance', '+', delta), log_seq: eb('log_seq', '+', 1) }))
    .where('id', '=', id)
    .where('balance', '>=', debit)
    .returning('log_seq'),
);

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
