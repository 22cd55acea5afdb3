/**
 * The mint's SQL, and only SQL: keysets, the spent/pending set (`mint_proofs`, keyed by `Y`) and the
 * signed set (`mint_signatures`, keyed by `B_`). Double-spend and double-sign safety come from those
 * primary keys, so they hold across processes sharing one PostgreSQL, not from any lock in JS.
 */
import { type Compilable, CompiledQuery, type Kysely, sql } from 'kysely';
import { fail } from '../core/errors.js';
import { allColumns } from '../store/columns.js';
import type { DialectName } from '../store/index.js';
import { retryingConflicts, sqlState } from '../store/retry.js';
import { executeCompiled, reusable } from '../store/reusable.js';
import type { Database, MintKeysetRow, MintProofRow, MintSignatureRow, ProofState } from '../store/schema.js';
import { SHARDS, shardFor } from '../store/shards.js';

type Db = Kysely<Database>;

// The row shapes are the schema's (`store/schema.ts`); these names keep the mint's code short.
export type { ProofState };
export type KeysetRow = MintKeysetRow;
export type ProofRow = MintProofRow;
export type SignatureRow = MintSignatureRow;

/** A note entering the spent/pending set: its own columns; `ProofBatch` holds those shared by the batch. */
export type NewProof = Pick<ProofRow, 'y' | 'amount' | 'keyset_id' | 'secret' | 'c' | 'witness'>;
export type ProofBatch = Pick<ProofRow, 'state' | 'operation' | 'created_at' | 'updated_at'>;
/** A signature entering the signed set, and the columns shared by its batch. */
export type NewSignature = Pick<SignatureRow, 'b_' | 'amount' | 'keyset_id' | 'c_' | 'dleq_e' | 'dleq_s'>;
export type SignatureBatch = Pick<SignatureRow, 'operation' | 'created_at'>;

const PROOF_COLUMNS = ['y', 'amount', 'keyset_id', 'secret', 'c', 'witness'] as const;
const PROOF_BATCH_COLUMNS = ['state', 'operation', 'created_at', 'updated_at'] as const;
const SIGNATURE_COLUMNS = ['b_', 'amount', 'keyset_id', 'c_', 'dleq_e', 'dleq_s'] as const;
const SIGNATURE_BATCH_COLUMNS = ['operation', 'created_at'] as const;
// Whole rows by name, not `*`, so PostgreSQL may prepare the statements (store/columns.ts).
const KEYSET_ROW = allColumns<KeysetRow>()([
  'id',
  'unit',
  'active',
  'input_fee_ppk',
  'derivation_index',
  'max_order',
  'created_at',
  'retires_at',
]);
const SIGNATURE_ROW = allColumns<SignatureRow>()([...SIGNATURE_COLUMNS, ...SIGNATURE_BATCH_COLUMNS]);

/** Rows per INSERT statement on SQLite: below its bound-parameter limit for 10 columns. */
const ROWS_PER_INSERT = 500;

/**
 * PostgreSQL's type of each column a batch inserts: there a batch is one statement whatever its size,
 * each column one array parameter (`unnest`) and each batch column one scalar, so a swap binds 14
 * parameters instead of 20 a note and every size shares one statement text, prepared and planned
 * once per connection (a text per size was planned again nearly every time it ran: docs/performance.md).
 */
const PG_TYPE = {
  y: 'text',
  amount: 'int8',
  keyset_id: 'text',
  secret: 'text',
  c: 'text',
  witness: 'text',
  state: 'text',
  operation: 'text',
  created_at: 'int8',
  updated_at: 'int8',
  b_: 'text',
  c_: 'text',
  dleq_e: 'text',
  dleq_s: 'text',
} as const;
type PgColumn = keyof typeof PG_TYPE;

/**
 * SQL text of the hot statements by dialect, shape and row count. Kysely builds and compiles a
 * 64-row INSERT in about the time SQLite needs to run it, and the text depends only on the shape, so
 * each shape is compiled the first time its size is seen and then run with fresh parameters.
 * Bounded (request sizes are the caller's choice), and simply cleared when full.
 */
const compiledText = new Map<string, string>();
const MAX_COMPILED = 256;

function compiled(
  dialect: DialectName,
  shape: string,
  count: number,
  params: unknown[],
  build: () => Compilable,
  /** Wraps Kysely's statement in more SQL (its parameters first); once per shape, as the build. */
  wrap: (q: CompiledQuery) => string = (q) => q.sql,
): CompiledQuery {
  const key = `${dialect} ${shape} ${count}`;
  let text = compiledText.get(key);
  if (text === undefined) {
    const q = build().compile();
    // Our parameters must be Kysely's, in its order; checked once per shape, so it cannot drift.
    if (q.parameters.length !== params.length || q.parameters.some((v, i) => v !== params[i])) {
      fail('Internal', { reason: `${shape}: parameters do not line up with the compiled statement` });
    }
    text = wrap(q);
    if (compiledText.size >= MAX_COMPILED) compiledText.clear();
    compiledText.set(key, text);
  }
  return CompiledQuery.raw(text, params);
}

