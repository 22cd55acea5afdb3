/**
 * The conversion jobs (docs/design.md §5, docs/gateway.md): durable sagas whose every step writes its effect
 * and its journal entry in ONE transaction, so a crash anywhere leaves either the step done and
 * journaled or not done at all, and the runner resumes from the journal.
 *
 * Job 1 (LAN → WAN): intake holds the local notes pending and journals the wide outputs → the issue
 * server signs them (idempotency key = transfer id) → the wide notes are checked (DLEQ, amounts), the
 * local notes erased and the payment to the destination journaled → delivered → done. A proven refusal
 * of the issue releases the local notes; an unclear outcome is retried, never refunded on a guess.
 *
 * Job 2 (WAN → LAN): intake confirms the wide notes (DLEQ against the bank's keys, unit, checkstate)
 * and journals the local outputs → the receiving server credits the reserve and answers a receipt,
 * verified → the local mint signs the outputs, in the same transaction that journals the receipt →
 * delivered → done. A proven refusal ends the job with nothing generated.
 *
 * A refused job seals a `gateway.notice` to the sender's `replyTo` and delivers it best-effort.
 * Network calls happen outside transactions; `fault(...)` marks every point a crash test may stop at.
 */
import { type Static, Type } from '@sinclair/typebox';
import { decodeAddress } from '../../core/address/index.js';
import { bytesToHex } from '../../core/bytes.js';
import { openJson } from '../../core/envelope/index.js';
import { fail, isLancashError, type LancashError } from '../../core/errors.js';
import { fault } from '../../core/faults.js';
import { isUnclear } from '../../core/http/client.js';
import { sub, sum } from '../../core/money.js';
import type { Receipt } from '../../core/protocol/bank.js';
import { decode, type Proof } from '../../core/protocol/cashu.js';
import {
  type Direction,
  JOB1_REQUEST,
  JOB2_REQUEST,
  Job1Request,
  JobKind,
  TransferStatus,
} from '../../core/protocol/gateway.js';
import { inThreadCrypto, type MintCrypto } from '../../mint/crypto.js';
import type { PreparedInputs } from '../../mint/mint.js';
import type { Deliverer } from '../delivery.js';
import { sealRecovery } from '../reconcile/service.js';
import { blindedMessages, checkProofsDleq, type KeysetKeys, makeOutputs, unblindChecked } from '../wallet.js';
import type { WideBankPort, WideKeyset } from '../wide-bank.js';
import type { IntakeLimits } from './intake-limits.js';
import {
  type Job,
  type JobEvent,
  type JobState,
  type Journal,
  jobTag,
  point,
  TERMINAL_STATES,
  toStatus,
} from './model.js';
import * as repo from './repository.js';
import type { StepOutcome } from './runner.js';
import {
  type Commit,
  commitOf,
  freshJobColumns,
  generateLocal,
  hashOf,
  type JobServiceBase,
  moveJob,
  refuseJob,
  sealPayment,
  type Trx,
} from './steps.js';

export interface JobServiceOptions extends JobServiceBase {
  bank: WideBankPort;
  deliverer: Deliverer;
  /** Where job 2's DLEQ checks run; default in-thread on `curve`. Servers pass the worker pool. */
  crypto?: MintCrypto;
  /** Per-client bounds on WAN intakes (issue 8); without, none. */
  intakeLimits?: IntakeLimits;
  /** Notes job 2's intake sends to DLEQ checks (the operator's metric). */
  onDleqChecks?: (notes: number) => void;
  /** A refusal notice not accepted after this many tries is abandoned; default 20. */
  maxNoticeAttempts?: number;
  /**
   * A payment or notice no inbox accepted for this long (from the job's move into delivering, its
   * refusal, or the operator's retry) is parked for the operator; default `DEFAULT_DELIVERY_DEADLINE_MS`.
   */
  deliveryDeadlineMs?: number;
  /** After the operator's retry made a parked job due again (the runner's cue). */
  onUnparked?: (job: Job) => void;
}

/** How long deliveries of one job are tried before it is parked: 6 hours. */
export const DEFAULT_DELIVERY_DEADLINE_MS = 6 * 3600_000;

/** Nothing to do now. */
export const IDLE: StepOutcome = { advanced: false };

