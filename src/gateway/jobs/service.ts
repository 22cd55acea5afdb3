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
 *
 * This file is the facade the server, the runner and the payroll use; the concerns live beside it:
 * `intake.ts` (the request envelope, the cheap checks, the notes taken in, per-client bounds),
 * `conversion.ts` (the steps after intake, refusals, notices, failed attempts), `parked.ts` (the
 * operator's parked deliveries) and `reads.ts` (status, history, a row as a `Job`).
 */
import type { Direction, JobKind, TransferStatus } from '../../core/protocol/gateway.js';
import type { HistoryEntry, ParkedJob } from '../../core/protocol/operator.js';
import { ConversionSteps, type ConversionStepsOptions } from './conversion.js';
import { JobIntake, type JobIntakeOptions } from './intake.js';
import type { Job } from './model.js';
import { ParkedDeliveries, type ParkedDeliveriesOptions } from './parked.js';
import { historyOf, jobOf, statusOf } from './reads.js';
import type { StepOutcome } from './runner.js';

export { advanced, DEFAULT_DELIVERY_DEADLINE_MS, IDLE, isProvenRefusal } from './conversion.js';
export { toJob, toJobHead } from './reads.js';

export interface JobServiceOptions extends JobIntakeOptions, ConversionStepsOptions {
  /** After the operator's retry made a parked job due again (the runner's cue). */
  onUnparked?: ParkedDeliveriesOptions['onUnparked'];
}

export class JobService {
  private readonly intakes: JobIntake;
  private readonly steps: ConversionSteps;
  private readonly parkedDeliveries: ParkedDeliveries;

  constructor(private readonly o: JobServiceOptions) {
    this.intakes = new JobIntake(o);
    this.steps = new ConversionSteps(o);
    this.parkedDeliveries = new ParkedDeliveries(o);
  }

  /** `JobIntake.intake`: a job request envelope taken in, or a replay answered. */
  intake(direction: Direction, envelope: unknown, client = ''): Promise<TransferStatus> {
    return this.intakes.intake(direction, envelope, client);
  }

  /** `ConversionSteps.step`: the job's next step, from `known` or else from the journal. */
  step(id: string, known?: Job): Promise<StepOutcome> {
    return this.steps.step(id, known);
  }

  /** `ConversionSteps.advance`: the next step of a conversion, or the delivery or notice it ends with. */
  advance(job: Job): Promise<StepOutcome> {
    return this.steps.advance(job);
  }

  /** `ConversionSteps.failed`: a step that could not finish, retried later, abandoned or parked. */
  failed(id: string, error: unknown, delayMs: (attempt: number) => number): Promise<void> {
    return this.steps.failed(id, error, delayMs);
  }

  /** The parked jobs, parked first first. */
  parked(limit = 100): Promise<ParkedJob[]> {
    return this.parkedDeliveries.parked(limit);
  }

  /** `ParkedDeliveries.retryParked`: the operator's retry of a parked job. */
  retryParked(id: string): Promise<TransferStatus> {
    return this.parkedDeliveries.retryParked(id);
  }

  /** `ParkedDeliveries.abandonNotice`: the operator gives up on a parked refusal notice (no money moves). */
  abandonParkedNotice(id: string): Promise<TransferStatus> {
    return this.parkedDeliveries.abandonNotice(id);
  }

  /** A transfer's status; not found when it is not of `direction` (and `kind`), when given. */
  status(id: string, direction?: Direction, kind?: JobKind): Promise<TransferStatus> {
    return statusOf(this.o.store.db, id, direction, kind);
  }

  job(id: string): Promise<Job | undefined> {
    return jobOf(this.o.store.db, id);
  }

  /** Every conversion a terminal key sent or received, newest first, with its state changes. */
  history(key: string, o: { limit?: number; before?: number } = {}): Promise<HistoryEntry[]> {
    return historyOf(this.o.store.db, key, o);
  }
}