export async function getSetting(db: Db, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** Stores `value` unless the key exists; returns the stored value (the first writer wins across processes). */
export async function putSettingOnce(db: Db, key: string, value: string): Promise<string> {
  await db
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return (await getSetting(db, key)) as string;
}

/** Sets `key` to `value` if it still holds `expected`; false when another writer changed it first. */
export async function replaceSetting(db: Db, key: string, expected: string, value: string): Promise<boolean> {
  const r = await db
    .updateTable('settings')
    .set({ value })
    .where('key', '=', key)
    .where('value', '=', expected)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function listKeysets(db: Db): Promise<KeysetRow[]> {
  return db.selectFrom('mint_keysets').select(KEYSET_ROW).orderBy('derivation_index').execute();
}

/** Inserts a keyset; with `ifAbsent`, a taken id or derivation index is left as it is instead of failing. */
export async function insertKeyset(db: Db, row: KeysetRow, o: { ifAbsent: boolean }): Promise<void> {
  const q = db.insertInto('mint_keysets').values(row);
  await (o.ifAbsent ? q.onConflict((oc) => oc.doNothing()) : q).execute();
}

/**
 * Makes every keyset inactive and schedules the retirement of those that had none scheduled (the one
 * active until now, and any rotated out before migration 011) at `retiresAt`.
 */
export async function deactivateKeysets(db: Db, retiresAt: number): Promise<void> {
  await db.updateTable('mint_keysets').set({ active: 0 }).where('active', '=', 1).execute();
  await db
    .updateTable('mint_keysets')
    .set({ retires_at: retiresAt })
    .where('retires_at', 'is', null)
    .execute();
}

/** The first of these keysets retired at `now` as committed (a rotation by another process included). */
async function retiredKeyset(db: Db, ids: readonly string[], now: number): Promise<Retired | undefined> {
  if (ids.length === 0) return undefined;
  // One keyset, as nearly every request: a statement compiled once (the same SQL).
  const [row] =
    ids.length === 1 ? await oneRetiredKeyset(db, ids[0]!, now) : await retiredOf(db, ids, now).execute();
  return row?.retires_at != null ? { id: row.id, retires_at: Number(row.retires_at) } : undefined;
}

/** Keysets of `ids` retired at `now`, the first by id. */
const retiredOf = (db: Db, ids: readonly string[], now: number) =>
  db
    .selectFrom('mint_keysets')
    .select(['id', 'retires_at'])
    .where('id', 'in', ids)
    .where('retires_at', '<=', now)
    .orderBy('id')
    .limit(1);

const oneRetiredKeyset = reusable((db, id: string, now: number) => retiredOf(db, [id], now));

/**
 * Inserts the notes that are new (`ON CONFLICT DO NOTHING`); returns how many were inserted (fewer
 * means some `Y` was already there).
 */
export async function insertProofs(
  db: Db,
  dialect: DialectName,
  rows: readonly NewProof[],
  batch: ProofBatch,
  /** NUT-02: the inputs' fee, collected once they are spent (now, or when settled: `settleProofs`). */
  fee = 0,
): Promise<number> {
  const fees = batch.state === 'spent' ? fee : 0;
  const r = await insertBatched(
    db,
    dialect,
    rows,
    batch,
    { table: 'mint_proofs', key: 'y', columns: PROOF_COLUMNS, batchColumns: PROOF_BATCH_COLUMNS },
    (values) =>
      db
        .insertInto('mint_proofs')
        .values(values)
        .onConflict((oc) => oc.column('y').doNothing()),
    { column: batch.state, fees },
  );
  const n = r.inserted;
  // A partial insert is always refused by its caller (the transaction or savepoint rolls back).
  if (dialect !== 'postgres' && n === rows.length) {
    await addTotals(db, { [batch.state]: sumOf(rows), fees });
  }
  return n;
}

/**
 * PostgreSQL: a batch as migration 030's `lancash_bank_request` inserts it (`r.mint`), in the same
 * statement as the request that accounts for it: the rows' own columns as arrays in `*_COLUMNS` order,
 * the batch's columns, and the `mint_totals` shard it adds to (chosen at random, as `shardFor`).
 */
export type MintRows =
  | {
      table: 'mint_signatures';
      rows: unknown[][];
      operation: string;
      createdAt: number;
      /** The first of these retired at `now` refuses the batch (as `insertSignatures`). */
      keysets: readonly string[];
      now: number;
      shard: number;
    }
  | {
      table: 'mint_proofs';
      rows: unknown[][];
      state: ProofState;
      operation: string;
      createdAt: number;
      updatedAt: number;
      /** NUT-02 fees collected now (only when spent, as `insertProofs`). */
      fees: number;
      shard: number;
    };

export function signatureRows(
  rows: readonly NewSignature[],
  operation: string,
  now: number,
  keysets: readonly string[],
): MintRows {
  return {
    table: 'mint_signatures',
    rows: rows.map((r) => SIGNATURE_COLUMNS.map((c) => r[c])),
    operation,
    createdAt: now,
    keysets,
    now,
    shard: randomShard(),
  };
}

export function proofRows(rows: readonly NewProof[], batch: ProofBatch, fee: number): MintRows {
  return {
    table: 'mint_proofs',
    rows: rows.map((r) => PROOF_COLUMNS.map((c) => r[c])),
    state: batch.state,
    operation: batch.operation,
    createdAt: batch.created_at,
    updatedAt: batch.updated_at,
    fees: batch.state === 'spent' ? fee : 0,
    shard: randomShard(),
  };
}

function randomShard(): number {
  return Math.floor(Math.random() * SHARDS);
}

/**
 * PostgreSQL: a whole swap's write, `lancash_mint_swap` (migration 032, which documents it): the
 * inputs spent, the outputs' signatures recorded and a `mint_totals` shard moved, as ONE statement
 * outside any transaction block (one round trip and its own commit instead of BEGIN, two inserts and
 * COMMIT). Undefined when written; otherwise why the function refused, having written nothing: a note
 * or a signature already there (`table`, the caller names them from the committed rows) or an
 * output's keyset retired at `now`. A deadlock or serialization failure runs it again
 * (`retryingConflicts`); any other error is thrown.
 */
export async function swapInOne(
  db: Db,
  inputs: readonly NewProof[],
  outputs: readonly NewSignature[],
  s: { operation: string; now: number; fees: number; keysets: readonly string[] },
): Promise<SwapRefusal | undefined> {
  const arg = JSON.stringify({
    inputs: inputs.map((r) => PROOF_COLUMNS.map((c) => r[c])),
    outputs: outputs.map((r) => SIGNATURE_COLUMNS.map((c) => r[c])),
    operation: s.operation,
    now: s.now,
    fees: s.fees,
    keysets: s.keysets,
    shard: randomShard(),
  });
  try {
    await retryingConflicts(() => db.executeQuery(CompiledQuery.raw(SWAP_IN_ONE, [arg])));
    return undefined;
  } catch (e) {
    const detail = typeof e === 'object' && e !== null ? (e as { detail?: unknown }).detail : undefined;
    const text = typeof detail === 'string' ? detail : '';
    switch (sqlState(e)) {
      case 'LC003':
        return { table: text === 'mint_signatures' ? 'mint_signatures' : 'mint_proofs' };
      case 'LC004': {
        const { id, retiresAt } = JSON.parse(text) as { id: string; retiresAt: number | string };
        return { retired: { id, retires_at: Number(retiresAt) } };
      }
      default:
        throw e;
    }
  }
}

/** Why `swapInOne` refused (migration 032's SQLSTATEs LC003 and LC004). */
export type SwapRefusal =
  | { table: 'mint_proofs' | 'mint_signatures'; retired?: undefined }
  | { retired: Retired; table?: undefined };

const SWAP_IN_ONE = 'select lancash_mint_swap($1::jsonb) as n';

/** A keyset whose retirement time has come (`retires_at` ≤ now), as its row says. */
export type Retired = { id: string; retires_at: number };

/**
 * Signatures that are new (`ON CONFLICT DO NOTHING`); answers how many were inserted, or, before any,
 * the first of `keysets` retired at `now` by its committed row (another process's rotation), which
 * the caller must refuse (its transaction rolls back). On PostgreSQL that read rides in the insert's
 * statement (a CTE; the same READ COMMITTED snapshot a statement of its own just before would have
 * had): one round trip a swap or issue instead of two.
 */
export async function insertSignatures(
  db: Db,
  dialect: DialectName,
  rows: readonly NewSignature[],
  batch: SignatureBatch,
  retiredAt: { keysets: readonly string[]; now: number },
): Promise<{ inserted: number; retired?: Retired }> {
  if (dialect !== 'postgres') {
    const retired = await retiredKeyset(db, retiredAt.keysets, retiredAt.now);
    if (retired !== undefined) return { inserted: 0, retired };
  }
  const r = await insertBatched(
    db,
    dialect,
    rows,
    batch,
    {
      table: 'mint_signatures',
      key: 'b_',
      columns: SIGNATURE_COLUMNS,
      batchColumns: SIGNATURE_BATCH_COLUMNS,
    },
    (values) =>
      db
        .insertInto('mint_signatures')
        .values(values)
        .onConflict((oc) => oc.column('b_').doNothing()),
    { column: 'signed', fees: 0 },
    retiredAt,
  );
  if (r.retired !== undefined) return r;
  if (dialect !== 'postgres' && r.inserted === rows.length) await addTotals(db, { signed: sumOf(rows) });
  return r;
}

/** The running total an insert adds its rows' value to, and the fees it collects. */
interface TotalsOfInsert {
  column: 'signed' | 'spent' | 'pending';
  fees: number;
}

/** Where a batch goes: its table, the primary key a held row conflicts on, its own and shared columns. */
interface Target<C, D> {
  table: 'mint_proofs' | 'mint_signatures';
  key: 'y' | 'b_';
  columns: readonly C[];
  batchColumns: readonly D[];
}

/**
 * Inserts a batch, rows inserted. On PostgreSQL one statement (`pgInsert`) that also adds the value
 * of the rows it inserted to a `mint_totals` shard (and `totals.fees`) and, with `retiredAt`, reads
 * the first of those keysets retired at `now`: one round trip. A partial insert adds only what it
 * inserted, and its caller refuses it (rolls it back) anyway. Elsewhere (SQLite) one INSERT per
 * `ROWS_PER_INSERT` rows, each row's own columns then the batch's, and the caller adds the totals
 * (`addTotals`).
 */
async function insertBatched<R, B, C extends keyof R & PgColumn, D extends keyof B & PgColumn>(
  db: Db,
  dialect: DialectName,
  rows: readonly R[],
  batch: B,
  target: Target<C, D>,
  build: (values: (R & B)[]) => Compilable,
  totals: TotalsOfInsert,
  /** PostgreSQL: the statement also reads the first of these keysets retired at `now`. */
  retiredAt?: { keysets: readonly string[]; now: number },
): Promise<{ inserted: number; retired?: Retired }> {
  if (rows.length === 0) return { inserted: 0 };
  const { columns, batchColumns } = target;
  if (dialect === 'postgres') {
    const params: unknown[] = columns.map((c) => rows.map((row) => row[c]));
    for (const c of batchColumns) params.push(batch[c]);
    params.push(totals.fees, shardFor(db, 'mint_totals'));
    if (retiredAt !== undefined) params.push([...retiredAt.keysets], retiredAt.now);
    const r = await db.executeQuery<{
      n: number | string;
      retired_id: string | null;
      retires_at: number | string | null;
    }>(CompiledQuery.raw(pgInsert(target, totals.column, retiredAt !== undefined), params));
    const row = r.rows[0];
    if (row?.retired_id != null && row.retires_at != null) {
      return { inserted: 0, retired: { id: row.retired_id, retires_at: Number(row.retires_at) } };
    }
    return { inserted: Number(row?.n ?? 0) };
  }
  const shared = batchColumns.map((c) => batch[c]);
  const shape = `insert ${columns.join()}`;
  let inserted = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const part = rows.slice(i, i + ROWS_PER_INSERT);
    const params: unknown[] = [];
    for (const row of part) {
      for (const c of columns) params.push(row[c]);
      for (const v of shared) params.push(v);
    }
    // Only on the first statement of this size: Kysely's rows, keys in the order of `params`.
    const whole = () =>
      part.map((row) => {
        const entries = [...columns.map((c) => [c, row[c]]), ...batchColumns.map((c) => [c, batch[c]])];
        return Object.fromEntries(entries) as R & B;
      });
    const r = await executeCompiled(
      db,
      compiled(dialect, shape, part.length, params, () => build(whole())),
    );
    inserted += Number(r.numAffectedRows ?? 0n);
  }
  return { inserted };
}

/** `pgInsert`'s texts: a handful (two tables, the totals column, with or without the check). */
const pgInserts = new Map<string, string>();

/**
 * PostgreSQL: `insert … select … from unnest(…) on conflict (key) do nothing`, the columns' arrays
 * `$1`…`$n` then the batch's values, wrapped so that it also adds the inserted rows' `amount` to
 * `column` of the `mint_totals` shard `$k+2` and `$k+1` to its fees (`k` parameters before them); the
 * statement answers the rows inserted (`n`). With `refusingRetired`, it also answers the first keyset
 * of the array `$k+3` whose `retires_at` ≤ `$k+4` (`retired_id`, `retires_at`; null if none): the
 * caller then refuses the whole statement (rolls back), so what it inserted does not matter. `unnest`
 * yields the rows in the arrays' order, as a VALUES list would insert them.
 */
function pgInsert<C extends PgColumn, D extends PgColumn>(
  target: Target<C, D>,
  column: TotalsOfInsert['column'],
  refusingRetired: boolean,
): string {
  const { table, key, columns, batchColumns } = target;
  const name = `${table} ${column} ${refusingRetired}`;
  let text = pgInserts.get(name);
  if (text !== undefined) return text;
  const arrays = columns.map((c, i) => `$${i + 1}::${PG_TYPE[c]}[]`);
  const shared = batchColumns.map((c, i) => `$${columns.length + i + 1}::${PG_TYPE[c]}`);
  const k = columns.length + batchColumns.length;
  const names = [...columns, ...batchColumns].map((c) => `"${c}"`).join(', ');
  const retired = refusingRetired
    ? `,
      ret as (select id, retires_at from mint_keysets
               where id = any($${k + 3}::text[]) and retires_at <= $${k + 4}
               order by id limit 1)`
    : '';
  const answer = refusingRetired
    ? ', (select id from ret) as retired_id, (select retires_at from ret) as retires_at'
    : '';
  text = `with ins as (insert into "${table}" (${names})
                 select ${columns.map((c) => `r."${c}"`).join(', ')}, ${shared.join(', ')}
                   from unnest(${arrays.join(', ')}) as r(${columns.map((c) => `"${c}"`).join(', ')})
                 on conflict ("${key}") do nothing
                 returning "amount"),
      tot as (update mint_totals
                 set "${column}" = "${column}" + (select coalesce(sum("amount"), 0) from ins),
                     fees = fees + $${k + 1}
               where id = $${k + 2})${retired}
      select count(*) as n${answer} from ins`;
  pgInserts.set(name, text);
  return text;
}

export async function proofStates(
  db: Db,
  dialect: DialectName,
  Ys: readonly string[],
): Promise<Pick<ProofRow, 'y' | 'state' | 'witness' | 'operation'>[]> {
  return selectIn(db, dialect, 'proof states', Ys, (part) => statesOf(db).where('y', 'in', part), statesAny);
}

const statesOf = (db: Db) => db.selectFrom('mint_proofs').select(['y', 'state', 'witness', 'operation']);
const statesByKeys = byKeys('mint_proofs', 'y', ['y', 'state', 'witness', 'operation']);
const statesAny = (db: Db, Ys: readonly string[]) =>
  lookUp<Pick<ProofRow, 'y' | 'state' | 'witness' | 'operation'>>(db, statesByKeys, Ys);

/**
 * PostgreSQL: the rows of `table` whose `key` is one of the array `$1`, one probe of the primary key's
 * index a key. The array sits behind a one-row subquery (an InitPlan): a plan made for the values
 * cannot see its length either, so after five custom plans the prepared statement keeps one generic
 * plan; with the parameter seen directly, a custom plan for a few keys always looked cheaper than the
 * generic one, which assumes 10, and every run was planned afresh.
 *
 * Not `key = any($1)` any more (docs/performance.md, round seven): that generic plan is made once per
 * connection, on the table as it is then, and kept until the table's statistics change (an ANALYZE).
 * Made on a new, near-empty table (a fresh mint, every bench), it was a sequential scan comparing
 * every row with every key, and stayed one as the table grew: 310 µs for the wide bank's NUT-07 check
 * of 4 notes after a 10 s bench, 9 ms at 20 000 rows, where the index answers in 15–50 µs. The
 * `LATERAL … offset 0` subquery (not flattened into a join) is planned for one key, and for one key
 * the index is the cheaper path on any table not yet analyzed (the planner assumes 10 pages for it)
 * and on any analyzed one beyond a few hundred rows, so the kept plan probes the index; at 4 and 64
 * keys on an analyzed table it costs what the bitmap scan of `any` did (round seven's EXPLAIN ANALYZE).
 */
function byKeys(table: 'mint_proofs' | 'mint_signatures', key: string, columns: readonly string[]): string {
  const list = (prefix: string) => columns.map((c) => `${prefix}"${c}"`).join(', ');
  return `select ${list('t.')} from unnest((select $1::text[])) as k(key),
    lateral (select ${list('')} from "${table}" where "${key}" = k.key offset 0) as t`;
}

/** `byKeys`' rows for `keys`, each key once (a key asked twice answers its row once, as `any` did). */
async function lookUp<R>(db: Db, text: string, keys: readonly string[]): Promise<R[]> {
  const once = new Set(keys);
  const r = await db.executeQuery<R>(CompiledQuery.raw(text, [once.size === keys.length ? keys : [...once]]));
  return [...r.rows];
}

/**
 * Moves an operation's pending proofs to spent; returns their `Y`s. Their NUT-02 fee is collected now:
 * `ppkOf` answers a keyset's input_fee_ppk from the mint's memory (a keyset's fee never changes), or
 * undefined for one it has not loaded (another process made it), read here then.
 */
export async function settleProofs(
  db: Db,
  dialect: DialectName,
  operation: string,
  now: number,
  ppkOf: (keysetId: string) => number | undefined,
): Promise<string[]> {
  if (dialect === 'postgres') {
    const r = await db.executeQuery<{ y: string }>(
      CompiledQuery.raw(SETTLE_AND_ADD, [now, operation, shardFor(db, 'mint_totals')]),
    );
    return r.rows.map((row) => row.y);
  }
  const rows = await spendPending(db, now, operation);
  const v = sumOf(rows);
  let ppk = 0;
  const unknown: string[] = [];
  for (const r of rows) {
    const p = ppkOf(r.keyset_id);
    if (p === undefined) unknown.push(r.keyset_id);
    else ppk += p;
  }
  if (unknown.length > 0) {
    const known = await db
      .selectFrom('mint_keysets')
      .select(['id', 'input_fee_ppk'])
      .where('id', 'in', unknown)
      .execute();
    const of = new Map(known.map((k) => [k.id, Number(k.input_fee_ppk)]));
    for (const id of unknown) ppk += of.get(id) ?? 0;
  }
  await addTotals(db, { spent: v, pending: -v, fees: Math.ceil(ppk / 1000) });
  return rows.map((r) => r.y);
}

/**
 * PostgreSQL: `settleProofs` in one statement (a data-modifying CTE): the pending notes become spent
 * and a `mint_totals` shard moves their value from pending to spent and adds their NUT-02 fee,
 * ceil(Σ input_fee_ppk / 1000), the keysets' fees read from their rows (a keyset's fee never changes).
 */
const SETTLE_AND_ADD = `with s as (update mint_proofs set state = 'spent', updated_at = $1
                 where operation = $2 and state = 'pending'
             returning y, amount, keyset_id),
  tot as (update mint_totals
             set spent = spent + (select coalesce(sum(amount), 0) from s),
                 pending = pending - (select coalesce(sum(amount), 0) from s),
                 fees = fees + (select (coalesce(sum(k.input_fee_ppk), 0)::bigint + 999) / 1000
                                  from s join mint_keysets k on k.id = s.keyset_id)
           where id = $3)
  select y from s`;

const spendPending = reusable((db, now: number, operation: string) =>
  db
    .updateTable('mint_proofs')
    .set({ state: 'spent', updated_at: now })
    .where('operation', '=', operation)
    .where('state', '=', 'pending')
    .returning(['y', 'amount', 'keyset_id']),
);

/** Forgets an operation's pending proofs (they are unspent again); returns their `Y`s. */
export async function releaseProofs(db: Db, operation: string): Promise<string[]> {
  const rows = await releasePending(db, operation);
  await addTotals(db, { pending: -sumOf(rows) });
  return rows.map((r) => r.y);
}

const releasePending = reusable((db, operation: string) =>
  db
    .deleteFrom('mint_proofs')
    .where('operation', '=', operation)
    .where('state', '=', 'pending')
    .returning(['y', 'amount']),
);

export async function signaturesFor(
  db: Db,
  dialect: DialectName,
  B_s: readonly string[],
): Promise<SignatureRow[]> {
  return selectIn(db, dialect, 'signatures', B_s, (part) => signedOf(db).where('b_', 'in', part), signedAny);
}

const signedOf = (db: Db) => db.selectFrom('mint_signatures').select(SIGNATURE_ROW);
const signedByKeys = byKeys('mint_signatures', 'b_', SIGNATURE_ROW);
const signedAny = (db: Db, B_s: readonly string[]) => lookUp<SignatureRow>(db, signedByKeys, B_s);

/**
 * The rows `build` selects for `keys`. On PostgreSQL one statement, the keys one array parameter
 * (`byKeys`): one text for every count, prepared once per connection; elsewhere one query per
 * `ROWS_PER_INSERT` keys (an IN list), the rows concatenated.
 */
async function selectIn<T>(
  db: Db,
  dialect: DialectName,
  shape: string,
  keys: readonly string[],
  build: (keys: readonly string[]) => Compilable<T>,
  onPostgres: (db: Db, keys: readonly string[]) => Promise<T[]>,
): Promise<T[]> {
  if (keys.length === 0) return [];
  if (dialect === 'postgres') return onPostgres(db, keys);
  const out: T[] = [];
  for (let i = 0; i < keys.length; i += ROWS_PER_INSERT) {
    const part = keys.slice(i, i + ROWS_PER_INSERT);
    const q = compiled(dialect, `select ${shape}`, part.length, part, () => build(part));
    out.push(...((await executeCompiled(db, q)).rows as T[]));
  }
  return out;
}

/** Shards of `mint_totals` (migration 019; store/shards.ts). */
export const TOTAL_SHARDS = SHARDS;

type Totals = { signed: number; spent: number; pending: number };

function sumOf(rows: readonly { amount: number | string | bigint }[]): number {
  let v = 0;
  for (const r of rows) v += Number(r.amount);
  return v;
}

/** Adds to the running totals (and the fees collected, migration 020), inside the caller's transaction. */
async function addTotals(db: Db, d: Partial<Totals & { fees: number }>): Promise<void> {
  const signed = d.signed ?? 0;
  const spent = d.spent ?? 0;
  const pending = d.pending ?? 0;
  const fees = d.fees ?? 0;
  if (signed === 0 && spent === 0 && pending === 0 && fees === 0) return;
  const shard = shardFor(db, 'mint_totals');
  if (fees === 0) await addToTotals(db, signed, spent, pending, shard);
  else await addToTotalsAndFees(db, signed, spent, pending, fees, shard);
}

/** The running-totals update, compiled once (`reusable`): several a swap; the fees only when collected. */
const addToTotals = reusable((db, signed: number, spent: number, pending: number, shard: number) =>
  db
    .updateTable('mint_totals')
    .set((eb) => ({
      signed: eb('signed', '+', signed),
      spent: eb('spent', '+', spent),
      pending: eb('pending', '+', pending),
    }))
    .where('id', '=', shard),
);
const addToTotalsAndFees = reusable(
  (db, signed: number, spent: number, pending: number, fees: number, shard: number) =>
    db
      .updateTable('mint_totals')
      .set((eb) => ({
        signed: eb('signed', '+', signed),
        spent: eb('spent', '+', spent),
        pending: eb('pending', '+', pending),
        fees: eb('fees', '+', fees),
      }))
      .where('id', '=', shard),
);

/**
 * Value signed, spent and pending from the running totals: a read of `TOTAL_SHARDS` rows, whatever
 * the size of the books (the operator console's figures). The audit sums the tables (`totals`).
 */
export async function runningTotals(db: Db): Promise<Totals> {
  const rows = await db.selectFrom('mint_totals').select(['signed', 'spent', 'pending']).execute();
  const out: Totals = { signed: 0, spent: 0, pending: 0 };
  for (const r of rows) {
    out.signed += Number(r.signed);
    out.spent += Number(r.spent);
    out.pending += Number(r.pending);
  }
  return out;
}

/**
 * The running totals and the sums of the rows, read by one statement (so one snapshot on both
 * dialects, even while the mint writes): the audit's check that `mint_totals` was kept right.
 */
export async function totalsAgainstRows(db: Db): Promise<{ running: Totals; rows: Totals }> {
  const { rows } = await sql<Record<string, string | number | bigint | null>>`
    select
      (select sum(amount) from mint_signatures) as rows_signed,
      (select sum(amount) from mint_proofs where state = 'spent') as rows_spent,
      (select sum(amount) from mint_proofs where state = 'pending') as rows_pending,
      (select sum(signed) from mint_totals) as running_signed,
      (select sum(spent) from mint_totals) as running_spent,
      (select sum(pending) from mint_totals) as running_pending
  `.execute(db);
  const r = rows[0] ?? {};
  const n = (k: string) => Number(r[k] ?? 0);
  return {
    running: { signed: n('running_signed'), spent: n('running_spent'), pending: n('running_pending') },
    rows: { signed: n('rows_signed'), spent: n('rows_spent'), pending: n('rows_pending') },
  };
}

/** NUT-02 input fees collected, from the running total (a read of `TOTAL_SHARDS` rows; migration 020). */
export async function runningFees(db: Db): Promise<number> {
  const rows = await db.selectFrom('mint_totals').select('fees').execute();
  return rows.reduce((n, r) => n + Number(r.fees), 0);
}

/**
 * The running fees and the fees the rows say were collected, read by one statement (the audit's
 * check): per operation whose notes are all spent, ceil(Σ input_fee_ppk of its notes / 1000), summed.
 * Only notes of keysets with a fee are read, so a mint without fees reads nothing.
 */
export async function feesAgainstRows(db: Db): Promise<{ running: number; rows: number }> {
  const { rows } = await sql<{
    running: string | number | bigint | null;
    counted: string | number | bigint | null;
  }>`
    select
      (select sum(fees) from mint_totals) as running,
      (select sum(f) from (
        select case when sum(case when p.state = 'pending' then 1 else 0 end) > 0 then 0
          else (cast(sum(k.input_fee_ppk) as bigint) + 999) / 1000 end as f
        from mint_proofs p join mint_keysets k on k.id = p.keyset_id
        where k.input_fee_ppk > 0
        group by p.operation) per_operation) as counted
  `.execute(db);
  return { running: Number(rows[0]?.running ?? 0), rows: Number(rows[0]?.counted ?? 0) };
}

/** Totals for the audit, summed from the rows: value ever signed, value spent, value pending. */
export async function totals(db: Db): Promise<{ signed: number; spent: number; pending: number }> {
  const signed = await db
    .selectFrom('mint_signatures')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('v'))
    .executeTakeFirstOrThrow();
  const byState = await db
    .selectFrom('mint_proofs')
    .select(['state', (eb) => eb.fn.sum<number>('amount').as('v')])
    .groupBy('state')
    .execute();
  const of = (s: ProofState) => Number(byState.find((r) => r.state === s)?.v ?? 0);
  return { signed: Number(signed.v), spent: of('spent'), pending: of('pending') };
}

