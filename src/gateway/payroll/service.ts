/**
 * The gateway's operator jobs (docs/design.md §5, docs/gateway.md "Payroll and payout"): journaled sagas in the
 * same job table and runner as the conversions, every step's effect and journal entry in ONE
 * transaction, resumed after a crash.
 *
 * Payroll (reserve → LAN): the wide bank's operator deposited into the reserve under a reference; the
 * gateway's operator asks for local money against it. Intake journals the local outputs → the bank
 * records the claim of that deposit, once per ref, and answers a signed receipt → only then does the
 * local mint sign the outputs, in the transaction that journals the receipt → the payment is delivered
 * to the LAN address like job 2's (into the LAN mailbox in that same transaction, else by the shared
 * delivery step) → done. A proven refusal (no such deposit, another amount) ends the job with nothing
 * generated.
 *
 * Payout (LAN → outside): a terminal's local notes, sealed in a `gateway.payout.request` and posted by
 * the operator. Intake holds them pending at the local mint → the bank withdraws the amount from the
 * reserve to the outside, once per ref → the local notes are erased in the transaction that journals
 * the receipt → done (a notice to `replyTo`). A proven refusal (balance short) releases the notes.
 *
 * An unclear outcome is retried with the same ref, never refunded or generated on a guess.
 */
import { randomBytes } from 'node:crypto';
import { decodeAddress } from '../../core/address/index.js';
import { bytesToHex } from '../../core/bytes.js';
import { type EncryptionKeyPair, type Envelope, openJson } from '../../core/envelope/index.js';
import { fail, type LancashError } from '../../core/errors.js';
import { fault } from '../../core/faults.js';
import { amountAfterFee } from '../../core/fees.js';
import { toAmount } from '../../core/money.js';
import {
  type BalanceAnswer,
  type BankPeer,
  type ReserveReceipt,
  requestBalance,
  requestDepositClaim,
  requestWithdraw,
} from '../../core/protocol/bank.js';
import { decode } from '../../core/protocol/cashu.js';
import {
  type JobKind,
  type OperatorJobStatus,
  PAYOUT_REQUEST,
  PayoutRequest,
  PayrollRequest,
} from '../../core/protocol/gateway.js';
import type { Deliverer } from '../delivery.js';
import type { Job, Journal } from '../jobs/model.js';
import { newJournalColumns, point, toStatus } from '../jobs/model.js';
import * as jobsRepo from '../jobs/repository.js';
import type { JobStepper, StepOutcome } from '../jobs/runner.js';
import { advanced, IDLE, isProvenRefusal, type JobService, toJob, toJobHead } from '../jobs/service.js';
import {
  type Commit,
  commitOf,
  type FreshJobColumns,
  freshJobColumns,
  generateLocal,
  hashOf,
  type JobServiceBase,
  moveJob,
  refuseJob,
  sealNotice,
  type Trx,
} from '../jobs/steps.js';
import { deliveryLock } from '../locks.js';
import { sealRecovery } from '../reconcile/service.js';
import { makeOutputs } from '../wallet.js';
import * as repo from './repository.js';

/** What the operator jobs need of the wide bank: the holder's reserve requests (docs/wide-bank.md). */
export interface ReservePort {
  /** Claims the operator's deposit `ref` of `amount` into the reserve; the receipt is verified. */
  claim(ref: string, amount: number, recovery?: Envelope): Promise<ReserveReceipt>;
  /** Withdraws `amount` from the reserve to the outside once per `ref`; the receipt is verified. */
  withdraw(ref: string, amount: number, recovery?: Envelope): Promise<ReserveReceipt>;
}

/** The reserve client, with the holder's balance (the operator console's series and audit). */
export interface ReserveClient extends ReservePort {
  balance(): Promise<BalanceAnswer>;
}

/** The reserve requests over HTTP, as the reserve account's holder (the gateway's key pair). */
export function reserveClient(o: {
  bank: BankPeer & { receiptKey: Uint8Array };
  holder: EncryptionKeyPair;
}): ReserveClient {
  return {
    balance: () => requestBalance(o),
    claim: (ref, amount, recovery) =>
      requestDepositClaim({ ...o, ref, amount, ...(recovery !== undefined ? { recovery } : {}) }),
    withdraw: (ref, amount, recovery) =>
      requestWithdraw({ ...o, ref, amount, ...(recovery !== undefined ? { recovery } : {}) }),
  };
}

/** Where a payout's value goes: out of the reserve, to the world outside lancash (the history shows it). */
export const PAYOUT_DESTINATION = 'outside';

/**
 * The fault points of the operator jobs (`LANCASH_FAULT`, tests only), in the order a job meets them.
 * Delivery and notices run in the shared steps, under job 2's (payroll) and job 1's (payout) points.
 */
