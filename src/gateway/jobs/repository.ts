/**
 * The job journal's SQL, and only SQL (`gateway_jobs`, `gateway_job_events`). A job's row holds its
 * state and the journal's head; the journal's bulk (model.ts `BULK_PARTS`) is written once, in the
 * `bulk` column of the event of the write that brought it (migration 029): no row of its own, no
 * index of its own, no statement of its own. State changes are
 * conditional (`WHERE state = <from>`): the row lock and the WHERE clause decide, so a step that lost a
 * race changes nothing and its transaction is rolled back by the caller. Every insert and state
 * change also keeps the running totals of `gateway_job_totals` in the same transaction: jobs past their
 * bank call (migration 019), finished jobs per state and kind with the oldest's creation (020).
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { fail } from '../../core/errors.js';
import { allColumns } from '../../store/columns.js';
import { once, reusable, runsDataModifyingCtes } from '../../store/reusable.js';
import type { Database, GatewayJobEventsTable, GatewayJobsTable } from '../../store/schema.js';
import { shardFor } from '../../store/shards.js';

type Db = Kysely<Database>;

export type JobRow = GatewayJobsTable;
export type EventRow = GatewayJobEventsTable;

/**
 * Inserts a new job unless its id is taken; returns whether it was inserted. With `lease` the job is
 * born held by `lease.owner` (an intake's own runner takes it without a claim of its own: one round
 * trip and one commit fewer). The caller writes its first event (with the journal's bulk).
 */
export async function insertJobIfAbsent(db: Db, row: JobRow, lease?: Lease): Promise<boolean> {
  const r = await db
    .insertInto('gateway_jobs')
    .values(
      lease === undefined
        ? row
        : { ...row, lease_owner: lease.owner, lease_until: sql<number>`${DB_NOW} + ${lease.ttlMs}` },
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  const inserted = Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  if (inserted) await countInserted(db, row);
  return inserted;
}

/**
 * The bulk its events carry of a job's journal, in the order written (a later part replaces an
 * earlier one of its name: `model.ts` `mergeJournal`); none once pruned. Through the events' key.
 */
export async function bulkOf(db: Db, jobId: string): Promise<string[]> {
  return (await bulkById(db, jobId)).map((r) => r.bulk);
}

const bulkById = reusable((db, jobId: string) => ({
  compile: () =>
    sql<{ bulk: string }>`select bulk from gateway_job_events where job_id = ${jobId} and bulk is not null
      order by seq`.compile(db),
}));

/** Jobs whose bank call has been answered: every kind leaves its call into `delivering` or `done`. */
export const PAST_THE_CALL: readonly JobRow['state'][] = ['delivering', 'done'];
const isPast = (s: JobRow['state']) => PAST_THE_CALL.includes(s);

/** The states a job never leaves; counted per kind by the running totals (migration 020). */
export const FINISHED = ['done', 'refused'] as const;
export type FinishedState = (typeof FINISHED)[number];
export type JobKind = NonNullable<JobRow['kind']>;
export const JOB_KINDS: readonly JobKind[] = ['transfer', 'payroll', 'payout'];
const isFinished = (s: JobRow['state']): s is FinishedState => s === 'done' || s === 'refused';

/** A change to the running totals: jobs past the call, and one finished (or unfinished) job. */
interface TotalsDelta {
  past: number;
  finished?: { state: FinishedState; kind: JobKind; delta: 1 | -1; createdAt: number };
}

/** Adds `d` to the running totals, in the caller's transaction (one shard, one statement). */
async function addTotals(db: Db, d: TotalsDelta): Promise<void> {
  const shard = shardFor(db, 'gateway_job_totals');
  const f = d.finished;
  if (f === undefined) {
    if (d.past !== 0) await addPast(db, d.past, shard);
    return;
  }
  // Once a job (it finishes, or in a repair leaves a finished state): built each time.
  const sets = totalsSets(d.past, {
    column: `${f.state}_${f.kind}`,
    delta: f.delta,
    ...(f.delta > 0 ? { oldest: f.createdAt } : {}),
  });
  await sql`update gateway_job_totals set ${sets} where id = ${shard}`.execute(db);
}

/** A column of finished jobs in `gateway_job_totals` (migration 020), `<state>_<kind>`. */
type FinishedColumn = `${FinishedState}_${JobKind}`;

/**
 * The SET list of a change to the running totals: `past` jobs past the call and, when one finishes,
 * `delta` on its state and kind's column and `oldest` (its `created_at`; absent when leaving) kept if
 * older. Finished jobs never leave their state, so the oldest only ever moves back in time.
 */
function totalsSets(past: unknown, finished?: { column: FinishedColumn; delta: unknown; oldest?: unknown }) {
  const sets = [sql`past_the_call = past_the_call + ${past}`];
  if (finished !== undefined) {
    const count = sql.ref(finished.column);
    sets.push(sql`${count} = ${count} + ${finished.delta}`);
    const oldest = sql.ref(`oldest_${finished.column}`);
    const at = finished.oldest;
    if (at !== undefined)
      sets.push(
        sql`${oldest} = case when ${oldest} is null or ${oldest} > ${at} then ${at} else ${oldest} end`,
      );
  }
  return sql.join(sets);
}

/** The hottest totals update (a job's step past, or back from, its bank call), compiled once. */
const addPast = reusable((db, past: number, shard: number) => ({
  compile: () => sql`update gateway_job_totals set ${totalsSets(past)} where id = ${shard}`.compile(db),
}));

/** A step finishing a job of one kind (SQLite: the statement after the move's), compiled once per column. */
const addFinished = once((column: FinishedColumn) =>
  reusable((db, past: number, createdAt: number, shard: number) => ({
    compile: () =>
      sql`update gateway_job_totals set ${totalsSets(past, { column, delta: sql`1`, oldest: createdAt })}
        where id = ${shard}`.compile(db),
  })),
);

/** A job just inserted is counted in the running totals (call in the insert's transaction). */
export async function countInserted(
  db: Db,
  row: Pick<JobRow, 'state' | 'kind' | 'created_at'>,
): Promise<void> {
  await addTotals(db, {
    past: isPast(row.state) ? 1 : 0,
    ...(isFinished(row.state)
      ? { finished: { state: row.state, kind: row.kind ?? 'transfer', delta: 1, createdAt: row.created_at } }
      : {}),
  });
}

/** The columns a conversion's intake writes (the others take their defaults: a `transfer`, unleased). */
const INTAKE_COLUMNS = [
  'id',
  'direction',
  'state',
  'sender_key',
  'request_hash',
  'destination',
  'destination_key',
  'reply_to',
  'amount',
  'journal',
  'active',
  'notice',
  'refusal',
  'attempts',
  'next_attempt_at',
  'last_error',
  'created_at',
  'updated_at',
] as const;
export type IntakeRow = Pick<JobRow, (typeof INTAKE_COLUMNS)[number]>;
/** One value for each of `T`'s positions, as a tuple. */
type ValuesOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: unknown };
type IntakeValues = ValuesOf<typeof INTAKE_COLUMNS>;

