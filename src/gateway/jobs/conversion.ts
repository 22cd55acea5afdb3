/**
 * The steps of the conversion jobs after intake (docs/design.md §5, docs/gateway.md), each writing its
 * effect and its journal entry in ONE transaction: job 1 issues the wide notes and erases the local
 * ones, job 2 has the reserve credited and generates the local notes, both deliver the payment; a
 * proven refusal ends the job (and seals a notice to `replyTo`, delivered best-effort). A step that
 * could not finish is recorded by `failed`: retried later, abandoned (notices) or parked (deliveries).
 * Network calls happen outside transactions; `fault(...)` marks every point a crash test may stop at.
 */
import { fail, isLancashError, type LancashError } from '../../core/errors.js';
import { fault } from '../../core/faults.js';
import { toAmount } from '../../core/money.js';
import type { Receipt } from '../../core/protocol/bank.js';
import { traceStep } from '../../core/step-trace.js';
import type { MintCrypto } from '../../mint/crypto.js';
import type { Deliverer } from '../delivery.js';
import { relockKey } from '../locks.js';
import { sealRecovery } from '../reconcile/service.js';
import { blindedMessages, type KeysetKeys, makeOutputs, unblindInPool } from '../wallet.js';
import type { WideBankPort } from '../wide-bank.js';
import { type Job, type Journal, point, TERMINAL_STATES } from './model.js';
import { jobOf } from './reads.js';
import * as repo from './repository.js';
import type { StepOutcome } from './runner.js';
import {
  type Commit,
  commitLocal,
  commitOf,
  cryptoOf,
  type JobServiceBase,
  MOVES_NO_VALUE,
  moveJob,
  prepareLocal,
  refuseJob,
  sealPayment,
  type Trx,
} from './steps.js';

export interface ConversionStepsOptions extends JobServiceBase {
  bank: WideBankPort;
  deliverer: Deliverer;
  /** A refusal notice not accepted after this many tries is abandoned; default 20. */
  maxNoticeAttempts?: number;
  /**
   * A payment or notice no inbox accepted for this long (from the job's move into delivering, its
   * refusal, or the operator's retry) is parked for the operator; default `DEFAULT_DELIVERY_DEADLINE_MS`.
   */
  deliveryDeadlineMs?: number;
}

/** How long deliveries of one job are tried before it is parked: 6 hours. */
export const DEFAULT_DELIVERY_DEADLINE_MS = 6 * 3600_000;

/** Nothing to do now. */
export const IDLE: StepOutcome = { advanced: false };

/** The job moved: the runner runs its next step from `job`, or, when this step lost a race, from the journal. */
export function advanced(job: Job | undefined): StepOutcome {
  return job === undefined ? { advanced: true } : { advanced: true, job };
}

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

export class ConversionSteps {
  private readonly clock: () => number;
  private readonly maxNoticeAttempts: number;
  private readonly deliveryDeadlineMs: number;
  private readonly commit: Commit;
  private readonly crypto: MintCrypto;

  constructor(private readonly o: ConversionStepsOptions) {
    this.crypto = cryptoOf(o);
    this.clock = o.clock ?? Date.now;
    this.maxNoticeAttempts = o.maxNoticeAttempts ?? 20;
    this.deliveryDeadlineMs = o.deliveryDeadlineMs ?? DEFAULT_DELIVERY_DEADLINE_MS;
    this.commit = commitOf(o);
  }

