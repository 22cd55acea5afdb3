/**
 * The gateway's journal against the wide bank's record (docs/gateway.md, "Reconciling with the bank").
 * The bank numbers every request the reserve account's holder makes (issue, receive, deposit claim,
 * payout: its request log, docs/wide-bank.md). Every such request is made by a job of this journal
 * AFTER the job's intake committed, so:
 *   - every entry of the log must name a job here that is not refused. One that does not means the
 *     journal lost jobs the bank answered: `gateway.db` was restored from an older copy (or another
 *     process runs with this gateway's key). Running on would convert the same local notes again and
 *     pay the reserve twice (issue 8), so the gateway refuses to start (74003) until `lancash gateway
 *     reconcile` rebuilt those jobs from the recovery records the bank keeps;
 *   - the log must hold at least one entry per job past its bank call, and still hold the entry the
 *     journal last checked (the cursor). Otherwise the bank lost requests it answered: its database was
 *     restored. The gateway refuses to start (74004): the bank must be recovered to its latest state.
 * The check reads only the log entries after the cursor and the running count of jobs past their
 * call (`gateway_job_totals`, kept in the transactions that move jobs; migration 019), so start-up and
 * the check every minute stay cheap however big the journal grows; the cursor moves on once every entry
 * checked names its job. The audit compares the running count with the rows.
 *
 * The recovery record: with each bank call a job seals to the gateway's own key what its intake wrote
 * (the job row, and for job 1 and payouts the local notes it holds). The bank stores it beside the
 * request and cannot read it. `reconcile` opens the records of the entries with no job and writes the
 * intake again (the job at its bank call, its local notes held pending); the runner then finishes it as
 * after a crash: the bank answers the same transfer id with its stored answer, the local notes are
 * erased (job 1, payout) or the local notes generated (job 2, payroll), and the payment delivered again.
 */
import { Type } from '@sinclair/typebox';
import {
  type Envelope,
  MAX_ENVELOPE_PAYLOAD,
  openJson,
  sealJson,
  TransferId,
} from '../../core/envelope/index.js';
import { fail, isLancashError } from '../../core/errors.js';
import { isUnclear } from '../../core/http/client.js';
import { MAX_RECOVERY_CHARS, type RequestLogEntry, type RequestLogPage } from '../../core/protocol/bank.js';
import { decode, type Proof, Proof as ProofSchema } from '../../core/protocol/cashu.js';
import type { Mint } from '../../mint/mint.js';
import type { Store } from '../../store/index.js';
import { type Job, type Journal, newJournalColumns } from '../jobs/model.js';
import * as jobsRepo from '../jobs/repository.js';
import { freshJobColumns } from '../jobs/steps.js';
import type { GatewayKeys } from '../keys.js';
import type { WideBankPort } from '../wide-bank.js';
import * as repo from './repository.js';

export const GATEWAY_RECOVERY = 'gateway.recovery';

/** Where an operator reads how to repair (named in every refusal). */
export const RECONCILE_DOCS = 'docs/gateway.md, "Reconciling with the bank"';

/** Entries per page of the start-up check (no recovery records); the repair pages smaller. */
const CHECK_PAGE = 1000;
const REPAIR_PAGE = 100;
/** Ids named in a refusal's message; the detail lists them all. */
const NAMED = 20;

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** What a job's intake wrote, as the recovery record carries it. */
const RecoveredJob = Type.Object({
  id: TransferId,
  kind: Type.Union([Type.Literal('transfer'), Type.Literal('payroll'), Type.Literal('payout')]),
  ref: Nullable(Type.String({ maxLength: 128 })),
  direction: Type.Union([Type.Literal('lan-to-wan'), Type.Literal('wan-to-lan')]),
  state: Type.Union([Type.Literal('issuing'), Type.Literal('receiving')]),
  sender_key: Type.String({ maxLength: 64 }),
  request_hash: Type.String({ maxLength: 64 }),
  destination: Type.String({ maxLength: 2048 }),
  destination_key: Type.String({ maxLength: 64 }),
  reply_to: Nullable(Type.String({ maxLength: 2048 })),
  amount: Type.Integer({ minimum: 1 }),
  /** The journal as the intake wrote it (JSON). */
  journal: Type.String(),
  created_at: Type.Integer({ minimum: 0 }),
});