/**
 * A conversion's intake: inserts its job (held by `lease.owner` when given, as `insertJobIfAbsent`)
 * with its first event (from `received`) and its journal's `bulk` unless the id is taken; answers
 * whether it inserted. Compiled once: on PostgreSQL one statement (job, event and bulk), on SQLite
 * one each.
 */
export async function insertIntake(
  db: Db,
  row: IntakeRow,
  detail: string,
  lease?: Lease,
  bulk?: string,
): Promise<boolean> {
  let inserted: boolean;
  const values = INTAKE_COLUMNS.map((c) => row[c]) as unknown as IntakeValues;
  if (runsDataModifyingCtes(db)) {
    const owner = lease?.owner ?? null;
    inserted =
      (await intakeFolded(db, ...values, owner, lease?.ttlMs ?? null, detail, bulk ?? null)).length === 1;
  } else {
    inserted =
      lease === undefined
        ? (await intakeInsert(db, ...values)).length === 1
        : await insertJobIfAbsent(db, row, lease);
    if (inserted) await eventInsert(db, row.id, 'received', row.state, row.created_at, detail, bulk ?? null);
  }
  if (inserted) await countInserted(db, row);
  return inserted;
}

const intakeColumns = sql.join(INTAKE_COLUMNS.map((c) => sql.ref(c)));

const intakeInsert = reusable((db, ...v: IntakeValues) => ({
  compile: () =>
    sql`insert into gateway_jobs (${intakeColumns}) values (${sql.join(v)})
      on conflict (id) do nothing returning id`.compile(db),
}));