/** The job moved: the runner runs its next step from `job`, or, when this step lost a race, from the journal. */
export function advanced(job: Job | undefined): StepOutcome {
  return job === undefined ? { advanced: true } : { advanced: true, job };
}

/** One transfer in the per-terminal history. */
export const HistoryEntry = Type.Composite([
  TransferStatus,
  Type.Object({
    /** transfer (job 1 or 2), payroll or payout; `ref` is a payroll's or payout's reference. */
    kind: JobKind,
    ref: Type.Optional(Type.String()),
    sender: Type.String(),
    destination: Type.String(),
    replyTo: Type.Optional(Type.String()),
    notice: Type.String(),
    lastError: Type.Optional(Type.String()),
    /** Set while the job's delivery is parked for the operator (unix ms). */
    parkedAt: Type.Optional(Type.Integer()),
    events: Type.Array(
      Type.Object({
        seq: Type.Integer(),
        from: Type.String(),
        to: Type.String(),
        at: Type.Integer(),
        detail: Type.String(),
      }),
    ),
  }),
]);
export type HistoryEntry = Static<typeof HistoryEntry>;

/** A parked job, as the operator's list shows it. */
export const ParkedJob = Type.Composite([
  TransferStatus,
  Type.Object({
    kind: JobKind,
    ref: Type.Optional(Type.String()),
    destination: Type.String(),
    replyTo: Type.Optional(Type.String()),
    /** What waits to be delivered: the payment to the destination, or the notice to `replyTo`. */
    delivery: Type.Union([Type.Literal('payment'), Type.Literal('notice')]),
    /** Where it goes: `mailbox:lan`, `mailbox:wan`, an allowed inbox base, or `not allowed`. */
    route: Type.String(),
    parkedAt: Type.Integer(),
    attempts: Type.Integer(),
    lastError: Type.Optional(Type.String()),
  }),
]);
export type ParkedJob = Static<typeof ParkedJob>;

/**
 * 4xx answers that are not refusals of the job: a rate limit passes; an idempotency conflict says the
 * bank holds ANOTHER request under this transfer id, so nothing may be released on it (an operator
 * looks at `last_error`). Both keep the job where it is, retried.
 */
const NOT_REFUSALS = new Set(['RateLimited', 'IdempotencyConflict']);

/** A proven refusal of a bank call: a 4xx in the wire form, the bank did nothing and will not. */
export function isProvenRefusal(e: unknown): e is LancashError {
  return isLancashError(e) && !NOT_REFUSALS.has(e.kind);
}

export class JobService {
  private readonly clock: () => number;
  private readonly maxNoticeAttempts: number;
  private readonly deliveryDeadlineMs: number;
  private readonly commit: Commit;
  private readonly crypto: MintCrypto;

  constructor(private readonly o: JobServiceOptions) {
    this.clock = o.clock ?? Date.now;
    this.crypto = o.crypto ?? inThreadCrypto(o.curve);
    this.maxNoticeAttempts = o.maxNoticeAttempts ?? 20;
    this.deliveryDeadlineMs = o.deliveryDeadlineMs ?? DEFAULT_DELIVERY_DEADLINE_MS;
    this.commit = commitOf(o);
  }

  // ---------------------------------------------------------------- intake