export const OPERATOR_FAULT_POINTS = {
  payroll: [
    'gateway:payroll:after-intake', // commit: job row + local outputs journaled
    'gateway:payroll:after-claim', // call: the bank answered the claim with a receipt
    'gateway:payroll:after-generate', // commit: receipt + local notes signed + payment journaled
    'gateway:payroll:after-refuse', // commit: refused, nothing generated
  ],
  payout: [
    'gateway:payout:after-intake', // commit: job row + local notes pending
    'gateway:payout:after-withdraw', // call: the bank answered the withdrawal with a receipt
    'gateway:payout:after-settle', // commit: receipt journaled + local notes erased, done
    'gateway:payout:after-refuse', // commit: local notes released, refused
  ],
} as const;

type OperatorKind = repo.OperatorKind;

/** An operator job's journal: a conversion's, plus its reference and the bank's reserve receipt. */
export interface OperatorJournal extends Journal {
  reserveReceipt?: ReserveReceipt;
}

export interface OperatorJob extends Job {
  kind: OperatorKind;
  ref: string;
  journal: OperatorJournal;
}

/** The job as an operator job, if it is one. */
function asOperatorJob(job: Job): OperatorJob | undefined {
  if (job.kind === 'transfer' || job.ref === null) return undefined;
  return { ...job, kind: job.kind, ref: job.ref };
}

/** `onFinished`: once, when a payout reaches `done`, or either job `refused` (a payroll's `done` is the delivery's). */
export interface PayrollServiceOptions extends JobServiceBase {
  reserve: ReservePort;
  /** The deployment's Cashu unit. */
  unit: string;
  /** Refuses an address whose inbox URL deliveries may not go to (`Deliverer.admit`); default none. */
  admit?: (address: string) => void;
  /**
   * With it, a payroll's payment to the LAN mailbox is deposited in the generate step's transaction,
   * as job 2's (`commitLocal`); without, the delivery step delivers every payment.
   */
  deliverer?: Deliverer;
}

export class PayrollService {
  private readonly clock: () => number;
  private readonly commit: Commit;

  constructor(private readonly o: PayrollServiceOptions) {
    this.clock = o.clock ?? Date.now;
    this.commit = commitOf(o);
  }

  // ---------------------------------------------------------------- intake

  /**
   * `POST /v1/gateway/operator/payroll`: journals a payroll job. The same ref with the same request
   * answers the same job; with another request, 409. A ref whose job was refused may be tried again.
   */
  async payroll(body: unknown): Promise<OperatorJobStatus> {
    const { curve, keys, mint, store } = this.o;
    const req = decode(PayrollRequest, body, 'body');
    const to = decodeAddress(req.to, 'lan');
    this.o.admit?.(req.to);
    const amount = toAmount(req.amount);
    const requestHash = hashOf(['payroll', req.ref, amount, req.to.toLowerCase(), req.memo ?? null]);
    const existing = await repo.liveJobOfRef(store.db, 'payroll', req.ref);
    if (existing !== undefined) return same(existing, 'payroll', keys.publicKeyHex, requestHash);
    const journal: OperatorJournal = {
      // Locked to the employee's key when its address carries one, as job 2's notes are.
      outputs: makeOutputs(
        curve,
        mint.keysets.current().id,
        amount,
        await deliveryLock(req.to, this.o.localMintUrl()),
      ),
      ...(req.memo !== undefined ? { memo: req.memo } : {}),
    };
    return this.admit(
      {
        ...this.newRow('payroll', req.ref, randomBytes(16).toString('hex'), amount, journal),
        direction: 'wan-to-lan',
        state: 'receiving',
        // The reserve (the gateway's own key) pays; the LAN terminal receives.
        sender_key: keys.publicKeyHex,
        request_hash: requestHash,
        destination: req.to,
        destination_key: bytesToHex(to.publicKey),
        reply_to: null,
      },
      journal,
      `payroll ${req.ref}`,
    );
  }