/** PostgreSQL: the job (leased when `owner` is not null) and its first event with the bulk, one statement. */
const intakeFolded = reusable(
  (
    db,
    ...a: [...IntakeValues, owner: string | null, ttlMs: number | null, detail: string, bulk: string | null]
  ) => {
    const v = a.slice(0, INTAKE_COLUMNS.length);
    const [owner, ttlMs, detail, bulk] = a.slice(INTAKE_COLUMNS.length);
    const at = (c: (typeof INTAKE_COLUMNS)[number]) => v[INTAKE_COLUMNS.indexOf(c)];
    return {
      compile: () =>
        sql`with job as (insert into gateway_jobs (${intakeColumns}, lease_owner, lease_until)
            values (${sql.join(v)}, cast(${owner} as text),
              case when cast(${owner} as text) is null then null else ${DB_NOW} + cast(${ttlMs} as bigint) end)
            on conflict (id) do nothing returning id)
          insert into gateway_job_events (job_id, seq, from_state, to_state, at, detail, bulk)
          select job.id, 1, 'received', cast(${at('state')} as text), cast(${at('created_at')} as bigint),
            cast(${detail} as text), cast(${bulk} as text) from job
          returning job_id`.compile(db),
    };
  },
);

/** Jobs past their bank call, from the running count (a few rows, whatever the journal's size). */
export async function pastTheCall(db: Db): Promise<number> {
  const rows = await db.selectFrom('gateway_job_totals').select('past_the_call').execute();
  return rows.reduce((n, r) => n + Number(r.past_the_call), 0);
}

/**
 * A job's whole row, by listed columns so PostgreSQL prepares this hot read (`store/columns.ts`): the
 * intake's columns and those an intake leaves to their defaults.
 */
const JOB_ROW = allColumns<JobRow>()([
  ...INTAKE_COLUMNS,
  'kind',
  'ref',
  'parked_at',
  'lease_owner',
  'lease_until',
  'pruned_at',
]);

const jobById = reusable((db, id: string) =>
  db.selectFrom('gateway_jobs').select(JOB_ROW).where('id', '=', id),
);

export async function getJob(db: Db, id: string): Promise<JobRow | undefined> {
  return (await jobById(db, id))[0];
}

/**
 * Changes a job that is in `from` (state and notice, and held under the lease `from.lease` when given),
 * with `patch`; returns false (and changes nothing) when the job has moved on meanwhile, or another
 * process has taken its lease.
 */
export async function moveJob(
  db: Db,
  id: string,
  from: { state: JobRow['state']; notice?: JobRow['notice']; lease?: string | undefined },
  patch: Partial<Omit<JobRow, 'id'>>,
): Promise<boolean> {
  let q = db.updateTable('gateway_jobs').set(patch).where('id', '=', id).where('state', '=', from.state);
  if (from.notice !== undefined) q = q.where('notice', '=', from.notice);
  if (from.lease !== undefined) q = q.where('lease_owner', '=', from.lease);
  const to = patch.state;
  if (to === undefined || isFinished(to) === isFinished(from.state)) {
    const r = await q.executeTakeFirst();
    const moved = Number(r.numUpdatedRows) === 1;
    if (moved && to !== undefined)
      await addTotals(db, { past: (isPast(to) ? 1 : 0) - (isPast(from.state) ? 1 : 0) });
    return moved;
  }
  // Finishing (or, never in practice, leaving a finished state): the totals need the job's kind.
  const r = await q.returning(['kind', 'created_at']).executeTakeFirst();
  if (r === undefined) return false;
  const finished = isFinished(to) ? to : (from.state as FinishedState);
  await addTotals(db, {
    past: (isPast(to) ? 1 : 0) - (isPast(from.state) ? 1 : 0),
    finished: {
      state: finished,
      kind: r.kind ?? 'transfer',
      delta: isFinished(to) ? 1 : -1,
      createdAt: Number(r.created_at),
    },
  });
  return true;
}

/**
 * A step's move of a job with its event, as the steps write it (`steps.ts` `moveJob`): from `from` to
 * `to` (never out of a finished state), the step's columns, the retry columns reset to "due now", the
 * lease checked (`lease`: the holder required; undefined: none) and given up with `release`.
 */
