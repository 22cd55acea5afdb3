/**
 * The mint's SQL, and only SQL: keysets, the spent/pending set (`mint_proofs`, keyed by `Y`) and the
 * signed set (`mint_signatures`, keyed by `B_`). Double-spend and double-sign safety come from those
 * primary keys, so they hold across processes sharing one PostgreSQL, not from any lock in JS.
 */
import type { Kysely } from 'kysely';
import type { Database, MintKeysetRow, MintProofRow, MintSignatureRow, ProofState } from '../store/schema.js';

type Db = Kysely<Database>;

// The row shapes are the schema's (`store/schema.ts`); these names keep the mint's code short.
export type { ProofState };
export type KeysetRow = MintKeysetRow;
export type ProofRow = MintProofRow;
export type SignatureRow = MintSignatureRow;

/** Rows per INSERT statement: below SQLite's and PostgreSQL's bound-parameter limits for 10 columns. */
const ROWS_PER_INSERT = 500;

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

export async function listKeysets(db: Db): Promise<KeysetRow[]> {
  return (await db
    .selectFrom('mint_keysets')
    .selectAll()
    .orderBy('derivation_index')
    .execute()) as KeysetRow[];
}

/** Inserts a keyset; with `ifAbsent`, a taken id or derivation index is left as it is instead of failing. */
export async function insertKeyset(db: Db, row: KeysetRow, o: { ifAbsent: boolean }): Promise<void> {
  const q = db.insertInto('mint_keysets').values(row);
  await (o.ifAbsent ? q.onConflict((oc) => oc.doNothing()) : q).execute();
}

export async function deactivateKeysets(db: Db): Promise<void> {
  await db.updateTable('mint_keysets').set({ active: 0 }).where('active', '=', 1).execute();
}

/** Inserts rows that are new; returns how many were inserted (fewer means some `Y` was already there). */
export async function insertProofs(db: Db, rows: readonly ProofRow[]): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const r = await db
      .insertInto('mint_proofs')
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .onConflict((oc) => oc.column('y').doNothing())
      .executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}

export async function proofStates(
  db: Db,
  Ys: readonly string[],
): Promise<Pick<ProofRow, 'y' | 'state' | 'witness' | 'operation'>[]> {
  if (Ys.length === 0) return [];
  const out: Pick<ProofRow, 'y' | 'state' | 'witness' | 'operation'>[] = [];
  for (let i = 0; i < Ys.length; i += ROWS_PER_INSERT) {
    const part = await db
      .selectFrom('mint_proofs')
      .select(['y', 'state', 'witness', 'operation'])
      .where('y', 'in', Ys.slice(i, i + ROWS_PER_INSERT))
      .execute();
    out.push(...(part as Pick<ProofRow, 'y' | 'state' | 'witness' | 'operation'>[]));
  }
  return out;
}

/** Moves an operation's pending proofs to spent; returns how many moved. */
export async function settleProofs(db: Db, operation: string, now: number): Promise<number> {
  const r = await db
    .updateTable('mint_proofs')
    .set({ state: 'spent', updated_at: now })
    .where('operation', '=', operation)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Forgets an operation's pending proofs (they are unspent again); returns how many. */
export async function releaseProofs(db: Db, operation: string): Promise<number> {
  const r = await db
    .deleteFrom('mint_proofs')
    .where('operation', '=', operation)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function insertSignatures(db: Db, rows: readonly SignatureRow[]): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const r = await db
      .insertInto('mint_signatures')
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .onConflict((oc) => oc.column('b_').doNothing())
      .executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}

export async function signaturesFor(db: Db, B_s: readonly string[]): Promise<SignatureRow[]> {
  if (B_s.length === 0) return [];
  const out: SignatureRow[] = [];
  for (let i = 0; i < B_s.length; i += ROWS_PER_INSERT) {
    const part = await db
      .selectFrom('mint_signatures')
      .selectAll()
      .where('b_', 'in', B_s.slice(i, i + ROWS_PER_INSERT))
      .execute();
    out.push(...(part as SignatureRow[]));
  }
  return out;
}

/** Totals for the audit: value ever signed, value spent, value pending. */
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