  /**
   * `POST /v1/gateway/operator/payout`: opens a `gateway.payout.request` sealed to the gateway, holds
   * its local notes pending and journals the job; its id is the envelope's transfer id. A replay (or a
   * re-sealed copy of the same request) answers the same job; the same id or ref for another request
   * is refused (409). Refusals before the commit change nothing.
   */
  async payout(envelope: unknown): Promise<OperatorJobStatus> {
    const { keys, mint, store } = this.o;
    const opened = await openJson({ envelope, recipient: keys.encryption, expectedType: PAYOUT_REQUEST });
    const req = decode(PayoutRequest, opened.payload, 'payload');
    if (req.replyTo !== undefined) {
      decodeAddress(req.replyTo);
      this.o.admit?.(req.replyTo);
    }
    const id = opened.transferId;
    const sender = bytesToHex(opened.sender);
    const requestHash = hashOf([
      'payout',
      req.ref,
      req.replyTo?.toLowerCase() ?? null,
      req.memo ?? null,
      req.proofs.map((p) => [p.amount, p.id.toLowerCase(), p.secret, p.C.toLowerCase()]),
    ]);
    const existing =
      (await jobsRepo.getJob(store.db, id)) ?? (await repo.liveJobOfRef(store.db, 'payout', req.ref));
    if (existing !== undefined) return same(existing, 'payout', sender, requestHash);
    const prepared = await mint.prepareInputs(req.proofs);
    // The payer pays the local input fee, as a LAN sender of job 1 does (docs/gateway.md, "Fees").
    const amount = amountAfterFee(prepared.amount, prepared.fee);
    const journal: OperatorJournal = {
      outputs: [],
      inputYs: [...prepared.Ys],
      ...(prepared.fee > 0 ? { inputFee: prepared.fee } : {}),
      ...(req.memo !== undefined ? { memo: req.memo } : {}),
    };
    return this.admit(
      {
        ...this.newRow('payout', req.ref, id, amount, journal),
        direction: 'lan-to-wan',
        state: 'issuing',
        sender_key: sender,
        request_hash: requestHash,
        destination: PAYOUT_DESTINATION,
        destination_key: keys.publicKeyHex,
        reply_to: req.replyTo ?? null,
      },
      journal,
      `payout ${req.ref}`,
      (trx) => mint.commitInputs(trx, prepared, operation('payout', id), 'pending'),
    );
  }

  private newRow(
    kind: OperatorKind,
    ref: string,
    id: string,
    amount: number,
    journal: OperatorJournal,
  ): FreshJobColumns & Pick<jobsRepo.JobRow, 'id' | 'kind' | 'ref' | 'amount' | 'journal'> {
    const { head } = newJournalColumns(journal);
    return { ...freshJobColumns(this.clock()), id, kind, ref, amount, journal: head };
  }

  /**
   * The intake's one transaction: the job row (first, so a racing twin stops there), its event, its
   * `journal`'s bulk, `effect`.
   */
  private async admit(
    row: jobsRepo.JobRow,
    journal: OperatorJournal,
    detail: string,
    effect?: (trx: Trx) => Promise<void>,
  ): Promise<OperatorJobStatus> {
    const { store } = this.o;
    const kind = row.kind as OperatorKind;
    const fresh = await this.commit(async (trx) => {
      if (!(await repo.insertOperatorJob(trx, row))) return false;
      const { bulk } = newJournalColumns(journal);
      const event = {
        job_id: row.id,
        from_state: 'received',
        to_state: row.state,
        at: row.created_at,
        detail,
      };
      await jobsRepo.insertEvent(trx, event, bulk);
      await effect?.(trx);
      return true;
    });
    if (!fresh) {
      const winner =
        (await jobsRepo.getJob(store.db, row.id)) ?? (await repo.liveJobOfRef(store.db, kind, row.ref!));
      if (winner === undefined) fail('Internal', { reason: `${kind} job ${row.ref} vanished` });
      return same(winner, kind, row.sender_key, row.request_hash);
    }
    fault(`gateway:${kind}:after-intake`);
    this.o.onIntake?.(toJob(row, journal));
    return operatorStatus(row);
  }

  // ---------------------------------------------------------------- steps

  /**
   * Runs an operator job's own step (payroll: the claim; payout: the withdrawal). Answers undefined for
   * every other job or state: delivery and notices are the conversions' steps (`operatorJobsFirst`).
   */
  advance(job: Job): Promise<StepOutcome> | undefined {
    const op = asOperatorJob(job);
    if (op?.kind === 'payroll' && op.state === 'receiving') return this.claim(op);
    if (op?.kind === 'payout' && op.state === 'issuing') return this.withdraw(op);
    return undefined;
  }

  /** Payroll, step 2: the deposit claimed at the bank (receipt), then the local notes generated. */
  private async claim(job: OperatorJob): Promise<StepOutcome> {
    const { reserve } = this.o;
    let receipt: ReserveReceipt;
    try {
      receipt = await reserve.claim(job.ref, job.amount, await sealRecovery(this.o.store, this.o.keys, job));
    } catch (e) {
      if (!isProvenRefusal(e)) throw e;
      fault('gateway:payroll:after-claim');
      return this.refuse(job, e);
    }
    fault('gateway:payroll:after-claim');
    this.checkUnit(receipt);
    const moved = await generateLocal(this.o, job, {
      unit: this.o.unit,
      operation: operation('payroll', job.id),
      detail: `deposit ${job.ref} claimed`,
      journal: { reserveReceipt: receipt },
      clock: this.clock,
      ...(this.o.deliverer !== undefined ? { deliverer: this.o.deliverer } : {}),
    });
    if (moved) fault('gateway:payroll:after-generate');
    if (moved?.state === 'done') {
      // Delivered with its notes: the shared delivery step's end, here (a payroll's `done`).
      fault(point(job.direction, 'done'));
      this.o.onFinished?.(moved);
    }
    return advanced(moved);
  }