export interface StepMove {
  id: string;
  /** The job's kind and creation, as read with it (never change): which finished count moves. */
  kind: JobKind;
  createdAt: number;
  from: JobRow['state'];
  to: JobRow['state'];
  lease: string | undefined;
  release: boolean;
  /** Changed columns; undefined keeps the column as it is. `journal`: the journal's whole head. */
  journal?: string;
  /** Bulk parts of the journal this move writes (JSON), carried by its event. */
  bulk?: string;
  refusal?: string;
  notice?: JobRow['notice'];
  active?: number;
  now: number;
  detail: string;
  /**
   * Two moves of one step in one write: from `from` through `via.state` (its event carries
   * `via.detail` and the journal's bulk) on to `to` (its event `detail`), as two moves in one
   * transaction would leave the job, its totals and its history (job 2's payment deposited in the LAN
   * mailbox with its notes: `receiving` → `delivering` → `done`). Never through a finished state.
   */
  via?: { state: JobRow['state']; detail: string };
}

/**
 * Writes `m`: the job's row, the running totals and the event (with the journal's bulk, if any; two
 * with `via`), or nothing when the job has moved on or its lease is another's; answers whether it
 * moved. Every statement is compiled once (no query is built per move). On PostgreSQL the three
 * writes are ONE statement (a data-modifying CTE, one round trip instead of three); the event's
 * `max(seq)` there reads the statement's snapshot, safe because only the lease holder, through the
 * row just updated, numbers a job's events (a duplicate number would be refused by the key, never
 * written). On SQLite they are three statements (four with `via`).
 */
export async function moveWithEvent(db: Db, m: StepMove): Promise<boolean> {
  if (isFinished(m.from)) fail('Internal', { reason: `job ${m.id}: a step never leaves ${m.from}` });
  if (m.via !== undefined && isFinished(m.via.state)) {
    fail('Internal', { reason: `job ${m.id}: a step never moves through ${m.via.state}` });
  }
  const past = (isPast(m.to) ? 1 : 0) - (isPast(m.from) ? 1 : 0);
  const finished: FinishedColumn | undefined = isFinished(m.to) ? `${m.to}_${m.kind}` : undefined;
  const shard = shardFor(db, 'gateway_job_totals');
  const args = [
    m.id,
    m.from,
    m.to,
    m.journal ?? null,
    m.refusal ?? null,
    m.notice ?? null,
    m.active ?? null,
    m.now,
    m.release ? 1 : 0,
    m.lease ?? null,
  ] as const;
  const bulk = m.bulk ?? null;
  if (runsDataModifyingCtes(db)) {
    const totals = finished ?? (past !== 0 ? 'past' : 'none');
    const { via } = m;
    const rows =
      via === undefined
        ? await foldedMove(totals)(db, ...args, past, shard, m.detail, bulk)
        : await foldedMoveVia(totals)(db, ...args, past, shard, m.detail, bulk, via.state, via.detail);
    return rows.length === 1;
  }
  if ((await stepUpdate(db, ...args)).length === 0) return false;
  if (finished !== undefined) await addFinished(finished)(db, past, m.createdAt, shard);
  else if (past !== 0) await addPast(db, past, shard);
  if (m.via === undefined) await eventInsert(db, m.id, m.from, m.to, m.now, m.detail, bulk);
  else {
    await eventInsert(db, m.id, m.from, m.via.state, m.now, m.via.detail, bulk);
    await eventInsert(db, m.id, m.via.state, m.to, m.now, m.detail, null);
  }
  return true;
}

type StepArgs = [
  id: string,
  from: string,
  to: string,
  journal: string | null,
  refusal: string | null,
  notice: string | null,
  active: number | null,
  now: number,
  release: 0 | 1,
  lease: string | null,
];

/** The job's row of a `StepMove`: one shape for every step (an argument left null keeps its column). */
function stepUpdateSql(
  [id, from, to, journal, refusal, notice, active, now, release, lease]: StepArgs,
  returning: RawBuilder<unknown>,
) {
  return sql`update gateway_jobs set state = ${to},
      journal = coalesce(${journal}, journal), refusal = coalesce(${refusal}, refusal),
      notice = coalesce(${notice}, notice), active = coalesce(${active}, active),
      attempts = 0, next_attempt_at = ${now}, last_error = null, updated_at = ${now},
      lease_owner = case when ${release} = 1 then null else lease_owner end,
      lease_until = case when ${release} = 1 then null else lease_until end
    where id = ${id} and state = ${from} and (cast(${lease} as text) is null or lease_owner = ${lease})
    returning ${returning}`;
}