const RecoveryRecord = Type.Object({
  v: Type.Literal(1),
  job: RecoveredJob,
  /** Job 1 and payouts: the local notes the job holds pending. */
  inputs: Type.Optional(Type.Array(ProofSchema)),
});

/**
 * Notes the local mint holds, as its rows store them (`repo.heldNotes`' order: the rows of one write,
 * by `y`), in the form the recovery record carries them.
 */
export function heldAsProofs(rows: readonly repo.HeldNote[]): Proof[] {
  return rows.map((n) => ({
    amount: n.amount,
    id: n.keyset_id,
    secret: n.secret,
    C: n.c,
    ...(n.witness !== null ? { witness: n.witness } : {}),
  }));
}

/** The local mint's operation of a job that holds local notes (job 1, payout), else undefined. */
function holdingOperation(job: Pick<Job, 'id' | 'kind' | 'direction'>): string | undefined {
  if (job.kind === 'payout') return `payout:${job.id}`;
  if (job.kind === 'transfer' && job.direction === 'lan-to-wan') return `job1:${job.id}`;
  return undefined;
}

/**
 * The recovery record of a job at its bank call, sealed to the gateway's own key (HPKE auth mode from
 * and to it: only this gateway opens it, and only it can have made it). Job 2's wide notes go without
 * their DLEQ proofs (the bank's request hash leaves them out, so the rebuilt job's call is the same
 * request). Undefined when the record would not fit in one envelope beside `alongside`, the rest of
 * the request's payload: the call goes without it (the check still finds a lost job; only its repair
 * is then by hand, 74005).
 */
export async function sealRecovery(
  store: Store,
  keys: GatewayKeys,
  job: Job,
  alongside: unknown = {},
): Promise<Envelope | undefined> {
  const op = holdingOperation(job);
  // Job 1 taken in by this process carries its notes (its intake held them): no read of them then.
  const inputs: readonly Proof[] | undefined =
    op === undefined ? undefined : (job.heldInputs ?? heldAsProofs(await repo.heldNotes(store.db, op)));
  const wideProofs = job.journal.wideProofs?.map(({ dleq: _, ...p }) => p);
  const journal = wideProofs === undefined ? job.journal : { ...job.journal, wideProofs };
  const record = await sealJson({
    type: GATEWAY_RECOVERY,
    transferId: job.id,
    sender: keys.encryption,
    recipient: keys.encryption.publicKey,
    payload: {
      v: 1,
      job: {
        id: job.id,
        kind: job.kind,
        ref: job.ref,
        direction: job.direction,
        state: job.state,
        sender_key: job.senderKey,
        request_hash: job.requestHash,
        destination: job.destination,
        destination_key: job.destinationKey,
        reply_to: job.replyTo,
        amount: job.amount,
        journal: JSON.stringify(journal),
        created_at: job.createdAt,
      },
      ...(inputs !== undefined ? { inputs } : {}),
    },
  });
  // Room for the outer envelope's own fields; the payload is JSON text, one byte per character here.
  const size = JSON.stringify(alongside).length + JSON.stringify(record).length + 64;
  return size <= MAX_ENVELOPE_PAYLOAD && record.ct.length <= MAX_RECOVERY_CHARS ? record : undefined;
}

/** `<kind>:<ref>`: how the log names an entry, and the cursor its last checked one. */
function keyOf(e: Pick<RequestLogEntry, 'kind' | 'ref'>): string {
  return `${e.kind}:${e.ref}`;
}

