/**
 * Migration 020: the operator console's summary without a scan of the journal (docs/performance.md,
 * "10⁶ rows"). Finished jobs (done, refused) are counted per kind in `gateway_job_totals` (019's sharded
 * rows, moved in the same transactions), with the oldest one's creation time; the jobs not finished,
 * few however large the journal grows, are read live through a partial index over them. The local
 * mint's NUT-02 input fees collected are a running total in `mint_totals` (`fees`), moved where inputs
 * become spent. Existing books are summed once here, into shard 0. No `down` (see 001).
 */
import { type Kysely, sql } from 'kysely';

/** The finished states and the kinds of migration 006, as they were when this migration was written. */
const FINISHED = ['done', 'refused'] as const;
const KINDS = ['transfer', 'payroll', 'payout'] as const;

type Num = string | number | bigint | null;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const state of FINISHED) {
    for (const kind of KINDS) {
      await db.schema
        .alterTable('gateway_job_totals')
        .addColumn(`${state}_${kind}`, 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      // NULL while the shard has counted none.
      await db.schema
        .alterTable('gateway_job_totals')
        .addColumn(`oldest_${state}_${kind}`, 'bigint')
        .execute();
    }
  }
  // The same literal predicate as the console's read (`console/repository.ts`), so both planners use it.
  await db.schema
    .createIndex('gateway_jobs_unfinished_idx')
    .on('gateway_jobs')
    .columns(['kind', 'state', 'created_at'])
    .where(sql<boolean>`state not in ('done', 'refused')`)
    .execute();
  // The local mint's NUT-02 fees collected, summed from the rows as the audit does (mint/repository.ts).
  await db.schema
    .alterTable('mint_totals')
    .addColumn('fees', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  const fees = await sql<{ f: Num }>`
    select sum(f) as f from (
      select case when sum(case when p.state = 'pending' then 1 else 0 end) > 0 then 0
        else (cast(sum(k.input_fee_ppk) as bigint) + 999) / 1000 end as f
      from mint_proofs p join mint_keysets k on k.id = p.keyset_id
      where k.input_fee_ppk > 0
      group by p.operation) per_operation
  `.execute(db);
  await sql`update mint_totals set fees = ${Number(fees.rows[0]?.f ?? 0)} where id = 0`.execute(db);
  const { rows } = await sql<{ kind: string | null; state: string; n: Num; oldest: Num }>`
    select kind, state, count(*) as n, min(created_at) as oldest from gateway_jobs
    where state in ('done', 'refused') group by kind, state
  `.execute(db);
  for (const r of rows) {
    const kind = r.kind ?? 'transfer';
    if (!(KINDS as readonly string[]).includes(kind)) continue;
    const count = sql.ref(`${r.state}_${kind}`);
    const oldest = sql.ref(`oldest_${r.state}_${kind}`);
    await sql`update gateway_job_totals set ${count} = ${Number(r.n ?? 0)}, ${oldest} = ${Number(r.oldest ?? 0)}
      where id = 0`.execute(db);
  }
}