// --- for the audit (read only) ---

/** Value signed, spent and pending per operation, and Σ input_fee_ppk of its inputs (NUT-02). */
export async function valueByOperation(
  db: Db,
): Promise<{ operation: string; signed: number; spent: number; pending: number; feePpk: number }[]> {
  const out = new Map<
    string,
    { operation: string; signed: number; spent: number; pending: number; feePpk: number }
  >();
  const of = (operation: string) => {
    let v = out.get(operation);
    if (v === undefined) {
      v = { operation, signed: 0, spent: 0, pending: 0, feePpk: 0 };
      out.set(operation, v);
    }
    return v;
  };
  const signed = await db
    .selectFrom('mint_signatures')
    .select(['operation', (eb) => eb.fn.sum<number>('amount').as('v')])
    .groupBy('operation')
    .execute();
  for (const r of signed) of(r.operation).signed = Number(r.v);
  const proofs = await db
    .selectFrom('mint_proofs as p')
    .leftJoin('mint_keysets as k', 'k.id', 'p.keyset_id')
    .select([
      'p.operation',
      'p.state',
      (eb) => eb.fn.sum<number>('p.amount').as('v'),
      (eb) => eb.fn.coalesce(eb.fn.sum<number>('k.input_fee_ppk'), eb.lit(0)).as('ppk'),
    ])
    .groupBy(['p.operation', 'p.state'])
    .execute();
  for (const r of proofs) {
    const v = of(r.operation);
    if (r.state === 'spent') v.spent += Number(r.v);
    else v.pending += Number(r.v);
    v.feePpk += Number(r.ppk);
  }
  return [...out.values()];
}