/** The job of this journal a log entry names, if there is one that is not refused. */
function jobFor(e: RequestLogEntry, jobs: readonly repo.JobHead[]): repo.JobHead | undefined {
  return jobs.find((j) => {
    if (j.state === 'refused') return false;
    switch (e.kind) {
      case 'issue':
        return j.kind === 'transfer' && j.id === e.ref && j.direction === 'lan-to-wan';
      case 'receive':
        return j.kind === 'transfer' && j.id === e.ref && j.direction === 'wan-to-lan';
      case 'claim':
        return j.kind === 'payroll' && j.ref === e.ref;
      case 'payout':
        return j.kind === 'payout' && j.ref === e.ref;
    }
    return false;
  });
}

/** The entries of a page that name no job here. */
async function unmatched(store: Store, entries: readonly RequestLogEntry[]): Promise<RequestLogEntry[]> {
  const ids = entries.filter((e) => e.kind === 'issue' || e.kind === 'receive').map((e) => e.ref);
  const refs = entries.filter((e) => e.kind === 'claim' || e.kind === 'payout').map((e) => e.ref);
  const jobs = await repo.jobsNamed(store.db, ids, refs);
  return entries.filter((e) => jobFor(e, jobs) === undefined);
}

export interface BankCheck {
  /** Log entries checked this time (after the cursor). */
  checked: number;
  /** The account's last `seq` at the bank. */
  last: number;
  /** Jobs here past their bank call. */
  pastTheCall: number;
}

/**
 * The start-up check: refuses (74003 / 74004) when the journal is behind the bank or the bank behind
 * the journal; else moves the cursor to the bank's last entry. Nothing else is written.
 */
export async function checkAgainstBank(o: { store: Store; bank: WideBankPort }): Promise<BankCheck> {
  const { store, bank } = o;
  // Counted before the bank is read: a job that passes its call meanwhile is in the bank's log already.
  const pastTheCall = await jobsRepo.pastTheCall(store.db);
  const cursor = await repo.getCursor(store.db);
  let after = cursor.seq;
  let page: RequestLogPage;
  if (cursor.seq > 0) {
    // The entry the journal last checked must still be there: else the bank's history is not the one
    // this journal saw (restored to before it).
    page = await bank.requests(cursor.seq - 1, CHECK_PAGE);
    const first = page.requests[0];
    if (first === undefined || first.seq !== cursor.seq || keyOf(first) !== cursor.key) {
      return bankBehind(store, bank, page.last, Math.max(pastTheCall, cursor.seq));
    }
    page = { ...page, requests: page.requests.slice(1) };
  } else {
    page = await bank.requests(0, CHECK_PAGE);
  }
  const last = page.last;
  const missing: RequestLogEntry[] = [];
  let checked = 0;
  let lastSeen: RequestLogEntry | undefined;
  for (;;) {
    const entries = page.requests.filter((e) => e.seq <= last);
    checked += entries.length;
    missing.push(...(await unmatched(store, entries)));
    lastSeen = entries.at(-1) ?? lastSeen;
    after = lastSeen?.seq ?? after;
    if (entries.length === 0 || after >= last) break;
    page = await bank.requests(after, CHECK_PAGE);
  }
  if (missing.length > 0) journalBehind(missing);
  if (last < pastTheCall) return bankBehind(store, bank, last, pastTheCall);
  if (lastSeen !== undefined) await repo.putCursor(store.db, { seq: lastSeen.seq, key: keyOf(lastSeen) });
  return { checked, last, pastTheCall };
}

/**
 * The start-up check, waiting for the bank while it does not answer (it may restart just then); a
 * refusal (74003, 74004, or the bank's 4xx) ends the wait.
 */
