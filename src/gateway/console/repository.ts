/**
 * The operator console's SQL, and only SQL: the reserve series (`gateway_reserve_series`, migration
 * 010), and read-only counts and pages of the job journal and the local mint for the summary, the
 * jobs list and the keysets (docs/gateway.md, "Operator API").
 */
import { type Kysely, sql } from 'kysely';
import { runningFees } from '../../mint/repository.js';
import type { Database, GatewayJobsTable, GatewayReserveSeriesTable } from '../../store/schema.js';
import { FINISHED, JOB_KINDS } from '../jobs/repository.js';

type Db = Kysely<Database>;

export type PointRow = GatewayReserveSeriesTable;

/** One point; a second sample in the same millisecond replaces the first. */
export async function insertPoint(db: Db, p: PointRow): Promise<void> {
  await db
    .insertInto('gateway_reserve_series')
    .values(p)
    .onConflict((oc) => oc.column('at').doUpdateSet({ reserve: p.reserve, outstanding: p.outstanding }))
    .execute();
}

/** How many points at or after `since`, and the first one's time (`since` when none). */
export async function rangeSince(db: Db, since: number): Promise<{ count: number; first: number }> {
  const row = await db
    .selectFrom('gateway_reserve_series')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('at').as('first')])
    .where('at', '>=', since)
    .executeTakeFirst();
  return { count: Number(row?.n ?? 0), first: row?.first == null ? since : Number(row.first) };
}

/**
 * Points at or after `since`, oldest first; with `bucketMs`, only the last point of each bucket
 * (`at / bucketMs`, integer division on both dialects), so a long range stays a bounded answer.
 */
export async function pointsSince(db: Db, since: number, bucketMs?: number): Promise<PointRow[]> {
  let q = db.selectFrom('gateway_reserve_series').selectAll().where('at', '>=', since);
  if (bucketMs !== undefined) {
    q = q.where(
      'at',
      'in',
      db
        .selectFrom('gateway_reserve_series')
        .select((eb) => eb.fn.max('at').as('at'))
        .where('at', '>=', since)
        .groupBy(sql`at / ${sql.lit(Math.floor(bucketMs))}`),
    );
  }
  const rows = await q.orderBy('at').execute();
  return rows.map(toPoint);
}

