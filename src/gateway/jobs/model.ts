/**
 * The shape of a conversion job (docs/gateway.md): its states, what its journal holds at each step,
 * the fault points that crash tests arm, and how a job reads as the `TransferStatus` terminals see.
 */
import type { Envelope } from '../../core/envelope/index.js';
import type { Receipt } from '../../core/protocol/bank.js';
import type { Proof } from '../../core/protocol/cashu.js';
import type { Direction, JobKind, TransferState, TransferStatus } from '../../core/protocol/gateway.js';
import type { GatewayJobsTable } from '../../store/schema.js';
import type { JournalOutput } from '../wallet.js';

export type JobState = TransferState;
export type NoticeState = GatewayJobsTable['notice'];

export const TERMINAL_STATES: readonly JobState[] = ['done', 'refused'];

/**
 * A job in state `state` with notice `notice` has nothing left to run: finished, no notice pending.
 * Its last move gives up the job's lease in the same write (`steps.ts` `moveJob`), so its run need not.
 */
export function settled(state: JobState, notice: NoticeState): boolean {
  return TERMINAL_STATES.includes(state) && notice !== 'pending';
}

/** Everything a later step needs, written in the same transaction as the step that produced it. */
export interface Journal {
  memo?: string;
  /** NUT-02 input fee the sender's notes paid on top of the job's amount (absent: none). */
  inputFee?: number;
  /** Outputs the gateway asked to be signed: wide (job 1, issue server) or local (job 2, its mint). */
  outputs: JournalOutput[];
  /** Job 1: the NUT-07 `Y`s of the local notes held pending under `job1:<id>`. */
  inputYs?: string[];
  /** Job 2: the wide notes handed in. Job 1: the wide notes made from the issue answer. */
  wideProofs?: Proof[];
  /** Job 2: the receiving server's receipt, verified. */
  receipt?: Receipt;
  /** Job 2: the local notes generated. */
  localProofs?: Proof[];
  /** The `lancash.payment` sealed to the destination, delivered as these exact bytes until accepted. */
  delivery?: Envelope;
  /** The `gateway.notice` sealed to `replyTo` on a refusal. */
  notice?: Envelope;
}

export interface Job {
  id: string;
  /** A conversion (`transfer`, job 1 or 2) or an operator job; `ref` is a payroll's or payout's reference. */
  kind: JobKind;
  ref: string | null;
  direction: Direction;
  state: JobState;
  senderKey: string;
  requestHash: string;
  destination: string;
  destinationKey: string;
  replyTo: string | null;
  amount: number;
  journal: Journal;
  notice: NoticeState;
  refusal: { code: number; detail: string } | null;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  /** Set while the job's delivery is parked for the operator (unix ms; docs/gateway.md, "Deliveries"). */
  parkedAt?: number;
}

export interface JobEvent {
  seq: number;
  from: string;
  to: string;
  at: number;
  detail: string;
}

/** Job 1 is `job1`, job 2 `job2`: the prefix of fault points and of the local mint's operations. */
export function jobTag(direction: Direction): 'job1' | 'job2' {
  return direction === 'lan-to-wan' ? 'job1' : 'job2';
}

/**
 * The fault points (`LANCASH_FAULT`, tests only), in the order a job meets them. `after-<step>` follows
 * a journaled step's commit; `after-<call>` follows a network call's return, before its journal.
 */
export const FAULT_POINTS = {
  job1: [
    'gateway:job1:after-intake', // commit: job row + local notes pending + wide outputs journaled
    'gateway:job1:after-issue', // call: the issue server answered
    'gateway:job1:after-settle', // commit: local notes spent, wide notes + payment journaled
    'gateway:job1:after-deliver', // call: the destination's inbox accepted the payment
    'gateway:job1:after-done', // commit: done
    'gateway:job1:after-refuse', // commit: local notes released, refused, notice journaled
    'gateway:job1:after-notice', // call: the sender's inbox accepted the notice
    'gateway:job1:after-notice-sent', // commit: notice sent
  ],
  job2: [
    'gateway:job2:after-intake', // commit: job row + wide notes + local outputs journaled
    'gateway:job2:after-receive', // call: the receiving server answered with a receipt
    'gateway:job2:after-generate', // commit: receipt + local notes signed + payment journaled
    'gateway:job2:after-deliver',
    'gateway:job2:after-done',
    'gateway:job2:after-refuse', // commit: refused (nothing generated), notice journaled
    'gateway:job2:after-notice',
    'gateway:job2:after-notice-sent',
  ],
} as const;

export type FaultPoint = (typeof FAULT_POINTS)[keyof typeof FAULT_POINTS][number];

/** The steps named in fault points; the crash tests check that every point in the list is reached. */
export type Step =
  | 'intake'
  | 'issue'
  | 'settle'
  | 'receive'
  | 'generate'
  | 'deliver'
  | 'done'
  | 'refuse'
  | 'notice'
  | 'notice-sent';

/** The fault point of a step of a job of `direction`. */
export function point(direction: Direction, step: Step): string {
  return `gateway:${jobTag(direction)}:after-${step}`;
}

export function toStatus(job: Job): TransferStatus {
  return {
    transferId: job.id,
    direction: job.direction,
    state: job.state,
    amount: job.amount,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.refusal !== null ? { refusal: job.refusal } : {}),
    ...(job.journal.inputFee !== undefined && job.journal.inputFee > 0
      ? { inputFee: job.journal.inputFee }
      : {}),
  };
}