const stepUpdate = reusable((db, ...a: StepArgs) => ({
  compile: () => stepUpdateSql(a, sql`id`).compile(db),
}));

/**
 * PostgreSQL: a `StepMove` in one statement, one per shape of its totals change: none (that part
 * writes nothing), past the call only, or a job finished of one kind (its oldest creation from the
 * row). Answers the moved row.
 */
const foldedMove = once((totals: MoveTotals) =>
  reusable((db, ...a: [...StepArgs, past: number, shard: number, detail: string, bulk: string | null]) => {
    const step = a.slice(0, 10) as unknown as StepArgs;
    const [, from, to, , , , , now] = step;
    const [past, shard, detail, bulk] = a.slice(10);
    return {
      compile: () =>
        sql`with ${movedAndTotals(step, totals, past, shard)},
          event as (insert into gateway_job_events (job_id, seq, from_state, to_state, at, detail, bulk)
            select moved.id, (select coalesce(max(seq), 0) + 1 from gateway_job_events where job_id = moved.id),
              cast(${from} as text), cast(${to} as text), cast(${now} as bigint), cast(${detail} as text),
              cast(${bulk} as text)
            from moved)
        select id from moved`.compile(db),
    };
  }),
);

/** PostgreSQL: a `StepMove` with `via` in one statement: `foldedMove`'s, with its two events. */
const foldedMoveVia = once((totals: MoveTotals) =>
  reusable(
    (
      db,
      ...a: [
        ...StepArgs,
        past: number,
        shard: number,
        detail: string,
        bulk: string | null,
        via: string,
        viaDetail: string,
      ]
    ) => {
      const step = a.slice(0, 10) as unknown as StepArgs;
      const [, from, to, , , , , now] = step;
      const [past, shard, detail, bulk, via, viaDetail] = a.slice(10);
      return {
        compile: () =>
          sql`with ${movedAndTotals(step, totals, past, shard)},
          event as (insert into gateway_job_events (job_id, seq, from_state, to_state, at, detail, bulk)
            select moved.id, (select coalesce(max(seq), 0) from gateway_job_events where job_id = moved.id) + e.n,
              e.f, e.t, cast(${now} as bigint), e.d, e.b
            from moved cross join (values
              (1, cast(${from} as text), cast(${via} as text), cast(${viaDetail} as text), cast(${bulk} as text)),
              (2, cast(${via} as text), cast(${to} as text), cast(${detail} as text), cast(null as text))
            ) as e(n, f, t, d, b))
        select id from moved`.compile(db),
      };
    },
  ),
);

/** The shapes of a move's change to the running totals: none, past the call only, a job finished. */
type MoveTotals = 'none' | 'past' | FinishedColumn;

/** The `moved` (the job's row) and `totals` CTEs of a folded move (`foldedMove`, `foldedMoveVia`). */
function movedAndTotals(step: StepArgs, totals: MoveTotals, past: unknown, shard: unknown) {
  const sets =
    totals === 'none' || totals === 'past'
      ? totalsSets(past)
      : totalsSets(past, { column: totals, delta: sql`1`, oldest: sql`moved.created_at` });
  return sql`moved as (${stepUpdateSql(step, sql`id, created_at`)}),
          totals as (update gateway_job_totals set ${sets} from moved
            where gateway_job_totals.id = ${shard} and ${sql.raw(totals === 'none' ? 'false' : 'true')})`;
}

/**
 * Appends an event to a job's history, numbered after its last one in the same statement (call after
 * `moveJob`, whose row lock orders the sequence), with `bulk`: the journal's bulk its write brought
 * (a new job's: `model.ts` `newJournalColumns`). Written as SQL: Kysely takes longer to build this
 * subquery (≈100 µs and more) than the database takes to run it; compiled once (`reusable`).
 */
export async function insertEvent(db: Db, e: Omit<EventRow, 'seq' | 'bulk'>, bulk?: string): Promise<void> {
  await eventInsert(db, e.job_id, e.from_state, e.to_state, e.at, e.detail, bulk ?? null);
}