  /**
   * Takes in a job request envelope (job 1 on the LAN listener, job 2 on the WAN listener). A replay
   * of an envelope (or a re-sealed copy of the same request) answers the same transfer; the same
   * transfer id from another sender or with another request is refused (409). Refusals before the
   * commit change nothing. `client` (the caller's IP) is what the WAN intake's bounds count by.
   */
  async intake(direction: Direction, envelope: unknown, client = ''): Promise<TransferStatus> {
    const { store, keys } = this.o;
    const opened = await openJson({
      envelope,
      recipient: keys.encryption,
      expectedType: direction === 'lan-to-wan' ? JOB1_REQUEST : JOB2_REQUEST,
    });
    const req = decode(Job1Request, opened.payload, 'payload');
    const id = opened.transferId;
    const senderKey = bytesToHex(opened.sender);
    const requestHash = hashRequest(direction, req);
    const existing = await repo.getJob(store.db, id);
    if (existing !== undefined) return this.replayed(existing, senderKey, requestHash, direction);

    const destination = decodeAddress(req.destination, direction === 'lan-to-wan' ? 'wan' : 'lan');
    if (req.replyTo !== undefined) decodeAddress(req.replyTo);
    // Issue 8 item 5: an inbox URL the operator did not allow is refused before anything changes.
    for (const address of [req.destination, req.replyTo])
      if (address !== undefined) this.o.deliverer.admit(address);
    if (req.proofs.length > this.o.mint.limits.maxInputs) {
      fail('MaxInputsExceeded', { count: req.proofs.length, max: this.o.mint.limits.maxInputs });
    }
    const taken =
      direction === 'lan-to-wan'
        ? await this.takeLocalNotes(req.proofs)
        : await this.takeWideNotes(req.proofs, client);
    const now = this.clock();
    const state: JobState = direction === 'lan-to-wan' ? 'issuing' : 'receiving';
    const row: repo.JobRow = {
      ...freshJobColumns(now),
      id,
      direction,
      state,
      sender_key: senderKey,
      request_hash: requestHash,
      destination: req.destination,
      destination_key: bytesToHex(destination.publicKey),
      reply_to: req.replyTo ?? null,
      amount: taken.amount,
      journal: JSON.stringify({ ...taken.journal, ...(req.memo !== undefined ? { memo: req.memo } : {}) }),
    };
    const fresh = await this.commit(async (trx) => {
      // The job row first: of two copies of one envelope racing, one inserts and the other stops here.
      if (!(await repo.insertJobIfAbsent(trx, row))) return false;
      await repo.insertEvent(trx, {
        job_id: id,
        from_state: 'received',
        to_state: state,
        at: now,
        detail: '',
      });
      await taken.commit?.(trx, `${jobTag(direction)}:${id}`);
      return true;
    });
    if (!fresh) {
      const winner = await repo.getJob(store.db, id);
      if (winner === undefined) fail('Internal', { reason: `job ${id} vanished` });
      return this.replayed(winner, senderKey, requestHash, direction);
    }
    fault(point(direction, 'intake'));
    const job = toJob(row);
    this.o.onIntake?.(job);
    return toStatus(job);
  }

  /** Job 1: the local notes are verified now and held pending in the intake's transaction. */
  private async takeLocalNotes(proofs: Proof[]): Promise<Taken> {
    const { mint, curve } = this.o;
    const prepared: PreparedInputs = await mint.prepareInputs(proofs);
    // 1 local = 1 wide: the local keysets charge no fee (server.ts), so this is the notes' value.
    const amount = sub(prepared.amount, prepared.fee);
    const keyset = await this.upstream(this.o.bank.activeKeyset());
    return {
      amount,
      journal: { outputs: makeOutputs(curve, keyset.id, amount), inputYs: [...prepared.Ys] },
      commit: (trx, operation) => mint.commitInputs(trx, prepared, operation, 'pending'),
    };
  }

