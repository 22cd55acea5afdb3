/**
 * The job journal's SQL, and only SQL (`gateway_jobs`, `gateway_job_events`). State changes are
 * conditional (`WHERE state = <from>`): the row lock and the WHERE clause decide, so a step that lost a
 * race changes nothing and its transaction is rolled back by the caller.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, GatewayJobEventsTable, GatewayJobsTable } from '../../store/schema.js';

type Db = Kysely<Database>;

export type JobRow = GatewayJobsTable;
export type EventRow = GatewayJobEventsTable;

/** Inserts a new job unless its id is taken; returns whether it was inserted. */
export async function insertJobIfAbsent(db: Db, row: JobRow): Promise<boolean> {
  const r = await db
    .insertInto('gateway_jobs')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function getJob(db: Db, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('gateway_jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Changes a job that is in `from` (state and notice), with `patch`; returns false (and changes nothing)
 * when the job has moved on meanwhile.
 */
export async function moveJob(
  db: Db,
  id: string,
  from: { state: JobRow['state']; notice?: JobRow['notice'] },
  patch: Partial<Omit<JobRow, 'id'>>,
): Promise<boolean> {
  let q = db.updateTable('gateway_jobs').set(patch).where('id', '=', id).where('state', '=', from.state);
  if (from.notice !== undefined) q = q.where('notice', '=', from.notice);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Appends an event to a job's history, numbered after its last one in the same statement (call after
 * `moveJob`, whose row lock orders the sequence). Written as SQL: Kysely takes longer to build this
 * subquery (≈100 µs and more) than the database takes to run it.
 */
export async function insertEvent(db: Db, e: Omit<EventRow, 'seq'>): Promise<void> {
  await sql`insert into gateway_job_events (job_id, seq, from_state, to_state, at, detail)
    values (${e.job_id}, (select coalesce(max(seq), 0) + 1 from gateway_job_events where job_id = ${e.job_id}),
      ${e.from_state}, ${e.to_state}, ${e.at}, ${e.detail})`.execute(db);
}

/** Ids of active jobs due at `now`, oldest due first. */
export async function dueJobs(db: Db, now: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('gateway_jobs')
    .select('id')
    .where('active', '=', 1)
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * The runner's lanes (docs/gateway.md, "The runner"): money steps (a bank call and its journal entry:
 * `issuing`, `receiving`) and deliveries (a payment in `delivering`, a notice of a finished job).
 */
export type Lane = 'money' | 'delivery';
const MONEY_STATES: JobRow['state'][] = ['issuing', 'receiving'];

/** What the runner needs to place a due job in its lane and, for a delivery, its destination. */
export type DueRow = Pick<JobRow, 'id' | 'state' | 'notice' | 'destination' | 'reply_to' | 'next_attempt_at'>;

/** Active jobs of `lane` due at `now`, oldest due first, after `after` (a page's last row) when given. */
export async function dueInLane(
  db: Db,
  lane: Lane,
  now: number,
  limit: number,
  after?: { at: number; id: string },
): Promise<DueRow[]> {
  let q = db
    .selectFrom('gateway_jobs')
    .select(['id', 'state', 'notice', 'destination', 'reply_to', 'next_attempt_at'])
    .where('active', '=', 1)
    .where('next_attempt_at', '<=', now)
    .where('state', lane === 'money' ? 'in' : 'not in', MONEY_STATES);
  if (after !== undefined) {
    q = q.where((eb) =>
      eb.or([
        eb('next_attempt_at', '>', after.at),
        eb.and([eb('next_attempt_at', '=', after.at), eb('id', '>', after.id)]),
      ]),
    );
  }
  return q.orderBy('next_attempt_at').orderBy('id').limit(limit).execute();
}

/** Parked jobs, parked first first. */
export async function parkedJobs(db: Db, limit: number): Promise<JobRow[]> {
  return db
    .selectFrom('gateway_jobs')
    .selectAll()
    .where('parked_at', 'is not', null)
    .orderBy('parked_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** How many jobs are parked, for metrics. */
export async function countParked(db: Db): Promise<number> {
  const row = await db
    .selectFrom('gateway_jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('parked_at', 'is not', null)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Makes a parked job due again (the operator's retry), its delivery deadline counted from `now`;
 * false when it is not parked (any more).
 */
export async function unpark(db: Db, id: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('gateway_jobs')
    .set({ parked_at: null, active: 1, attempts: 0, next_attempt_at: now, updated_at: now })
    .where('id', '=', id)
    .where('parked_at', 'is not', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * The operator abandons a parked refusal notice: the job (finished, its money settled) stops trying to
 * tell its sender; false when it is not a parked notice (any more).
 */
export async function abandonParkedNotice(db: Db, id: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('gateway_jobs')
    .set({ parked_at: null, active: 0, notice: 'abandoned', updated_at: now })
    .where('id', '=', id)
    .where('parked_at', 'is not', null)
    .where('notice', '=', 'pending')
    .where('state', 'in', ['done', 'refused'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** When the next active job is due, if any. */
export async function nextDueAt(db: Db): Promise<number | undefined> {
  const row = await db
    .selectFrom('gateway_jobs')
    .select((eb) => eb.fn.min('next_attempt_at').as('at'))
    .where('active', '=', 1)
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
}

/** Makes every active job due now (start-up: resume everything at once). */
export async function resumeAll(db: Db, now: number): Promise<number> {
  const r = await db
    .updateTable('gateway_jobs')
    .set({ next_attempt_at: now })
    .where('active', '=', 1)
    .where('next_attempt_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Jobs a key sent or received, newest first, created before `before`. */
export async function jobsOfKey(db: Db, key: string, limit: number, before: number): Promise<JobRow[]> {
  return db
    .selectFrom('gateway_jobs')
    .selectAll()
    .where((eb) => eb.or([eb('sender_key', '=', key), eb('destination_key', '=', key)]))
    .where('created_at', '<', before)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function eventsOf(db: Db, jobIds: readonly string[]): Promise<EventRow[]> {
  if (jobIds.length === 0) return [];
  return db
    .selectFrom('gateway_job_events')
    .selectAll()
    .where('job_id', 'in', jobIds)
    .orderBy('job_id')
    .orderBy('seq')
    .execute();
}

/** Jobs per state, for metrics. */
export async function countByState(db: Db): Promise<{ state: JobRow['state']; n: number }[]> {
  const rows = await db
    .selectFrom('gateway_jobs')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}