  /**
   * Runs the job's next step, from `known` (the job as the previous step of this run left it) or else
   * from the journal. Throws when the step could not finish (an unclear outcome, an inbox that does not
   * take the envelope, a bad answer): the runner records it and retries later.
   */
  async step(id: string, known?: Job): Promise<StepOutcome> {
    const job = known ?? (await jobOf(this.o.store.db, id));
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
    const { bank, mint } = this.o;
    const outputs = job.journal.outputs;
    let signatures: Awaited<ReturnType<WideBankPort['issue']>>['signatures'];
    // The recovery record rides along: the bank keeps it, so a lost journal can rebuild this job.
    // Made before the call: only the bank's own answer may count as a refusal (a local error here,
    // on a retry after an unclear answer, must never release the local notes).
    const blinded = blindedMessages(outputs);
    const recovery = await sealRecovery(this.o.store, this.o.keys, job, { outputs: blinded });
    traceStep(job.id, 'issue.recovery');
    try {
      ({ signatures } = await bank.issue(job.id, job.amount, blinded, recovery));
    } catch (e) {
      if (!isProvenRefusal(e)) throw e;
      if (isLancashError(e, 'KeysetExpired') || isLancashError(e, 'KeysetInactive')) {
        const renewed = await this.renewOutputs(job);
        if (renewed !== undefined) return renewed;
      }
      fault(point(job.direction, 'issue'));
      return this.refuse(job, e, async (trx) => {
        await mint.releasePending(trx, `job1:${job.id}`);
      });
    }
    fault(point(job.direction, 'issue'));
    traceStep(job.id, 'issue.answered');
    // A bad answer (DLEQ, amounts) is NOT a refusal: the bank may have debited the reserve. The job
    // stays in `issuing` and the same request is retried; an operator sees `last_error`.
    const keysets = new Map<string, KeysetKeys>();
    for (const id of new Set(outputs.map((o) => o.id))) keysets.set(id, await bank.keyset(id));
    const wideProofs = await unblindInPool(this.crypto, outputs, signatures, (id) => keysets.get(id)!);
    traceStep(job.id, 'issue.unblinded');
    const delivery = await sealPayment(
      this.o.keys,
      job,
      { url: bank.base, unit: this.o.bank.info.unit },
      wideProofs,
    );
    traceStep(job.id, 'issue.sealed');
    const now = this.clock();
    const moved = await this.commit(async (trx) => {
      const journal: Partial<Journal> = { wideProofs, delivery };
      const detail = `${wideProofs.length} wide notes`;
      const next = await moveJob(trx, job, 'delivering', now, { journal }, detail, this.o.leaseOwner);
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
    traceStep(job.id, 'issue.committed');
    return advanced(moved);
  }

  /**
   * Job 1's wide outputs refused for their keyset (the bank retired it since they were journaled: a
   * rotation with no grace): the bank signed none of them (a retired keyset is refused at its commit
   * too), so fresh outputs on its active keyset are journaled in their place and the step runs again,
   * instead of refusing the job. Undefined when they already are on that keyset (not a rotation).
   */
  private async renewOutputs(job: Job): Promise<StepOutcome | undefined> {
    const keyset = await this.o.bank.activeKeyset();
    if (job.journal.outputs.every((x) => x.id === keyset.id)) return undefined;
    const lock = relockKey(job.destination, job.journal.outputs);
    const outputs = makeOutputs(this.o.curve, keyset.id, toAmount(job.amount), lock);
    const journal: Partial<Journal> = { outputs };
    const detail = `wide outputs renewed on keyset ${keyset.id}`;
    const now = this.clock();
    return advanced(
      await this.commit((trx) => moveJob(trx, job, 'issuing', now, { journal }, detail, this.o.leaseOwner)),
    );
  }

  /**
   * Job 2, step 2: the reserve credited (receipt), then local notes generated. The local notes are
   * signed, checked and sealed while the bank receives the wide ones (that work needs nothing of the
   * receipt, and writes nothing): only the commit with the receipt gives them, as before. A refusal
   * or an unclear answer drops them unused.
   */
  private async receive(job: Job): Promise<StepOutcome> {
    const { bank } = this.o;
    let receipt: Receipt;
    const proofs = job.journal.wideProofs;
    // A journal without its notes is a defect for the operator (`last_error`), not the bank's refusal.
    if (proofs === undefined) fail('Internal', { reason: `job ${job.id} has no wide notes to receive` });
    const recovery = await sealRecovery(this.o.store, this.o.keys, job, { proofs });
    traceStep(job.id, 'receive.recovery');
    const local = prepareLocal(this.o, job, this.o.bank.info.unit);
    // Its failure counts only once the bank answered (below); until then nobody may wait for it.
    local.catch(() => {});
    try {
      // The reserve is credited the notes' value less the bank's input fee: exactly the job's amount.
      receipt = await bank.receive(job.id, proofs, recovery, job.amount);
    } catch (e) {
      if (!isProvenRefusal(e)) throw e;
      fault(point(job.direction, 'receive'));
      return this.refuse(job, e);
    }
    fault(point(job.direction, 'receive'));
    traceStep(job.id, 'receive.answered');
    // A payment to the LAN mailbox is deposited in the same commit, and the job is then done.
    const moved = await commitLocal(this.o, job, await local, {
      operation: `job2:${job.id}`,
      detail: `receipt ${receipt.receivedAt}`,
      journal: { receipt },
      clock: this.clock,
      deliverer: this.o.deliverer,
    });
    if (moved) fault(point(job.direction, 'generate'));
    if (moved?.state === 'done') this.finished(moved);
    return advanced(moved);
  }

  /** Last step of both jobs: the payment delivered to the destination. */
  private async deliver(job: Job): Promise<StepOutcome> {
    const envelope = job.journal.delivery;
    if (envelope === undefined) fail('Internal', { reason: `job ${job.id} has no payment to deliver` });
    traceStep(job.id, 'deliver.start');
    await this.o.deliverer.deliver(job.destination, envelope);
    fault(point(job.direction, 'deliver'));
    traceStep(job.id, 'deliver.accepted');
    const now = this.clock();
    // Moves no value: the notes are in the inbox already and the payment stays journaled. Lost at a
    // power loss, the job is back in `delivering` and sends the same bytes again, which the inbox
    // answers as a duplicate (the same sender, transfer id and content; a tombstone once drained).
    const moved = await this.commit(
      (trx) => moveJob(trx, job, 'done', now, { active: 0 }, 'delivered', this.o.leaseOwner),
      MOVES_NO_VALUE,
    );
    traceStep(job.id, 'deliver.committed');
    if (moved) this.finished(moved);
    return advanced(moved);
  }

  /** A job that reached `done` (its payment delivered), once its commit is made. */
  private finished(job: Job): void {
    fault(point(job.direction, 'done'));
    this.o.onFinished?.(job);
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
    // Moves no value (a refusal's notice; the refusal and its effect committed before): lost, the
    // journaled notice is sent again, the same bytes, a duplicate to the inbox.
    const moved = await this.commit(async (trx) => {
      const ok = await repo.moveJob(
        trx,
        job.id,
        { state: job.state, notice: 'pending', lease: this.o.leaseOwner },
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
    }, MOVES_NO_VALUE);
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
    // Every commit here moves no value: it changes only when and whether the runner tries again (and
    // the notice's or parking's event); state, journal and lease stay. Lost at a power loss, the step
    // is tried again as if this attempt had not been recorded, which it may be at any time anyway.
    const { store } = this.o;
    const row = await repo.getJob(store.db, id);
    if (row === undefined || row.active === 0) return;
    const attempts = row.attempts + 1;
    const now = this.clock();
    const lastError = messageOf(error);
    const from = { state: row.state, notice: row.notice, lease: this.o.leaseOwner };
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
      }, MOVES_NO_VALUE);
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
      }, MOVES_NO_VALUE);
      return;
    }
    await this.commit(
      (trx) =>
        repo.moveJob(trx, id, from, {
          attempts,
          next_attempt_at: now + delayMs(attempts),
          last_error: lastError,
        }),
      MOVES_NO_VALUE,
    );
  }
}

function messageOf(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}
