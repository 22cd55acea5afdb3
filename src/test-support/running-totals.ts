/**
 * For tests that make a database look like an older copy by deleting rows: an older copy's running
 * totals (migration 019) matched its rows, so after such deletes the totals are set from the rows again
 * (shard 0 holds the sums, the others zero), as the migration's backfill does.
 */
import { type Kysely, sql } from 'kysely';
import { FINISHED, JOB_KINDS } from '../gateway/jobs/repository.js';
import type { Database } from '../store/schema.js';

export async function totalsFromRows(db: Kysely<Database>): Promise<void> {
  await sql`update mint_totals set
      signed = case when id = 0 then (select coalesce(sum(amount), 0) from mint_signatures) else 0 end,
      spent = case when id = 0 then (select coalesce(sum(amount), 0) from mint_proofs where state = 'spent') else 0 end,
      pending = case when id = 0 then (select coalesce(sum(amount), 0) from mint_proofs where state = 'pending') else 0 end,
      fees = case when id = 0 then (select coalesce(sum(f), 0) from (
        select case when sum(case when p.state = 'pending' then 1 else 0 end) > 0 then 0
          else (cast(sum(k.input_fee_ppk) as bigint) + 999) / 1000 end as f
        from mint_proofs p join mint_keysets k on k.id = p.keyset_id
        where k.input_fee_ppk > 0 group by p.operation) per_operation) else 0 end`.execute(db);
  await sql`update gateway_job_totals set past_the_call = case when id = 0 then
      (select count(*) from gateway_jobs where state in ('delivering', 'done')) else 0 end`.execute(db);
  // Migration 020: finished jobs per state and kind, with the oldest's creation.
  for (const state of FINISHED) {
    for (const kind of JOB_KINDS) {
      const count = sql.ref(`${state}_${kind}`);
      const oldest = sql.ref(`oldest_${state}_${kind}`);
      const of = sql`from gateway_jobs where state = ${state} and coalesce(kind, 'transfer') = ${kind}`;
      await sql`update gateway_job_totals set
          ${count} = case when id = 0 then (select count(*) ${of}) else 0 end,
          ${oldest} = case when id = 0 then (select min(created_at) ${of}) else null end`.execute(db);
    }
  }
}