/** Keeps only the last point of each `bucketMs` bucket among the points in [from, to). */
export async function thin(db: Db, from: number, to: number, bucketMs: number): Promise<number> {
  const keep = db
    .selectFrom('gateway_reserve_series')
    .select((eb) => eb.fn.max('at').as('at'))
    .where('at', '>=', from)
    .where('at', '<', to)
    .groupBy(sql`at / ${sql.lit(Math.floor(bucketMs))}`);
  const r = await db
    .deleteFrom('gateway_reserve_series')
    .where('at', '>=', from)
    .where('at', '<', to)
    .where('at', 'not in', keep)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Deletes the points before `before`. */
export async function dropBefore(db: Db, before: number): Promise<number> {
  const r = await db.deleteFrom('gateway_reserve_series').where('at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

function toPoint(r: PointRow): PointRow {
  return {
    at: Number(r.at),
    reserve: r.reserve === null ? null : Number(r.reserve),
    outstanding: Number(r.outstanding),
  };
}

/**
 * The jobs not finished (`issuing`, `receiving`, `delivering`), few however large the journal: such a
 * job is active (the runner's partial index, `active = 1`, migration 031) or parked (its own partial
 * index, 008), never both (a park makes a job inactive, a retry active again and not parked). Each
 * branch names its index's predicate literally, so both planners use it (as the runner's reads do);
 * neither reads a finished job that has nothing left to deliver. Migration 035 dropped the index of
 * their own that every move of a job used to update.
 */
export function unfinishedJobs(db: Db) {
  const notFinished = sql<boolean>`state not in ('done', 'refused')`;
  const columns = ['kind', 'state', 'amount', 'created_at'] as const;
  return db
    .selectFrom('gateway_jobs')
    .select(columns)
    .where(sql<boolean>`active = 1`)
    .where(notFinished)
    .unionAll(
      db
        .selectFrom('gateway_jobs')
        .select(columns)
        .where('parked_at', 'is not', null)
        .where(sql<boolean>`active = 0`)
        .where(notFinished),
    );
}

/**
 * Jobs per kind and state, with the oldest one's creation time, by kind then state. Read without a
 * scan of the journal (docs/performance.md): the jobs not finished through the runner's and the
 * parked jobs' partial indexes (`unfinishedJobs`), the finished ones from the running totals
 * (`gateway_job_totals`).
 */
export async function jobCounts(db: Db): Promise<
  {
    kind: NonNullable<GatewayJobsTable['kind']>;
    state: GatewayJobsTable['state'];
    count: number;
    oldestAt: number;
  }[]
> {
  const live = await db
    .selectFrom(unfinishedJobs(db).as('u'))
    .select([
      'u.kind',
      'u.state',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.min('u.created_at').as('oldest'),
    ])
    .groupBy(['u.kind', 'u.state'])
    .execute();
  const out = live.map((r) => ({
    kind: r.kind ?? 'transfer',
    state: r.state,
    count: Number(r.n),
    oldestAt: Number(r.oldest),
  }));
  const shards = await db.selectFrom('gateway_job_totals').selectAll().execute();
  for (const state of FINISHED) {
    for (const kind of JOB_KINDS) {
      let count = 0;
      let oldestAt: number | undefined;
      for (const t of shards) {
        count += Number(t[`${state}_${kind}`]);
        const o = t[`oldest_${state}_${kind}`];
        if (o !== null && (oldestAt === undefined || Number(o) < oldestAt)) oldestAt = Number(o);
      }
      if (count > 0) out.push({ kind, state, count, oldestAt: oldestAt ?? 0 });
    }
  }
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => order(a.kind, b.kind) || order(a.state, b.state));
}

/**
 * NUT-02 input fees the local mint collected (docs/gateway.md, "Fees"), from the mint's running total
 * (migration 020): per operation whose notes are all spent, ceil(Σ input_fee_ppk of its notes / 1000),
 * summed. The audit sums the rows (the gateway audit's `fees.collected`) and compares.
 */
export async function localFeesCollected(db: Db): Promise<number> {
  return runningFees(db);
}

/** The value of the jobs not finished yet (issuing, receiving, delivering), as `unfinishedJobs` reads them. */
export async function valueInFlight(db: Db): Promise<number> {
  const row = await db
    .selectFrom(unfinishedJobs(db).as('u'))
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('u.amount'), eb.lit(0)).as('v'))
    .executeTakeFirstOrThrow();
  return Number(row.v);
}

/** Jobs in `state` (or parked), most recently changed first. */
export async function jobsIn(
  db: Db,
  state: GatewayJobsTable['state'] | 'parked' | undefined,
  limit: number,
): Promise<GatewayJobsTable[]> {
  let q = db.selectFrom('gateway_jobs').selectAll();
  if (state === 'parked') q = q.where('parked_at', 'is not', null);
  else if (state !== undefined) q = q.where('state', '=', state);
  return q.orderBy('updated_at', 'desc').orderBy('id').limit(limit).execute();
}

/** Value the local mint signed and value spent, per keyset. */
export async function valueByKeyset(db: Db): Promise<Map<string, { signed: number; spent: number }>> {
  const out = new Map<string, { signed: number; spent: number }>();
  const of = (id: string) => {
    let v = out.get(id);
    if (v === undefined) {
      v = { signed: 0, spent: 0 };
      out.set(id, v);
    }
    return v;
  };
  const signed = await db
    .selectFrom('mint_signatures')
    .select(['keyset_id', (eb) => eb.fn.sum<number>('amount').as('v')])
    .groupBy('keyset_id')
    .execute();
  for (const r of signed) of(r.keyset_id).signed = Number(r.v);
  const spent = await db
    .selectFrom('mint_proofs')
    .select(['keyset_id', (eb) => eb.fn.sum<number>('amount').as('v')])
    .where('state', '=', 'spent')
    .groupBy('keyset_id')
    .execute();
  for (const r of spent) of(r.keyset_id).spent = Number(r.v);
  return out;
}