/** The signatures of one operation (to name the rows of an operation that does not balance). */
export async function signaturesOf(
  db: Db,
  operation: string,
): Promise<Pick<SignatureRow, 'b_' | 'amount' | 'created_at'>[]> {
  return db
    .selectFrom('mint_signatures')
    .select(['b_', 'amount', 'created_at'])
    .where('operation', '=', operation)
    .orderBy('b_')
    .execute();
}

/** How many notes an operation spent or holds and how many outputs it signed (NUT-19 replays match it whole). */
export async function operationSize(
  db: Db,
  operation: string,
): Promise<{ proofs: number; signatures: number }> {
  const count = (table: 'mint_proofs' | 'mint_signatures') =>
    db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('operation', '=', operation)
      .executeTakeFirstOrThrow();
  const [proofs, signatures] = await Promise.all([count('mint_proofs'), count('mint_signatures')]);
  return { proofs: Number(proofs.n), signatures: Number(signatures.n) };
}

/** Every note held pending: few (melts and jobs in flight), so read whole. */
export async function pendingProofs(db: Db): Promise<Pick<ProofRow, 'y' | 'amount' | 'operation'>[]> {
  return db
    .selectFrom('mint_proofs')
    .select(['y', 'amount', 'operation'])
    .where('state', '=', 'pending')
    .orderBy('y')
    .execute();
}

