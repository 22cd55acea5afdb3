/**
 * Migration 019: running totals, so that figures read often do not scan books that grow
 * (docs/performance.md, "10⁶ rows"). Both tables hold `SHARDS` rows (store/shards.ts); a writer adds to
 * one of them in the same transaction as the rows it writes, a reader sums them:
 *   - `mint_totals`: value signed, spent and pending at the mint (`mint/repository.ts`): the operator
 *     console's local money outstanding. The audits keep summing the rows and compare.
 *   - `gateway_job_totals`: jobs past their bank call (state `delivering` or `done`,
 *     `gateway/jobs/repository.ts`): the request-log check's count against the bank's log.
 * Existing books are summed once here, into shard 0. No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

/** `SHARDS` of store/shards.ts, as it was when this migration was written. */
const SHARDS = 8;

type Num = string | number | bigint | null;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mint_totals')
    .addColumn('id', 'integer', (c) => c.primaryKey().notNull())
    .addColumn('signed', 'bigint', (c) => c.notNull())
    .addColumn('spent', 'bigint', (c) => c.notNull())
    .addColumn('pending', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('gateway_job_totals')
    .addColumn('id', 'integer', (c) => c.primaryKey().notNull())
    .addColumn('past_the_call', 'bigint', (c) => c.notNull())
    .execute();
  const { rows } = await sql<{ signed: Num; spent: Num; pending: Num; past: Num }>`
    select
      (select sum(amount) from mint_signatures) as signed,
      (select sum(amount) from mint_proofs where state = 'spent') as spent,
      (select sum(amount) from mint_proofs where state = 'pending') as pending,
      (select count(*) from gateway_jobs where state in ('delivering', 'done')) as past
  `.execute(db);
  const sums = rows[0];
  const first = (id: number, v: Num | undefined) => (id === 0 ? Number(v ?? 0) : 0);
  const t = db as Kysely<{
    mint_totals: { id: number; signed: number; spent: number; pending: number };
    gateway_job_totals: { id: number; past_the_call: number };
  }>;
  const ids = Array.from({ length: SHARDS }, (_, id) => id);
  await t
    .insertInto('mint_totals')
    .values(
      ids.map((id) => ({
        id,
        signed: first(id, sums?.signed),
        spent: first(id, sums?.spent),
        pending: first(id, sums?.pending),
      })),
    )
    .execute();
  await t
    .insertInto('gateway_job_totals')
    .values(ids.map((id) => ({ id, past_the_call: first(id, sums?.past) })))
    .execute();
}
