/**
 * The operator jobs' SQL, and only SQL, on the shared job journal (`gateway_jobs`, migration 006):
 * insert a payroll or payout job unless its id or its live (kind, ref) is taken, and find the live job
 * of a ref. State changes go through `jobs/repository.ts` like every other job's.
 */
import type { Kysely } from 'kysely';
import type { Database, GatewayJobsTable } from '../../store/schema.js';
import { countInserted } from '../jobs/repository.js';

type Db = Kysely<Database>;

export type OperatorKind = 'payroll' | 'payout';

/**
 * Inserts the job unless its id is taken or another job of its kind that is not refused holds its ref
 * (the partial unique index of migration 006); returns whether it was inserted. Of two racing
 * requests with one ref, PostgreSQL makes the second wait for the first and then do nothing.
 */
export async function insertOperatorJob(db: Db, row: GatewayJobsTable): Promise<boolean> {
  const r = await db
    .insertInto('gateway_jobs')
    .values(row)
    // No conflict target: any unique constraint (the id, or the live (kind, ref)) makes it do nothing.
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  const inserted = Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  if (inserted) await countInserted(db, row);
  return inserted;
}

/** The job of `kind` holding `ref` that is not refused, if any (at most one, by the unique index). */
export async function liveJobOfRef(
  db: Db,
  kind: OperatorKind,
  ref: string,
): Promise<GatewayJobsTable | undefined> {
  return db
    .selectFrom('gateway_jobs')
    .selectAll()
    .where('kind', '=', kind)
    .where('ref', '=', ref)
    .where('state', '<>', 'refused')
    .executeTakeFirst();
}