/** Signature rows whose C_ another row also has (one blinded message signs to one C_). */
export async function repeatedSignatures(db: Db): Promise<Pick<SignatureRow, 'b_' | 'c_' | 'amount'>[]> {
  return db
    .selectFrom('mint_signatures')
    .select(['b_', 'c_', 'amount'])
    .where('c_', 'in', (eb) =>
      eb
        .selectFrom('mint_signatures')
        .select('c_')
        .groupBy('c_')
        .having((h) => h.fn.countAll(), '>', 1),
    )
    .orderBy('c_')
    .orderBy('b_')
    .execute();
}

/** How many notes were signed, and how many spent or pending, per keyset and amount. */
export async function countsByKeysetAmount(db: Db): Promise<{ signed: CountRow[]; held: CountRow[] }> {
  const signed = await db
    .selectFrom('mint_signatures')
    .select(['keyset_id', 'amount', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['keyset_id', 'amount'])
    .execute();
  const held = await db
    .selectFrom('mint_proofs')
    .select(['keyset_id', 'amount', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['keyset_id', 'amount'])
    .execute();
  const rows = (rs: typeof signed) =>
    rs.map((r) => ({ keyset: r.keyset_id, amount: Number(r.amount), count: Number(r.n) }));
  return { signed: rows(signed), held: rows(held) };
}

export interface CountRow {
  keyset: string;
  amount: number;
  count: number;
}

/** Signature rows in `b_` order after `after`, `limit` at a time (the audit verifies each). */
export async function signaturesPage(
  db: Db,
  after: string,
  limit: number,
): Promise<Pick<SignatureRow, 'b_' | 'amount' | 'keyset_id' | 'c_'>[]> {
  return db
    .selectFrom('mint_signatures')
    .select(['b_', 'amount', 'keyset_id', 'c_'])
    .where('b_', '>', after)
    .orderBy('b_')
    .limit(limit)
    .execute();
}