export async function checkAtStart(o: {
  store: Store;
  bank: WideBankPort;
  log: { warn(obj: object, msg: string): void };
}): Promise<BankCheck> {
  for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await checkAgainstBank(o);
    } catch (e) {
      if (!isUnclear(e)) throw e;
      o.log.warn({ err: e.message, retryInMs: wait }, 'waiting for the wide bank to check the journal');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function journalBehind(missing: readonly RequestLogEntry[]): never {
  const names = missing.map(keyOf);
  const value = missing.reduce((s, e) => s + e.amount, 0);
  const shown =
    names.slice(0, NAMED).join(', ') + (names.length > NAMED ? `, … (${names.length} in all)` : '');
  return fail(
    'JournalBehindBank',
    { missing: names, count: names.length, repair: 'lancash gateway reconcile' },
    `the wide bank answered ${names.length} request(s) of this gateway's reserve account (worth ${value}) ` +
      `that its journal does not hold: ${shown}. The journal is older than the bank's record: the ` +
      `gateway's database was restored from an older copy, or another process runs with this gateway's ` +
      `key. Running on could convert the same local notes twice, so the gateway will not start. Stop ` +
      `every other gateway with this key, then run \`lancash gateway reconcile\` with the same --data/--db ` +
      `and --wide-bank, which rebuilds these jobs from the bank's records (${RECONCILE_DOCS}).`,
  );
}

async function bankBehind(
  store: Store,
  bank: WideBankPort,
  last: number,
  expectedAtLeast: number,
): Promise<never> {
  // The failure path may read everything: name the jobs whose requests the bank no longer has.
  const atBank = new Set<string>();
  for (let after = 0; after < last; ) {
    const page = await bank.requests(after, CHECK_PAGE);
    const entries = page.requests.filter((e) => e.seq <= last);
    for (const e of entries) atBank.add(keyOf(e));
    if (entries.length === 0) break;
    after = entries.at(-1)!.seq;
  }
  const missing = (await repo.keysPastTheCall(store.db)).filter((j) => !atBank.has(j.key)).map((j) => j.id);
  const shown = missing.slice(0, NAMED).join(', ') + (missing.length > NAMED ? ', …' : '');
  return fail(
    'BankBehindJournal',
    { bankLast: last, expectedAtLeast, missing, repair: 'recover the wide bank to its latest state' },
    `the wide bank knows ${last} request(s) of this gateway's reserve account, but this journal holds ` +
      `${expectedAtLeast} the bank answered or checked before${missing.length > 0 ? ` (not at the bank: ${shown})` : ''}: ` +
      `the bank's database lost requests (restored from an older copy?). The gateway will not start: ` +
      `recover the bank's database to its latest state (PostgreSQL point-in-time recovery; never an old ` +
      `copy, docs/wide-bank.md "Backups"), then start the gateway again (${RECONCILE_DOCS}).`,
  );
}

export interface Rebuilt {
  /** `<kind>:<ref>` of the bank's log entry. */
  request: string;
  job: string;
  amount: number;
}

/**
 * The repair (`lancash gateway reconcile`): rebuilds every job the bank's log names and the journal
 * lacks, from its recovery record, each in ONE transaction (the job at its bank call with its event,
 * its local notes held pending again). Refuses (74005) a request it cannot rebuild, naming it: no
 * record (made by an older gateway), a record that is not this gateway's, or local notes another
 * operation has spent since. Runs before the gateway starts; the runner then finishes the jobs.
 */
export async function reconcile(o: {
  store: Store;
  bank: WideBankPort;
  keys: GatewayKeys;
  mint: Mint;
  clock?: () => number;
}): Promise<Rebuilt[]> {
  const { store, bank } = o;
  const clock = o.clock ?? Date.now;
  const cursor = await repo.getCursor(store.db);
  const rebuilt: Rebuilt[] = [];
  let after = cursor.seq;
  for (;;) {
    const page = await bank.requests(after, REPAIR_PAGE, true);
    const entries = page.requests.filter((e) => e.seq <= page.last);
    for (const e of await unmatched(store, entries)) rebuilt.push(await rebuild(o, e, clock()));
    if (entries.length === 0 || entries.at(-1)!.seq >= page.last) break;
    after = entries.at(-1)!.seq;
  }
  return rebuilt;
}

async function rebuild(
  o: { store: Store; keys: GatewayKeys; mint: Mint },
  e: RequestLogEntry,
  now: number,
): Promise<Rebuilt> {
  const request = keyOf(e);
  const refuse = (reason: string): never =>
    fail('ReconcileFailed', { request, reason }, `${request}: ${reason}`);
  if (e.recovery === undefined) {
    return refuse(
      'the bank holds no recovery record for it (made before records existed); restore a copy of the ' +
        'gateway database taken after this request, or settle it by hand (docs)',
    );
  }
  let payload: unknown;
  try {
    payload = (
      await openJson({
        envelope: e.recovery,
        recipient: o.keys.encryption,
        expectedSender: o.keys.encryption.publicKey,
        expectedType: GATEWAY_RECOVERY,
      })
    ).payload;
  } catch (err) {
    if (!isLancashError(err)) throw err;
    return refuse(`its recovery record does not open with this gateway's key (${err.message})`);
  }
  const { job, inputs } = decode(RecoveryRecord, payload, 'recovery');
  const kindOk =
    e.kind === 'issue'
      ? job.kind === 'transfer' && job.direction === 'lan-to-wan' && job.id === e.ref
      : e.kind === 'receive'
        ? job.kind === 'transfer' && job.direction === 'wan-to-lan' && job.id === e.ref
        : job.kind === (e.kind === 'claim' ? 'payroll' : 'payout') && job.ref === e.ref;
  if (!kindOk || job.amount !== e.amount) refuse('its recovery record describes another job');
  const op = holdingOperation(job);
  if ((op !== undefined) !== (inputs !== undefined && inputs.length > 0)) {
    refuse('its recovery record lacks the local notes the job held');
  }
  let journal: ReturnType<typeof newJournalColumns>;
  try {
    // The record carries the whole journal; the row holds its head and the bulk goes beside it (029).
    journal = newJournalColumns(JSON.parse(job.journal) as Journal);
  } catch {
    return refuse('its recovery record holds no journal');
  }
  const prepared = op === undefined ? undefined : await o.mint.prepareInputs(inputs);
  const row: jobsRepo.JobRow = {
    ...freshJobColumns(now),
    ...job,
    journal: journal.head,
    created_at: job.created_at,
  };
  try {
    await o.store.transaction(async (trx) => {
      if (!(await jobsRepo.insertJobIfAbsent(trx, row))) {
        refuse(`job ${job.id} is in the journal already, refused, yet the bank answered its request`);
      }
      await jobsRepo.insertEvent(
        trx,
        {
          job_id: job.id,
          from_state: 'received',
          to_state: job.state,
          at: now,
          detail: `rebuilt by reconcile from the wide bank's request log (${request})`,
        },
        journal.bulk,
      );
      if (prepared !== undefined && op !== undefined) await o.mint.commitInputs(trx, prepared, op, 'pending');
    });
  } catch (err) {
    if (isLancashError(err, 'ProofsAlreadySpent') || isLancashError(err, 'ProofsPending')) {
      refuse(
        `its local notes are held or spent by another operation here (${err.message}): value was ` +
          'converted twice; see the audit and docs',
      );
    }
    throw err;
  }
  return { request, job: job.id, amount: job.amount };
}

/**
 * The same check while the gateway runs, every `everyMs`: it moves the cursor on (so the next start
 * reads little), and finds a journal that falls behind while running (another process with this key,
 * e.g. a copy of the data directory started elsewhere) or a bank restored under a running gateway.
 * On such a finding `onBehind` runs (the gateway stops its runner: no more bank calls); a bank that
 * does not answer is only logged, and the next round tries again.
 */
export function watchBank(o: {
  store: Store;
  bank: WideBankPort;
  everyMs: number;
  log: { warn(obj: object, msg: string): void };
  onBehind: (e: Error) => Promise<void>;
}): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const round = async () => {
    try {
      await checkAgainstBank(o);
    } catch (e) {
      if (isLancashError(e, 'JournalBehindBank') || isLancashError(e, 'BankBehindJournal')) {
        stopped = true;
        await o.onBehind(e);
        return;
      }
      o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'request log check failed; retrying');
    }
    if (!stopped) timer = setTimeout(() => void round(), o.everyMs).unref();
  };
  timer = setTimeout(() => void round(), o.everyMs).unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