  /** Payout, step 2: the amount withdrawn from the reserve (receipt), then the local notes erased. */
  private async withdraw(job: OperatorJob): Promise<StepOutcome> {
    const { mint, reserve } = this.o;
    const op = operation('payout', job.id);
    let receipt: ReserveReceipt;
    try {
      receipt = await reserve.withdraw(
        job.ref,
        job.amount,
        await sealRecovery(this.o.store, this.o.keys, job),
      );
    } catch (e) {
      if (!isProvenRefusal(e)) throw e;
      fault('gateway:payout:after-withdraw');
      return this.refuse(job, e, async (trx) => {
        await mint.releasePending(trx, op);
      });
    }
    fault('gateway:payout:after-withdraw');
    this.checkUnit(receipt);
    const now = this.clock();
    const notice = await sealNotice(this.o.keys, { ...job, state: 'done', updatedAt: now });
    const moved = await this.commit(async (trx) => {
      const journal: OperatorJournal = {
        ...job.journal,
        reserveReceipt: receipt,
        ...(notice !== undefined ? { notice } : {}),
      };
      const patch = {
        journal,
        notice: notice === undefined ? ('none' as const) : ('pending' as const),
        active: notice === undefined ? 0 : 1,
      };
      const next = await moveJob(trx, job, 'done', now, patch, `withdrawn ${job.ref}`, this.o.leaseOwner);
      if (next === undefined) return undefined;
      // The bank paid out: only now are the local notes erased (spent).
      const settled = await mint.settlePending(trx, op);
      if (settled !== job.journal.inputYs?.length) {
        fail('Internal', {
          reason: `payout ${job.id}: ${settled} local notes settled, expected ${job.journal.inputYs?.length}`,
        });
      }
      return next;
    });
    if (moved) {
      fault('gateway:payout:after-settle');
      this.o.onFinished?.(moved);
    }
    return advanced(moved);
  }

  /** Ends a job as refused (nothing happened at the bank); `effect` (payout: release the notes) commits with it. */
  private async refuse(
    job: OperatorJob,
    e: LancashError,
    effect?: (trx: Trx) => Promise<void>,
  ): Promise<StepOutcome> {
    const moved = await refuseJob(this.o, job, e, this.clock(), effect);
    if (moved) {
      fault(`gateway:${job.kind}:after-refuse`);
      this.o.onFinished?.(moved);
    }
    return advanced(moved);
  }

  /** The bank answers in the deployment's unit; another would mean another bank (not a refusal: retry). */
  private checkUnit(receipt: ReserveReceipt): void {
    if (receipt.unit !== this.o.unit) {
      fail(
        'UnitNotSupported',
        { unit: receipt.unit },
        `the bank's receipt is in ${receipt.unit}, this gateway keeps ${this.o.unit}`,
      );
    }
  }
}

/**
 * The runner's stepper: an operator job's own step first, everything else (conversions, and the shared
 * delivery and notice steps) by the conversions' service. Failed steps are recorded the same way.
 */
export function operatorJobsFirst(payroll: PayrollService, jobs: JobService): JobStepper {
  return {
    step: async (id, known) => {
      const job = known ?? (await jobs.job(id));
      if (job === undefined) return IDLE;
      return payroll.advance(job) ?? jobs.advance(job);
    },
    failed: (id, error, delayMs) => jobs.failed(id, error, delayMs),
  };
}

/** The local mint's operation of an operator job (pending notes, signatures): `payroll:<id>`, `payout:<id>`. */
export function operation(kind: OperatorKind, id: string): string {
  return `${kind}:${id}`;
}

/** A job as the operator routes answer it. */
export function operatorStatus(row: jobsRepo.JobRow): OperatorJobStatus {
  return { ...toStatus(toJobHead(row)), kind: (row.kind ?? 'transfer') as JobKind, ref: row.ref ?? '' };
}

/** The existing job answers a request only when it is that request: same kind, sender and request. */
function same(
  existing: jobsRepo.JobRow,
  kind: OperatorKind,
  sender: string,
  requestHash: string,
): OperatorJobStatus {
  if (existing.kind !== kind || existing.sender_key !== sender || existing.request_hash !== requestHash) {
    const key = existing.kind === kind && existing.ref != null ? existing.ref : existing.id;
    fail('IdempotencyConflict', { key }, `${kind} ${key} was used for another request`);
  }
  return operatorStatus(existing);
}
