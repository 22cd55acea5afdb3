/**
 * For tests that make a database look like an older copy by deleting rows: an older copy's running
 * totals (migration 019) matched its rows, so after such deletes the totals are set from the rows again
 * (shard 0 holds the sums, the others zero), as the migration's backfill does.
 */
import { type Kysely, sql } from 'kysely';
import { FINISHED, JOB_KINDS } from '../gateway/jobs/repository.js';
import { pastTheCallAgainstRows } from '../gateway/reconcile/repository.js';
import { feesAgainstRows, totals } from '../mint/repository.js';
import type { Database } from '../store/schema.js';

export async function totalsFromRows(db: Kysely<Database>): Promise<void> {
  // The rows' sums as the audit reads them (mint/repository.ts, gateway/reconcile/repository.ts).
  const { signed, spent, pending } = await totals(db);
  const fees = (await feesAgainstRows(db)).rows;
  const past = (await pastTheCallAgainstRows(db)).rows;
  const first = (v: number) => sql`case when id = 0 then cast(${v} as bigint) else 0 end`;
  await sql`update mint_totals set signed = ${first(signed)}, spent = ${first(spent)},
      pending = ${first(pending)}, fees = ${first(fees)}`.execute(db);
  await sql`update gateway_job_totals set past_the_call = ${first(past)}`.execute(db);
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