const eventInsert = reusable(
  (
    db,
    jobId: string,
    fromState: string,
    toState: string,
    at: number,
    detail: string,
    bulk: string | null,
  ) => ({
    compile: () =>
      sql`insert into gateway_job_events (job_id, seq, from_state, to_state, at, detail, bulk)
    values (${jobId}, (select coalesce(max(seq), 0) + 1 from gateway_job_events where job_id = ${jobId}),
      ${fromState}, ${toState}, ${at}, ${detail}, ${bulk})`.compile(db),
  }),
);

/**
 * A lease on a job (PostgreSQL, several gateway processes; docs/gateway.md, "Running several gateway
 * processes"): `owner` names the process, `ttlMs` how long a claim or renewal holds, counted on the
 * database's clock so that the processes' own clocks never have to agree.
 */
export interface Lease {
  owner: string;
  ttlMs: number;
}

/** The database's clock in unix ms (PostgreSQL; the lease columns are written only there). */
const DB_NOW = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/** Nobody holds the job's lease, it has lapsed, or `owner` holds it. */
function claimable(owner: string) {
  return sql<boolean>`(lease_until is null or lease_until < ${DB_NOW} or lease_owner = ${owner})`;
}

/**
 * Claims up to `limit` due money-lane jobs whose lease is free or lapsed, oldest due first, for
 * `lease.owner`: rows another process is claiming at this instant are skipped (`SKIP LOCKED`), so
 * processes looking together take disjoint jobs. Rows `owner` still holds are not claimed again.
 */
export async function claimDueMoney(db: Db, now: number, limit: number, lease: Lease): Promise<DueRow[]> {
  const { rows } = await sql<DueRow>`update gateway_jobs
    set lease_owner = ${lease.owner}, lease_until = ${DB_NOW} + ${lease.ttlMs}
    where id in (
      select id from gateway_jobs
      where active = 1 and next_attempt_at <= ${now} and state in (${sql.join(MONEY_STATES)})
        and (lease_until is null or lease_until < ${DB_NOW})
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked)
    returning id, state, notice, destination, reply_to, next_attempt_at`.execute(db);
  return rows.sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at) || (a.id < b.id ? -1 : 1));
}

/**
 * Claims one active job for `lease.owner` when its lease is free, lapsed or already `owner`'s; answers
 * the job's state and last change as claimed, or undefined when another process holds it (or it is
 * no longer active).
 */
export async function claimJob(
  db: Db,
  id: string,
  lease: Lease,
): Promise<Pick<JobRow, 'state' | 'updated_at'> | undefined> {
  const { rows } = await sql<Pick<JobRow, 'state' | 'updated_at'>>`update gateway_jobs
    set lease_owner = ${lease.owner}, lease_until = ${DB_NOW} + ${lease.ttlMs}
    where id = ${id} and active = 1 and ${claimable(lease.owner)}
    returning state, updated_at`.execute(db);
  return rows[0];
}

/**
 * Extends `owner`'s leases on `ids` by `ttlMs` from now; answers how many it extended. Rows a step's
 * transaction holds at this instant are skipped (`SKIP LOCKED`), not waited for: the renewal ran
 * 41–58 ms behind the steps and held the rows it had already locked meanwhile; renewals come every
 * third of the lease, so a row skipped once is extended by the next.
 */
export async function renewLeases(db: Db, ids: readonly string[], lease: Lease): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await sql`update gateway_jobs set lease_until = ${DB_NOW} + ${lease.ttlMs}
    where id in (
      select id from gateway_jobs
      where lease_owner = ${lease.owner} and id in (${sql.join([...ids])})
      for update skip locked)`.execute(db);
  return Number(r.numAffectedRows ?? 0n);
}

