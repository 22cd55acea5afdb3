/**
 * Parked deliveries, the operator's side (docs/gateway.md): a payment or notice no inbox accepted
 * within the delivery deadline waits, journaled and sealed, until the operator lists it and retries it.
 * The runner parks them (`ConversionSteps.failed`); this only lists and unparks.
 */
import { fail } from '../../core/errors.js';
import type { TransferStatus } from '../../core/protocol/gateway.js';
import type { ParkedJob } from '../../core/protocol/operator.js';
import type { Deliverer } from '../delivery.js';
import { type Job, toStatus } from './model.js';
import { jobOf, toJobHead } from './reads.js';
import * as repo from './repository.js';
import { type Commit, commitOf, type JobServiceBase } from './steps.js';

export interface ParkedDeliveriesOptions extends Pick<JobServiceBase, 'store' | 'commit' | 'clock'> {
  deliverer: Deliverer;
  /** After the operator's retry made a parked job due again (the runner's cue). */
  onUnparked?: (job: Job) => void;
}

export class ParkedDeliveries {
  private readonly clock: () => number;
  private readonly commit: Commit;

  constructor(private readonly o: ParkedDeliveriesOptions) {
    this.clock = o.clock ?? Date.now;
    this.commit = commitOf(o);
  }

  /** The parked jobs, parked first first. */
  async parked(limit = 100): Promise<ParkedJob[]> {
    return (await repo.parkedJobs(this.o.store.db, limit)).map((r) => {
      const job = toJobHead(r);
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
    const job = await jobOf(this.o.store.db, id);
    if (job === undefined) fail('Internal', { reason: `job ${id} vanished` });
    this.o.onUnparked?.(job);
    return toStatus(job);
  }

  /**
   * The operator gives up on a parked refusal notice (the same end the runner gives a notice after its
   * last attempt): the job is finished and its money settled, so nothing moves; only the sender is not
   * told. A parked payment carries money and is refused (`ParkedPaymentNotAbandonable`): retry it.
   */
  async abandonNotice(id: string): Promise<TransferStatus> {
    const row = await repo.getJob(this.o.store.db, id);
    if (row === undefined) fail('NotFound', { what: 'transfer', id }, `no transfer ${id}`);
    if (row.parked_at === null || row.parked_at === undefined) {
      fail('JobNotParked', { id, state: row.state }, `transfer ${id} is not parked`);
    }
    if (row.state === 'delivering') {
      fail('ParkedPaymentNotAbandonable', { id }, `transfer ${id} waits to deliver a payment: retry it`);
    }
    const now = this.clock();
    const abandoned = await this.commit(async (trx) => {
      if (!(await repo.abandonParkedNotice(trx, id, now))) return false;
      await repo.insertEvent(trx, {
        job_id: id,
        from_state: row.state,
        to_state: row.state,
        at: now,
        detail: 'notice abandoned by the operator',
      });
      return true;
    });
    if (!abandoned) fail('JobNotParked', { id, state: row.state }, `transfer ${id} is not parked`);
    const job = await jobOf(this.o.store.db, id);
    if (job === undefined) fail('Internal', { reason: `job ${id} vanished` });
    return toStatus(job);
  }
}