  /**
   * Job 2: the wide notes are confirmed before anything is journaled: each keyset is the bank's and of
   * our unit, each DLEQ proof verifies against the bank's key (NUT-12), and the bank does not know them
   * as spent or pending (NUT-07). The receiving server checks them again, for good, in step 2.
   * A stranger chooses these notes (issue 8), so the cheap checks come first (a repeated note, keysets
   * the bank lists), the curve work runs in the crypto workers as one job, and the client's notes in
   * intake and the bank calls it causes are bounded (`IntakeLimits`) before the work and the call.
   */
  private async takeWideNotes(proofs: Proof[], client: string): Promise<Taken> {
    const { bank, curve, mint, intakeLimits } = this.o;
    // NUT-03: the same secret twice is the same note twice.
    const seen = new Set<string>();
    for (const [i, p] of proofs.entries()) {
      if (seen.has(p.secret)) fail('DuplicateInputs', { index: i }, `proofs[${i}] repeats an earlier note`);
      seen.add(p.secret);
    }
    // One id at a time: the first the bank does not list ends the intake, answered from the cached list.
    const keysets = new Map<string, WideKeyset>();
    for (const id of new Set(proofs.map((p) => p.id.toLowerCase()))) {
      const ks = await this.upstream(bank.keyset(id));
      if (ks.unit !== bank.info.unit)
        fail(
          'UnitNotSupported',
          { unit: ks.unit },
          `notes of unit ${ks.unit}, this gateway takes ${bank.info.unit}`,
        );
      keysets.set(ks.id, ks);
    }
    const release = intakeLimits?.admit(client, proofs.length);
    try {
      this.o.onDleqChecks?.(proofs.length);
      const Ys = await checkProofsDleq(this.crypto, proofs, (id) => keysets.get(id.toLowerCase())!);
      // Y is the note whatever the secret's encoding: two secrets of one Y are one note.
      const firstOf = new Map<string, number>();
      for (const [i, Y] of Ys.entries()) {
        if (firstOf.has(Y)) fail('DuplicateInputs', { index: i }, `proofs[${i}] repeats an earlier note`);
        firstOf.set(Y, i);
      }
      intakeLimits?.bankCall(client);
      const states = await this.upstream(bank.checkState(Ys));
      const spent = Ys.filter((_, i) => states[i] === 'SPENT');
      if (spent.length > 0)
        fail('ProofsAlreadySpent', { Ys: spent }, `${spent.length} note(s) already spent`);
      const pending = Ys.filter((_, i) => states[i] === 'PENDING');
      if (pending.length > 0) fail('ProofsPending', { Ys: pending }, `${pending.length} note(s) are pending`);
      const amount = sum(proofs.map((p) => p.amount));
      return {
        amount,
        journal: { wideProofs: proofs, outputs: makeOutputs(curve, mint.keysets.current().id, amount) },
      };
    } finally {
      release?.();
    }
  }

  private replayed(
    existing: repo.JobRow,
    senderKey: string,
    requestHash: string,
    direction: Direction,
  ): TransferStatus {
    if (
      existing.sender_key !== senderKey ||
      existing.request_hash !== requestHash ||
      existing.direction !== direction
    ) {
      fail(
        'IdempotencyConflict',
        { key: existing.id },
        `transfer id ${existing.id} was used for another request`,
      );
    }
    return toStatus(toJob(existing));
  }