/** Gives up `owner`'s lease on the job (its run ended), so any process may take it at once. */
export async function releaseLease(db: Db, id: string, owner: string): Promise<void> {
  await db
    .updateTable('gateway_jobs')
    .set({ lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .execute();
}

/** A job's row as the live routes show a change: no journal. */
export type ChangedRow = Pick<
  JobRow,
  'id' | 'kind' | 'direction' | 'state' | 'amount' | 'refusal' | 'created_at' | 'updated_at'
>;

/**
 * Jobs changed from `since` to `until` (unix ms, the movers' clocks), oldest change first, but none
 * whose lease `notOwner` holds (its own changes, which that process has seen already).
 */
export async function changedSince(
  db: Db,
  since: number,
  until: number,
  limit: number,
  notOwner: string,
): Promise<ChangedRow[]> {
  return db
    .selectFrom('gateway_jobs')
    .select(['id', 'kind', 'direction', 'state', 'amount', 'refusal', 'created_at', 'updated_at'])
    .where('updated_at', '>=', since)
    .where('updated_at', '<=', until)
    .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '<>', notOwner)]))
    .orderBy('updated_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * The predicate of the runner's partial index (migration 031), written as a literal: a planner proves
 * a partial index usable from the query's text, and a parameter (`active = $1`) proves nothing to
 * PostgreSQL's generic plan of a named statement.
 */
const ACTIVE = sql<boolean>`active = 1`;

/** Ids of active jobs due at `now`, oldest due first. */
export async function dueJobs(db: Db, now: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('gateway_jobs')
    .select('id')
    .where(ACTIVE)
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
  /** With leases: only jobs whose lease is free or lapsed (none another process, or this one, holds). */
  leased?: boolean,
): Promise<DueRow[]> {
  let q = db
    .selectFrom('gateway_jobs')
    .select(['id', 'state', 'notice', 'destination', 'reply_to', 'next_attempt_at'])
    .where(ACTIVE)
    .where('next_attempt_at', '<=', now)
    .where('state', lane === 'money' ? 'in' : 'not in', MONEY_STATES);
  if (leased) q = q.where(sql<boolean>`(lease_until is null or lease_until < ${DB_NOW})`);
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
    .where(ACTIVE)
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
}

/** Makes every active job due now (start-up: resume everything at once). */
export async function resumeAll(db: Db, now: number): Promise<number> {
  const r = await db
    .updateTable('gateway_jobs')
    .set({ next_attempt_at: now })
    .where(ACTIVE)
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

/** The events of `jobIds` in order, without the journal's bulk they carry (the history's read). */
export async function eventsOf(db: Db, jobIds: readonly string[]): Promise<Omit<EventRow, 'bulk'>[]> {
  if (jobIds.length === 0) return [];
  return db
    .selectFrom('gateway_job_events')
    .select(['job_id', 'seq', 'from_state', 'to_state', 'at', 'detail'])
    .where('job_id', 'in', jobIds)
    .orderBy('job_id')
    .orderBy('seq')
    .execute();
}

/** A finished job whose bulk may be pruned, as the pruning reads it (`prunable`). */
export type PrunableRow = Pick<JobRow, 'id' | 'state' | 'updated_at'>;

/**
 * The oldest finished jobs last changed before `before` and not pruned yet, at most `limit`: `done`, or
 * `refused` with no notice left to deliver (`none`, `sent`), never active nor parked. The first two
 * conditions are the partial index's (migration 018), written as its literal predicate (as `ACTIVE`),
 * so the look stays cheap on a large journal.
 */
export async function prunable(db: Db, before: number, limit: number): Promise<PrunableRow[]> {
  return db
    .selectFrom('gateway_jobs')
    .select(['id', 'state', 'updated_at'])
    .where(sql<boolean>`active = 0 and pruned_at is null`)
    .where('updated_at', '<', before)
    .where('parked_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('state', '=', 'done'),
        eb.and([eb('state', '=', 'refused'), eb('notice', 'in', ['none', 'sent'])]),
      ]),
    )
    .orderBy('updated_at')
    .limit(limit)
    .execute();
}

/**
 * Drops a finished job's journal bulk from its events and marks it pruned at `now`, if it is still as
 * read (same state and `updated_at`, inactive, not pruned): a job that changed meanwhile is left alone.
 * The row (with the journal's head), the events and `updated_at` stay: nothing a reader of the job's
 * state or history sees has changed. The mark comes first: its row lock keeps a step from racing it.
 */
export async function pruneJob(db: Db, row: PrunableRow, now: number): Promise<boolean> {
  const r = await db
    .updateTable('gateway_jobs')
    .set({ pruned_at: now })
    .where('id', '=', row.id)
    .where('state', '=', row.state)
    .where('updated_at', '=', row.updated_at)
    .where('active', '=', 0)
    .where('pruned_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await db
    .updateTable('gateway_job_events')
    .set({ bulk: null })
    .where('job_id', '=', row.id)
    .where('bulk', 'is not', null)
    .execute();
  return true;
}
