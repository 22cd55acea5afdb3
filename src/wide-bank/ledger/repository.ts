/**
 * The wide bank ledger's SQL, and only SQL: accounts, entries and the idempotency table. Balances
 * change only through `debitIfCovered` (a conditional UPDATE: the row lock and the WHERE clause decide,
 * so two processes can never both spend the last cent) and `adjustBalance`; never read-then-write.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { MintRows, Retired } from '../../mint/repository.js';
import { retryingConflicts, sqlState } from '../../store/retry.js';
import { once, reusable, reusableWrite } from '../../store/reusable.js';
import type { BankAccountsTable, BankEntriesTable, BankRequestsTable, Database } from '../../store/schema.js';

type Db = Kysely<Database>;

export type AccountRow = BankAccountsTable;
export type EntryRow = BankEntriesTable;
export type RequestRow = BankRequestsTable;

/** Rows per INSERT: far below both databases' bound-parameter limits for 7 columns. */
const ROWS_PER_INSERT = 500;

/** Inserts unless the id or the holder key is taken; returns whether a row was inserted. */
export async function insertAccountIfAbsent(db: Db, row: AccountRow): Promise<boolean> {
  const r = await db
    .insertInto('bank_accounts')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/**
 * Named columns, not `*`: a repeated statement can then be prepared (a new column never changes its
 * result). The hot statements below are compiled once (`store/reusable.ts`): each runs about once a transfer.
 */
const ACCOUNT_COLUMNS = ['id', 'kind', 'holder_key', 'balance', 'created_at', 'log_seq'] as const;
const REQUEST_COLUMNS = ['key', 'kind', 'account_id', 'request_hash', 'response', 'created_at'] as const;

export async function accountById(db: Db, id: string): Promise<AccountRow | undefined> {
  return (await accountOfId(db, id))[0];
}

const accountOfId = reusable((db, id: string) =>
  db.selectFrom('bank_accounts').select(ACCOUNT_COLUMNS).where('id', '=', id),
);

export async function accountByHolderKey(db: Db, holderKey: string): Promise<AccountRow | undefined> {
  return (await accountOfHolder(db, holderKey))[0];
}

const accountOfHolder = reusable((db, holderKey: string) =>
  db.selectFrom('bank_accounts').select(ACCOUNT_COLUMNS).where('holder_key', '=', holderKey),
);

export async function listAccounts(db: Db): Promise<AccountRow[]> {
  return db
    .selectFrom('bank_accounts')
    .selectAll()
    .orderBy('kind')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function insertEntries(db: Db, rows: readonly EntryRow[]): Promise<void> {
  // A transfer's posting (two or three legs): its statement compiled once per row count.
  if (rows.length > 0 && rows.length <= FEW_ENTRIES) {
    const values: EntryValue[] = [];
    for (const r of rows) {
      values.push(r.id, r.tx_id, r.account_id, r.amount, r.kind, r.ref, r.created_at);
      values.push(r.chain_seq ?? null, r.chain_hash ?? null); // absent means NULL (the column's default)
    }
    await entriesInsert(rows.length)(db, ...values);
    return;
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await db
      .insertInto('bank_entries')
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .execute();
  }
}

/** Up to this many entries go in a statement compiled once (`entriesInsert`). */
const FEW_ENTRIES = 4;
type EntryValue = string | number | null;
const ENTRY_COLUMNS = [
  'id',
  'tx_id',
  'account_id',
  'amount',
  'kind',
  'ref',
  'created_at',
  'chain_seq',
  'chain_hash',
] as const;

/** The INSERT of `n` entries, each `ENTRY_COLUMNS` in order in the arguments. */
const entriesInsert = once((n: number) =>
  reusable((db, ...v: EntryValue[]) =>
    db.insertInto('bank_entries').values(
      Array.from({ length: n }, (_, i) => {
        const at = i * ENTRY_COLUMNS.length;
        return Object.fromEntries(ENTRY_COLUMNS.map((c, j) => [c, v[at + j]])) as unknown as EntryRow;
      }),
    ),
  ),
);

/**
 * `balance = balance − amount` only when the holder's balance covers it; returns whether it did.
 * PostgreSQL re-checks the WHERE clause on the newest row version after waiting for its lock.
 */
export async function debitIfCovered(db: Db, id: string, amount: number): Promise<boolean> {
  return (await debit(db, id, amount)).length === 1;
}

// `returning`: a reusable statement answers rows, and the row tells whether the update happened.
const debit = reusable((db, id: string, amount: number) =>
  db
    .updateTable('bank_accounts')
    .set((eb) => ({ balance: eb('balance', '-', amount) }))
    .where('id', '=', id)
    .where('balance', '>=', amount)
    .returning('id'),
);

/** `balance = balance + delta` (delta may be negative); returns whether the account exists. */
export async function adjustBalance(db: Db, id: string, delta: number): Promise<boolean> {
  return (await adjust(db, id, delta)).length === 1;
}

const adjust = reusable((db, id: string, delta: number) =>
  db
    .updateTable('bank_accounts')
    .set((eb) => ({ balance: eb('balance', '+', delta) }))
    .where('id', '=', id)
    .returning('id'),
);

export async function getRequest(db: Db, key: string): Promise<RequestRow | undefined> {
  return (await requestOfKey(db, key))[0];
}

const requestOfKey = reusable((db, key: string) =>
  db.selectFrom('bank_requests').select(REQUEST_COLUMNS).where('key', '=', key),
);

/**
 * Inserts unless the key exists; returns whether it was inserted. On PostgreSQL a concurrent insert of
 * the same key makes this wait for that transaction, then do nothing if it committed.
 */
export async function insertRequestIfAbsent(db: Db, row: RequestRow): Promise<boolean> {
  const { key, kind, account_id, request_hash, response, created_at } = row;
  return (await requestInsert(db, key, kind, account_id, request_hash, response, created_at)) === 1;
}

const requestInsert = reusableWrite(
  (
    db,
    key: string,
    kind: string,
    account_id: string,
    request_hash: string,
    response: string,
    created_at: number,
  ) =>
    db
      .insertInto('bank_requests')
      .values({ key, kind, account_id, request_hash, response, created_at })
      .onConflict((oc) => oc.column('key').doNothing()),
);

// --- for the audit ---

/** Transactions whose entries do not sum to 0. */
export async function unbalancedTransactions(db: Db): Promise<{ tx_id: string; total: number }[]> {
  const rows = await db
    .selectFrom('bank_entries')
    .select(['tx_id', (eb) => eb.fn.sum<number>('amount').as('total')])
    .groupBy('tx_id')
    .having((eb) => eb.fn.sum('amount'), '<>', 0)
    .execute();
  return rows.map((r) => ({ tx_id: r.tx_id, total: Number(r.total) }));
}

/** Every account with the sum of its entries. */
export async function accountsWithEntrySums(db: Db): Promise<(AccountRow & { entries: number })[]> {
  const rows = await db
    .selectFrom('bank_accounts as a')
    .leftJoin('bank_entries as e', 'e.account_id', 'a.id')
    .select([
      'a.id',
      'a.kind',
      'a.holder_key',
      'a.balance',
      'a.created_at',
      'a.log_seq',
      (eb) => eb.fn.coalesce(eb.fn.sum<number>('e.amount'), eb.lit(0)).as('entries'),
    ])
    .groupBy(['a.id', 'a.kind', 'a.holder_key', 'a.balance', 'a.created_at', 'a.log_seq'])
    .orderBy('a.id')
    .execute();
  return rows.map((r) => ({ ...r, entries: Number(r.entries) }));
}

/** Entries whose account does not exist (no foreign key on PostgreSQL since migration 039). */
export async function entriesOfNoAccount(db: Db): Promise<EntryRow[]> {
  return db
    .selectFrom('bank_entries as e')
    .selectAll('e')
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('bank_accounts as a').select('a.id').whereRef('a.id', '=', 'e.account_id'))),
    )
    .orderBy('e.id')
    .execute();
}

