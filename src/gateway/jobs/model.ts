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

/**
 * The journal's bulk: the parts a step writes once and no later step changes (outputs with their
 * secrets and blinding factors, notes, sealed envelopes: ≈ 7 kB a conversion). Each write's bulk is
 * carried by the event that write adds (`gateway_job_events.bulk`, migration 029), so a move rewrites
 * only the job's small row (state, times, lease, the head below) and never copies them again; they
 * are also what pruning drops once the job is finished (`prune.ts`). The rest of the journal (the
 * head: memo, fee, receipts) stays in `gateway_jobs.journal`, where the status and the history read it.
 */
export const BULK_PARTS = ['outputs', 'inputYs', 'wideProofs', 'localProofs', 'delivery', 'notice'] as const;
export type BulkPart = (typeof BULK_PARTS)[number];
const isBulk = (k: string): boolean => (BULK_PARTS as readonly string[]).includes(k);

/** The journal without its bulk, as `gateway_jobs.journal` holds it. */
export type JournalHead = Omit<Journal, BulkPart>;

/**
 * What a write of `parts` on top of `base` (the journal as the job holds it; `{}` for a new job) puts
 * in the columns: the whole head when `parts` changes any head part (the column is rewritten), and in
 * the write's event only the bulk parts `parts` brings. A part `base` holds already (the same value, as
 * a step passes `{ ...job.journal, … }`) is not written again. Undefined: nothing to write there.
 */
export function journalColumns(
  base: Partial<Journal>,
  parts: Partial<Journal>,
): { head: string | undefined; bulk: string | undefined } {
  let headChanged = false;
  const bulk: Record<string, unknown> = {};
  let bulkParts = 0;
  const held = base as Record<string, unknown>;
  for (const [k, v] of Object.entries(parts)) {
    if (v === undefined || v === held[k]) continue;
    if (!isBulk(k)) headChanged = true;
    else {
      bulk[k] = v;
      bulkParts++;
    }
  }
  return {
    head: headChanged ? JSON.stringify(headOf({ ...base, ...parts })) : undefined,
    bulk: bulkParts === 0 ? undefined : JSON.stringify(bulk),
  };
}

/** A new job's journal as its columns hold it: the head (always written) and its first event's bulk, if any. */
export function newJournalColumns(journal: Partial<Journal>): { head: string; bulk: string | undefined } {
  const { head, bulk } = journalColumns({}, journal);
  return { head: head ?? '{}', bulk };
}

/** The journal's head: every part but the bulk. */
export function headOf(journal: Partial<Journal>): JournalHead {
  const head: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(journal)) if (!isBulk(k) && v !== undefined) head[k] = v;
  return head as JournalHead;
}

/**
 * A whole journal from its head and its events' bulk in the order written (a later event's part replaces
 * an earlier one's: renewed outputs). A journal whose bulk was pruned reads with no outputs.
 */
export function mergeJournal(head: string, bulk: readonly string[]): Journal {
  const journal: Journal = { outputs: [], ...(JSON.parse(head) as Partial<Journal>) };
  for (const b of bulk) Object.assign(journal, JSON.parse(b) as Partial<Journal>);
  return journal;
}

/** A job as its row alone tells it (status, history, the operator's lists): the journal's head only. */
export interface JobHead extends Omit<Job, 'journal'> {
  journal: JournalHead;
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
  /**
   * In memory only, never journaled: the local notes this job's own intake (in this process) holds
   * pending for it (job 1), as the mint wrote them, so that its bank call's recovery record
   * (`reconcile/service.ts` `sealRecovery`) needs no read of them. Absent on a job read from the journal.
   */
  heldInputs?: readonly Proof[];
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

export function toStatus(job: JobHead): TransferStatus {
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