  /** A call the intake cannot do without: the bank's refusal passes through, an unclear outcome is a 503. */
  private async upstream<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (!isUnclear(e)) throw e;
      return fail(
        'UpstreamUnavailable',
        { upstream: this.o.bank.base, reason: e.message },
        'the wide bank did not answer; send the same envelope again later',
      );
    }
  }

  // ---------------------------------------------------------------- steps

  /**
   * Runs the job's next step, from `known` (the job as the previous step of this run left it) or else
   * from the journal. Throws when the step could not finish (an unclear outcome, an inbox that does not
   * take the envelope, a bad answer): the runner records it and retries later.
   */
  async step(id: string, known?: Job): Promise<StepOutcome> {
    const job = known ?? (await this.job(id));
    return job === undefined ? IDLE : this.advance(job);
  }

  /** The next step of a conversion, and the steps every job ends with (delivery, notice). */
  advance(job: Job): Promise<StepOutcome> {
    switch (job.state) {
      case 'issuing':
        return this.issue(job);
      case 'receiving':
        return this.receive(job);
      case 'delivering':
        return this.deliver(job);
      default:
        return job.notice === 'pending' ? this.sendNotice(job) : Promise.resolve(IDLE);
    }
  }

  /** Job 1, step 2: wide notes from the issue server, then the local notes erased. */
  private async issue(job: Job): Promise<StepOutcome> {
    const { bank, curve, mint } = this.o;
    const outputs = job.journal.outputs;
    let signatures: Awaited<ReturnType<WideBankPort['issue']>>['signatures'];
    try {
      // The recovery record rides along: the bank keeps it, so a lost journal can rebuild this job.
      const blinded = blindedMessages(outputs);
      const recovery = await sealRecovery(this.o.store, this.o.keys, job, { outputs: blinded });
      ({ signatures } = await bank.issue(job.id, job.amount, blinded, recovery));
    } catch (e) {
      if (!isProvenRefusal(e)) throw e;
      fault(point(job.direction, 'issue'));
      return this.refuse(job, e, async (trx) => {
        await mint.releasePending(trx, `job1:${job.id}`);
      });
    }
    fault(point(job.direction, 'issue'));
    // A bad answer (DLEQ, amounts) is NOT a refusal: the bank may have debited the reserve. The job
    // stays in `issuing` and the same request is retried; an operator sees `last_error`.
    const keysets = new Map<string, KeysetKeys>();
    for (const id of new Set(outputs.map((o) => o.id))) keysets.set(id, await bank.keyset(id));
    const wideProofs = unblindChecked(curve, outputs, signatures, (id) => keysets.get(id)!);
    const delivery = await sealPayment(
      this.o.keys,
      job,
      { url: bank.base, unit: this.o.bank.info.unit },
      wideProofs,
    );
    const now = this.clock();
    const moved = await this.commit(async (trx) => {
      const journal: Journal = { ...job.journal, wideProofs, delivery };
      const next = await moveJob(trx, job, 'delivering', now, { journal }, `${wideProofs.length} wide notes`);
      if (next === undefined) return undefined;
      // The wide notes are confirmed: only now are the local notes erased (spent).
      const settled = await mint.settlePending(trx, `job1:${job.id}`);
      if (settled !== (job.journal.inputYs?.length ?? settled)) {
        fail('Internal', {
          reason: `job ${job.id}: ${settled} local notes settled, expected ${job.journal.inputYs?.length}`,
        });
      }
      return next;
    });
    if (moved) fault(point(job.direction, 'settle'));
    return advanced(moved);
  }

  /** Job 2, step 2: the reserve credited (receipt), then local notes generated. */
  private async receive(job: Job): Promise<StepOutcome> {
    const { bank } = this.o;
    let receipt: Receipt;
    try {
      const proofs = job.journal.wideProofs ?? [];
      const recovery = await sealRecovery(this.o.store, this.o.keys, job, { proofs });
      receipt = await bank.receive(job.id, proofs, recovery);
    } catch (e) {
      if (!isProvenRefusal(e)) throw e;
      fault(point(job.direction, 'receive'));
      return this.refuse(job, e);
    }
    fault(point(job.direction, 'receive'));
    const moved = await generateLocal(this.o, job, {
      unit: this.o.bank.info.unit,
      operation: `job2:${job.id}`,
      detail: `receipt ${receipt.receivedAt}`,
      journal: { receipt },
      clock: this.clock,
    });
    if (moved) fault(point(job.direction, 'generate'));
    return advanced(moved);
  }

  /** Last step of both jobs: the payment delivered to the destination. */
  private async deliver(job: Job): Promise<StepOutcome> {
    const envelope = job.journal.delivery;
    if (envelope === undefined) fail('Internal', { reason: `job ${job.id} has no payment to deliver` });
    await this.o.deliverer.deliver(job.destination, envelope);
    fault(point(job.direction, 'deliver'));
    const now = this.clock();
    const moved = await this.commit((trx) => moveJob(trx, job, 'done', now, { active: 0 }, 'delivered'));
    if (moved) {
      fault(point(job.direction, 'done'));
      this.o.onFinished?.(moved);
    }
    return advanced(moved);
  }

  /** Ends a job as refused; `effect` (job 1: release the local notes) commits with it. */
  private async refuse(
    job: Job,
    e: LancashError,
    effect?: (trx: Trx) => Promise<void>,
  ): Promise<StepOutcome> {
    const moved = await refuseJob(this.o, job, e, this.clock(), effect);
    if (moved) {
      fault(point(job.direction, 'refuse'));
      this.o.onFinished?.(moved);
    }
    return advanced(moved);
  }

  /** Best-effort: the refusal notice to `replyTo`, retried up to `maxNoticeAttempts` times. */
  private async sendNotice(job: Job): Promise<StepOutcome> {
    if (job.replyTo === null || job.journal.notice === undefined) {
      fail('Internal', { reason: `job ${job.id} has no notice to send` });
    }
    await this.o.deliverer.deliver(job.replyTo, job.journal.notice);
    fault(point(job.direction, 'notice'));
    const now = this.clock();
    const moved = await this.commit(async (trx) => {
      const ok = await repo.moveJob(
        trx,
        job.id,
        { state: job.state, notice: 'pending' },
        {
          notice: 'sent',
          active: 0,
          last_error: null,
        },
      );
      if (ok)
        await repo.insertEvent(trx, {
          job_id: job.id,
          from_state: job.state,
          to_state: job.state,
          at: now,
          detail: 'notice delivered',
        });
      return ok;
    });
    if (moved) fault(point(job.direction, 'notice-sent'));
    return IDLE;
  }

  /**
   * Records a step that could not finish: one more attempt, the next one `delayMs(attempts)` from now.
   * A notice that keeps failing is abandoned after `maxNoticeAttempts`. A delivery (payment or notice)
   * past the delivery deadline, or to an inbox no longer allowed, is parked for the operator instead:
   * its state and journal stay as they are (the sealed payment too), the runner leaves it alone. Money
   * steps are never parked: their outcome may be unclear, so they are retried until it is known.
   */
  async failed(id: string, error: unknown, delayMs: (attempt: number) => number): Promise<void> {
    const { store } = this.o;
    const row = await repo.getJob(store.db, id);
    if (row === undefined || row.active === 0) return;
    const attempts = row.attempts + 1;
    const now = this.clock();
    const lastError = messageOf(error);
    const from = { state: row.state, notice: row.notice };
    if (
      TERMINAL_STATES.includes(row.state) &&
      row.notice === 'pending' &&
      attempts >= this.maxNoticeAttempts
    ) {
      await this.commit(async (trx) => {
        if (
          await repo.moveJob(trx, id, from, {
            notice: 'abandoned',
            active: 0,
            attempts,
            last_error: lastError,
          })
        ) {
          await repo.insertEvent(trx, {
            job_id: id,
            from_state: row.state,
            to_state: row.state,
            at: now,
            detail: `notice abandoned: ${lastError}`,
          });
        }
      });
      return;
    }
    const delivering =
      row.state === 'delivering' || (TERMINAL_STATES.includes(row.state) && row.notice === 'pending');
    const notAllowed = isLancashError(error, 'InboxNotAllowed');
    if (delivering && (notAllowed || now - Number(row.updated_at) >= this.deliveryDeadlineMs)) {
      const why = notAllowed
        ? 'its inbox is not allowed'
        : `not accepted within ${this.deliveryDeadlineMs} ms`;
      await this.commit(async (trx) => {
        if (
          await repo.moveJob(trx, id, from, { active: 0, parked_at: now, attempts, last_error: lastError })
        ) {
          await repo.insertEvent(trx, {
            job_id: id,
            from_state: row.state,
            to_state: row.state,
            at: now,
            detail: `parked: ${row.state === 'delivering' ? 'payment' : 'notice'} ${why}: ${lastError}`,
          });
        }
      });
      return;
    }
    await this.commit((trx) =>
      repo.moveJob(trx, id, from, {
        attempts,
        next_attempt_at: now + delayMs(attempts),
        last_error: lastError,
      }),
    );
  }

  // ---------------------------------------------------------------- parked deliveries (operator)

  /** The parked jobs, parked first first. */
  async parked(limit = 100): Promise<ParkedJob[]> {
    return (await repo.parkedJobs(this.o.store.db, limit)).map((r) => {
      const job = toJob(r);
      const payment = job.state === 'delivering';
      let route: string;
      try {
        route = this.o.deliverer.routeOf(payment ? job.destination : (job.replyTo ?? ''));
      } catch {
        route = 'not allowed';
      }
      return {
        ...toStatus(job),
        kind: job.kind,
        ...(job.ref !== null ? { ref: job.ref } : {}),
        destination: job.destination,
        ...(job.replyTo !== null ? { replyTo: job.replyTo } : {}),
        delivery: payment ? ('payment' as const) : ('notice' as const),
        route,
        parkedAt: job.parkedAt ?? 0,
        attempts: job.attempts,
        ...(job.lastError !== null ? { lastError: job.lastError } : {}),
      };
    });
  }

  /**
   * The operator's retry of a parked job: due again at once, its delivery deadline counted from now.
   * Nothing but a retry: the same journaled envelope is delivered (a deposit is idempotent), nothing
   * else changes, and a job that is not parked (any more) is refused with `JobNotParked`.
   */
  async retryParked(id: string): Promise<TransferStatus> {
    const row = await repo.getJob(this.o.store.db, id);
    if (row === undefined) fail('NotFound', { what: 'transfer', id }, `no transfer ${id}`);
    const now = this.clock();
    const unparked = await this.commit(async (trx) => {
      if (!(await repo.unpark(trx, id, now))) return false;
      await repo.insertEvent(trx, {
        job_id: id,
        from_state: row.state,
        to_state: row.state,
        at: now,
        detail: 'retried by the operator',
      });
      return true;
    });
    if (!unparked) fail('JobNotParked', { id, state: row.state }, `transfer ${id} is not parked`);
    const job = await this.job(id);
    if (job === undefined) fail('Internal', { reason: `job ${id} vanished` });
    this.o.onUnparked?.(job);
    return toStatus(job);
  }

  // ---------------------------------------------------------------- reads

  /** A transfer's status; `direction` limits which transfers this listener shows (404 otherwise). */
  /** A job's status; not found when it is not of `direction` (and `kind`), when given. */
  async status(id: string, direction?: Direction, kind?: JobKind): Promise<TransferStatus> {
    const row = await repo.getJob(this.o.store.db, id);
    if (
      row === undefined ||
      (direction !== undefined && row.direction !== direction) ||
      (kind !== undefined && (row.kind ?? 'transfer') !== kind)
    ) {
      fail('NotFound', { what: 'transfer', id }, `no transfer ${id}`);
    }
    return toStatus(toJob(row));
  }

  async job(id: string): Promise<Job | undefined> {
    const row = await repo.getJob(this.o.store.db, id);
    return row === undefined ? undefined : toJob(row);
  }

  /** Every conversion a terminal key sent or received, newest first, with its state changes. */
  async history(key: string, o: { limit?: number; before?: number } = {}): Promise<HistoryEntry[]> {
    const db = this.o.store.db;
    const rows = await repo.jobsOfKey(
      db,
      key.toLowerCase(),
      o.limit ?? 100,
      o.before ?? Number.MAX_SAFE_INTEGER,
    );
    const events = new Map<string, JobEvent[]>();
    for (const e of await repo.eventsOf(
      db,
      rows.map((r) => r.id),
    )) {
      const list = events.get(e.job_id) ?? [];
      list.push({
        seq: Number(e.seq),
        from: e.from_state,
        to: e.to_state,
        at: Number(e.at),
        detail: e.detail,
      });
      events.set(e.job_id, list);
    }
    return rows.map((r) => {
      const job = toJob(r);
      return {
        ...toStatus(job),
        kind: job.kind,
        ...(job.ref !== null ? { ref: job.ref } : {}),
        sender: job.senderKey,
        destination: job.destination,
        ...(job.replyTo !== null ? { replyTo: job.replyTo } : {}),
        notice: job.notice,
        ...(job.lastError !== null ? { lastError: job.lastError } : {}),
        ...(job.parkedAt !== undefined ? { parkedAt: job.parkedAt } : {}),
        events: events.get(job.id) ?? [],
      };
    });
  }
}

