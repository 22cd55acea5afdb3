/**
 * The checkpoint's SQL, and only SQL (read only): the rows of the wide bank's money tables that can no
 * longer change once written, as of a time: ledger entries, accounts' identities, requests and the
 * request log, signatures, spent notes, terminal quotes (mint ISSUED, melt PAID) and keysets' creation
 * columns. Each row comes back as its key, its columns in a fixed order, and its value.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

type Db = Kysely<Database>;

export const CHECKPOINT_TABLES = [
  'bank_accounts',
  'bank_entries',
  'bank_requests',
  'bank_request_log',
  'mint_keysets',
  'mint_signatures',
  'mint_proofs',
  'lightning_quotes',
] as const;
export type CheckpointTable = (typeof CHECKPOINT_TABLES)[number];

export interface FrozenRow {
  key: string;
  columns: unknown[];
  /** Its money value (amount; a ledger entry's credit), 0 where the table has none. */
  value: number;
}

/** Every frozen row of `table` written at or before `at` (unix ms). */
export async function frozenRows(db: Db, table: CheckpointTable, at: number): Promise<FrozenRow[]> {
  switch (table) {
    case 'bank_accounts':
      return (
        await db
          .selectFrom('bank_accounts')
          .select(['id', 'kind', 'holder_key', 'created_at'])
          .where('created_at', '<=', at)
          .execute()
      ).map((r) => ({ key: r.id, columns: [r.id, r.kind, r.holder_key, Number(r.created_at)], value: 0 }));
    case 'bank_entries':
      return (await db.selectFrom('bank_entries').selectAll().where('created_at', '<=', at).execute()).map(
        (r) => ({
          key: r.id,
          columns: [r.id, r.tx_id, r.account_id, Number(r.amount), r.kind, r.ref, Number(r.created_at)],
          value: Math.max(0, Number(r.amount)),
        }),
      );
    case 'bank_requests':
      return (await db.selectFrom('bank_requests').selectAll().where('created_at', '<=', at).execute()).map(
        (r) => ({
          key: r.key,
          columns: [r.key, r.kind, r.account_id, r.request_hash, r.response, Number(r.created_at)],
          value: 0,
        }),
      );
    case 'bank_request_log':
      return (
        await db.selectFrom('bank_request_log').selectAll().where('created_at', '<=', at).execute()
      ).map((r) => ({
        key: `${r.account_id}/${String(r.seq).padStart(20, '0')}`,
        columns: [
          r.account_id,
          Number(r.seq),
          r.key,
          r.kind,
          r.ref,
          Number(r.amount),
          r.recovery,
          Number(r.created_at),
        ],
        value: Number(r.amount),
      }));
    case 'mint_keysets':
      return (
        await db
          .selectFrom('mint_keysets')
          .select(['id', 'unit', 'input_fee_ppk', 'derivation_index', 'max_order', 'created_at'])
          .where('created_at', '<=', at)
          .execute()
      ).map((r) => ({
        key: r.id,
        columns: [
          r.id,
          r.unit,
          Number(r.input_fee_ppk),
          Number(r.derivation_index),
          Number(r.max_order),
          Number(r.created_at),
        ],
        value: 0,
      }));
    case 'mint_signatures':
      return (await db.selectFrom('mint_signatures').selectAll().where('created_at', '<=', at).execute()).map(
        (r) => ({
          key: r.b_,
          columns: [
            r.b_,
            Number(r.amount),
            r.keyset_id,
            r.c_,
            r.dleq_e,
            r.dleq_s,
            r.operation,
            Number(r.created_at),
          ],
          value: Number(r.amount),
        }),
      );
    case 'mint_proofs':
      // A spent note never changes again; a pending one is settled or released later.
      return (
        await db
          .selectFrom('mint_proofs')
          .selectAll()
          .where('state', '=', 'spent')
          .where('updated_at', '<=', at)
          .execute()
      ).map((r) => ({
        key: r.y,
        columns: [
          r.y,
          Number(r.amount),
          r.keyset_id,
          r.secret,
          r.c,
          r.witness,
          r.operation,
          Number(r.created_at),
          Number(r.updated_at),
        ],
        value: Number(r.amount),
      }));
    case 'lightning_quotes':
      // Final states only: a mint quote ISSUED, a melt quote PAID.
      return (
        await db
          .selectFrom('lightning_quotes')
          .selectAll()
          .where((eb) =>
            eb.or([
              eb.and([eb('kind', '=', 'mint'), eb('state', '=', 'ISSUED')]),
              eb.and([eb('kind', '=', 'melt'), eb('state', '=', 'PAID')]),
            ]),
          )
          .where('updated_at', '<=', at)
          .execute()
      ).map((r) => ({
        key: r.id,
        columns: [
          r.id,
          r.kind,
          r.unit,
          r.state,
          Number(r.amount),
          Number(r.fee_reserve),
          r.request,
          r.payment_hash,
          r.preimage,
          Number(r.fee_paid),
          Number(r.inputs_amount),
          Number(r.input_fee),
          r.change,
          Number(r.created_at),
          Number(r.updated_at),
        ],
        value: Number(r.amount),
      }));
  }
}
