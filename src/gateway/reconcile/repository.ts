/**
 * The reconciliation's SQL, and only SQL (docs/gateway.md, "Reconciling with the bank"): the cursor
 * through which the journal was last found in step with the bank's request log, the jobs a page of
 * that log names, how many jobs are past their bank call (and finished, against the running totals),
 * and the local notes a job holds.
 */
import { type Kysely, sql } from 'kysely';
import { reusable } from '../../store/reusable.js';
import type { Database, GatewayJobsTable, MintProofsTable } from '../../store/schema.js';
import { FINISHED, type FinishedState, JOB_KINDS, type JobKind, PAST_THE_CALL } from '../jobs/repository.js';

type Db = Kysely<Database>;

const CURSOR = 'gateway.bank-log-cursor';

/** The last log entry checked: its `seq` and its key (`<kind>:<ref>`), or seq 0 before any. */
export interface Cursor {
  seq: number;
  key: string;
}

export async function getCursor(db: Db): Promise<Cursor> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', CURSOR).executeTakeFirst();
  if (row === undefined) return { seq: 0, key: '' };
  const c = JSON.parse(row.value) as Cursor;
  return { seq: Number(c.seq), key: String(c.key) };
}

export async function putCursor(db: Db, c: Cursor): Promise<void> {
  const value = JSON.stringify(c);
  await db
    .insertInto('settings')
    .values({ key: CURSOR, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

export type JobHead = Pick<GatewayJobsTable, 'id' | 'direction' | 'state'> & {
  kind: NonNullable<GatewayJobsTable['kind']>;
  ref: string | null;
};

/** Transfers by id, and operator jobs (payroll, payout) by ref that are not refused. */
export async function jobsNamed(db: Db, ids: readonly string[], refs: readonly string[]): Promise<JobHead[]> {
  const out: JobHead[] = [];
  const cols = ['id', 'kind', 'ref', 'direction', 'state'] as const;
  if (ids.length > 0)
    out.push(
      ...(await db.selectFrom('gateway_jobs').select(cols).where('id', 'in', ids).execute()).map(head),
    );
  if (refs.length > 0) {
    const rows = await db
      .selectFrom('gateway_jobs')
      .select(cols)
      .where('kind', 'in', ['payroll', 'payout'])
      .where('ref', 'in', refs)
      .where('state', '<>', 'refused')
      .execute();
    out.push(...rows.map(head));
  }
  return out;
}

function head(r: Pick<GatewayJobsTable, 'id' | 'kind' | 'ref' | 'direction' | 'state'>): JobHead {
  return { id: r.id, kind: r.kind ?? 'transfer', ref: r.ref ?? null, direction: r.direction, state: r.state };
}

/**
 * Jobs past their bank call, counted from the rows: O(journal), so only the audit and the failure path
 * read it; the periodic check reads the running count (`jobs/repository.ts` `pastTheCall`).
 */
export async function countPastTheCall(db: Db): Promise<number> {
  const row = await db
    .selectFrom('gateway_jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', 'in', [...PAST_THE_CALL])
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * The running count of jobs past their call and the count of the rows, read by one statement (one
 * snapshot on both dialects, even while jobs move): the audit's check of `gateway_job_totals`.
 */
export async function pastTheCallAgainstRows(db: Db): Promise<{ running: number; rows: number }> {
  const { rows } = await sql<{
    running: string | number | bigint | null;
    counted: string | number | bigint | null;
  }>`
    select
      (select sum(past_the_call) from gateway_job_totals) as running,
      (select count(*) from gateway_jobs where state in (${sql.join([...PAST_THE_CALL])})) as counted
  `.execute(db);
  return { running: Number(rows[0]?.running ?? 0), rows: Number(rows[0]?.counted ?? 0) };
}

/**
 * The running counts of finished jobs per state and kind (migration 020) and the rows' counts, read by
 * one statement like `pastTheCallAgainstRows`: the audit's check of the console's figures.
 */
export async function finishedAgainstRows(
  db: Db,
): Promise<{ state: FinishedState; kind: JobKind; running: number; rows: number }[]> {
  const pairs = FINISHED.flatMap((state) => JOB_KINDS.map((kind) => ({ state, kind })));
  const cols = pairs.flatMap(({ state, kind }, i) => [
    sql`(select sum(${sql.ref(`${state}_${kind}`)}) from gateway_job_totals) as ${sql.ref(`r${i}`)}`,
    sql`(select count(*) from gateway_jobs where state = ${state} and coalesce(kind, 'transfer') = ${kind}) as ${sql.ref(`c${i}`)}`,
  ]);
  const { rows } = await sql<
    Record<string, string | number | bigint | null>
  >`select ${sql.join(cols)}`.execute(db);
  const r = rows[0] ?? {};
  return pairs.map((p, i) => ({ ...p, running: Number(r[`r${i}`] ?? 0), rows: Number(r[`c${i}`] ?? 0) }));
}

/** Every job past its call, keyed as the bank's log names it (`issue:<id>`, `claim:<ref>`, …); the failure path only. */
export async function keysPastTheCall(db: Db): Promise<{ id: string; key: string }[]> {
  const rows = await db
    .selectFrom('gateway_jobs')
    .select(['id', 'kind', 'ref', 'direction'])
    .where('state', 'in', [...PAST_THE_CALL])
    .execute();
  return rows.map((r) => ({
    id: r.id,
    key:
      r.kind === 'payroll'
        ? `claim:${r.ref}`
        : r.kind === 'payout'
          ? `payout:${r.ref}`
          : `${r.direction === 'lan-to-wan' ? 'issue' : 'receive'}:${r.id}`,
  }));
}

/** A note the local mint holds, as the recovery record needs it. */
export type HeldNote = Pick<MintProofsTable, 'amount' | 'keyset_id' | 'secret' | 'c' | 'witness'>;

/** The notes the local mint holds (pending) under `operation`, as they were presented. */
export async function heldNotes(db: Db, operation: string): Promise<HeldNote[]> {
  const rows = await notesHeld(db, operation);
  return rows.map((r) => ({ ...r, amount: Number(r.amount) }));
}

// Compiled once (`reusable`): once a conversion of job 2.
const notesHeld = reusable((db, operation: string) =>
  db
    .selectFrom('mint_proofs')
    .select(['amount', 'keyset_id', 'secret', 'c', 'witness'])
    .where('operation', '=', operation)
    .orderBy('created_at')
    .orderBy('y'),
);