/** What an intake takes in: the amount, the first journal, and its effect inside the intake's transaction. */
interface Taken {
  amount: number;
  journal: Journal;
  commit?: (trx: Trx, operation: string) => Promise<void>;
}

/** SHA-256 of the request's canonical form (the notes in order), so a re-sealed copy hashes equal. */
function hashRequest(direction: Direction, r: Job1Request): string {
  const canonical = [
    direction,
    r.destination.toLowerCase(),
    r.replyTo?.toLowerCase() ?? null,
    r.memo ?? null,
    r.proofs.map((p) => [p.amount, p.id.toLowerCase(), p.secret, p.C.toLowerCase()]),
  ];
  return hashOf(canonical);
}

export function toJob(r: repo.JobRow): Job {
  return {
    id: r.id,
    kind: r.kind ?? 'transfer',
    ref: r.ref ?? null,
    direction: r.direction,
    state: r.state,
    senderKey: r.sender_key,
    requestHash: r.request_hash,
    destination: r.destination,
    destinationKey: r.destination_key,
    replyTo: r.reply_to,
    amount: Number(r.amount),
    journal: JSON.parse(r.journal) as Journal,
    notice: r.notice,
    refusal: r.refusal === null ? null : (JSON.parse(r.refusal) as Job['refusal']),
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    ...(r.parked_at != null ? { parkedAt: Number(r.parked_at) } : {}),
  };
}

function messageOf(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}