export async function entriesOfTransactions(db: Db, txIds: readonly string[]): Promise<EntryRow[]> {
  const out: EntryRow[] = [];
  for (let i = 0; i < txIds.length; i += ROWS_PER_INSERT) {
    out.push(
      ...(await db
        .selectFrom('bank_entries')
        .selectAll()
        .where('tx_id', 'in', txIds.slice(i, i + ROWS_PER_INSERT))
        .orderBy('id')
        .execute()),
    );
  }
  return out;
}

/** Σ of an account's entries per ref (the audit's view of what each operation moved). */
export async function sumsByRef(db: Db, accountId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('bank_entries')
    .select(['ref', (eb) => eb.fn.sum<number>('amount').as('total')])
    .where('account_id', '=', accountId)
    .groupBy('ref')
    .execute();
  return new Map(rows.map((r) => [r.ref, Number(r.total)]));
}

/** The ids of an account's entries under one ref. */
export async function entryIdsOfRef(db: Db, accountId: string, ref: string): Promise<string[]> {
  const rows = await db
    .selectFrom('bank_entries')
    .select('id')
    .where('account_id', '=', accountId)
    .where('ref', '=', ref)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

// --- the hash chain (migration 013) ---

/**
 * Takes the next link number: the head's `seq` + 1, and the previous link's hash. The UPDATE holds
 * the head's row until the transaction ends, so links are numbered one at a time across processes.
 */
export async function advanceChain(db: Db): Promise<{ seq: number; prev: string } | undefined> {
  const row = (await chainAdvance(db))[0];
  return row === undefined ? undefined : { seq: Number(row.seq), prev: row.hash };
}

const chainAdvance = reusable((db) =>
  db
    .updateTable('bank_chain')
    .set((eb) => ({ seq: eb('seq', '+', 1) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash']),
);

/**
 * PostgreSQL only: the next link in ONE statement, computed in the server: the head advances (its row
 * lock held until the transaction ends, so links are numbered one at a time across processes), its new
 * hash is SHA-256 of `["<prev>",<seq>,<rows>]` exactly as `linkHash` hashes it (`rows` = the JSON of
 * `linkRows`), and the entries are inserted from the same JSON with the link's number and hash. One
 * round trip under the head's lock instead of three (advance, entries, hash). Returns the entries
 * inserted: none when the head row is missing.
 */
export async function appendLinkInServer(db: Db, rows: string): Promise<number> {
  const r = await db.executeQuery<{ chain_seq: string }>(CompiledQuery.raw(APPEND_LINK, [rows]));
  return r.rows.length;
}

/**
 * PostgreSQL only: `appendLinkInServer` with, first, a system account's balance moved by `delta` in the
 * same statement: the account's row is taken before the head's (the head's update waits on the move
 * through its WHERE), the global lock order of `postAll`, one round trip fewer under the shared rows.
 * Returns the entries inserted: none, with nothing written, when the account or the head is missing.
 */
export async function moveAndAppendLinkInServer(
  db: Db,
  account: string,
  delta: number,
  rows: string,
): Promise<number> {
  const r = await db.executeQuery<{ chain_seq: string }>(
    CompiledQuery.raw(MOVE_AND_APPEND_LINK, [rows, account, delta]),
  );
  return r.rows.length;
}

/** `$1` the link's rows (JSON of `linkRows`); `move` a CTE named `moved` the head's update waits on, or none. */
function appendLinkSql(move: string): string {
  return `with ${move}head as (
      update bank_chain
         set seq = seq + 1,
             hash = encode(sha256(convert_to('["' || hash || '",' || (seq + 1)::text || ',' || $1::text || ']', 'UTF8')), 'hex')
       where id = 1${move === '' ? '' : ' and exists (select 1 from moved)'}
   returning seq, hash)
    insert into bank_entries (id, tx_id, account_id, amount, kind, ref, created_at, chain_seq, chain_hash)
    select r->>0, r->>1, r->>2, (r->>3)::bigint, r->>4, r->>5, (r->>6)::bigint, head.seq, head.hash
      from head, json_array_elements($1::json) as r
    returning chain_seq`;
}
const APPEND_LINK = appendLinkSql('');
const MOVE_AND_APPEND_LINK = appendLinkSql(
  'moved as (update bank_accounts set balance = balance + $3::bigint where id = $2 returning id), ',
);

/**
 * PostgreSQL only: concurrent issues and receives, `lancash_bank_requests` (migration 033, which
 * documents `rs` and the lock order), as ONE statement outside any transaction block, each request in
 * its own subtransaction: their rows are held for that statement and its commit only, and they share
 * one commit (one flush of the log). Answers one outcome a request, in order: `written` (false when
 * its key was already there: nothing written) or its refusal (`refusalInOne`'s). A statement-wide
 * refusal (no system account, no chain head) or any other error throws; a deadlock or serialization
 * failure runs the statement again, as `Store.transaction` would run a transaction again.
 */
export async function requestsInOne(db: Db, rs: readonly RequestInOne[]): Promise<RequestOutcome[]> {
  const q = CompiledQuery.raw(REQUESTS_IN_ONE, [JSON.stringify(rs)]);
  const answers = await retryingConflicts(
    async () => (await db.executeQuery<{ answers: string[] }>(q)).rows[0]?.answers ?? [],
  );
  if (answers.length !== rs.length) {
    throw new Error(`lancash_bank_requests answered ${answers.length} of ${rs.length} requests`);
  }
  return answers.map(outcomeOf);
}

const REQUESTS_IN_ONE = 'select lancash_bank_requests($1::jsonb) as answers';

/** One request's outcome in `requestsInOne`. */
export type RequestOutcome = { written: boolean } | { refused: RefusalInOne };

/** `'1'`, `'0'` or `'<SQLSTATE> <detail>'` (migration 033). */
function outcomeOf(answer: string): RequestOutcome {
  if (answer === '1' || answer === '0') return { written: answer === '1' };
  const refused = refusalInOne({ code: answer.slice(0, 5), detail: answer.slice(6) });
  if (refused === undefined) throw new Error(`lancash_bank_requests answered ${answer}`);
  return { refused };
}

/** A balance update of `requestsInOne`: account, delta, covered (a debit the balance must cover), logged. */
export type Move = [account: string, delta: number, covered: boolean, logged: boolean];

/** A request of `lancash_bank_requests` (`r` of migration 030, with its links: 033). */
export interface RequestInOne {
  key: string;
  kind: string;
  account: string;
  hash: string;
  response: string;
  at: number;
  mint: MintRows;
  moves: readonly Move[];
  /** How many of `moves` come before the system accounts' (the `mint_totals` shard is taken between). */
  holders: number;
  log?: {
    key: string;
    kind: string;
    ref: string;
    amount: number;
    recovery: string | null;
    createdAt: number;
  };
  /** Each posting's link: the JSON text of its `linkRows`, hashed as that text (`linkHash`). */
  links: readonly string[];
}

/** Why `lancash_bank_requests` refused (its SQLSTATEs, migrations 030 and 033); undefined for any other error. */
export type RefusalInOne =
  | { code: 'covered' | 'unknown'; account: string }
  | { code: 'mint'; retired?: Retired }
  | { code: 'noChain' };

export function refusalInOne(e: unknown): RefusalInOne | undefined {
  const detail = typeof e === 'object' && e !== null ? (e as { detail?: unknown }).detail : undefined;
  const text = typeof detail === 'string' ? detail : '';
  switch (sqlState(e)) {
    case 'LC001':
      return { code: 'covered', account: text };
    case 'LC002':
      return { code: 'unknown', account: text };
    case 'LC003':
      return { code: 'mint' };
    case 'LC004': {
      const { id, retiresAt } = JSON.parse(text) as { id: string; retiresAt: number | string };
      return { code: 'mint', retired: { id, retires_at: Number(retiresAt) } };
    }
    case 'LC005':
      return { code: 'noChain' };
    default:
      return undefined;
  }
}

export async function setChainHead(db: Db, hash: string): Promise<void> {
  await chainHeadSet(db, hash);
}

const chainHeadSet = reusable((db, hash: string) =>
  db.updateTable('bank_chain').set({ hash }).where('id', '=', 1),
);

export async function chainHead(db: Db): Promise<{ seq: number; hash: string } | undefined> {
  const row = await db
    .selectFrom('bank_chain')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirst();
  return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
}

/** The chained entries of links `after` + 1 … `after` + `links`, in link order. */
export async function chainedEntries(db: Db, after: number, links: number): Promise<EntryRow[]> {
  return db
    .selectFrom('bank_entries')
    .selectAll()
    .where('chain_seq', '>', after)
    .where('chain_seq', '<=', after + links)
    .orderBy('chain_seq')
    .execute();
}

/** How many entries were written before the chain (no link). */
export async function unchainedEntries(db: Db): Promise<number> {
  const row = await db
    .selectFrom('bank_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('chain_seq', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
