/**
 * The gateway's in-process event bus (docs/web.md, "Live updates"): every job state change (from
 * intake and from the runner's steps) and every point the reserve sampler records. The live routes
 * (`GET /v1/gateway/transfers/:id/events`, `GET /v1/gateway/operator/events`) listen here, so an open
 * stream costs no database reads of its own. Listeners run synchronously after the change committed;
 * a listener that throws is dropped from that one event, never from the publisher's work.
 */
import { Topics } from '../core/http/sse.js';
import type { JobKind, TransferStatus } from '../core/protocol/gateway.js';
import type { Job } from './jobs/model.js';
import { toStatus } from './jobs/model.js';
import type { JobStepper } from './jobs/runner.js';

/** A job in a new state: the status the transfer routes show, and its kind. */
export interface JobChange {
  kind: JobKind;
  status: TransferStatus;
}

/** One point of the reserve series: the reserve at the bank (null: it did not answer) and local money outstanding. */
export interface ReservePoint {
  at: number;
  reserve: number | null;
  outstanding: number;
}

/** What the operator's stream sends: `job` `{transferId, kind, state, amount}` and `reserve` points. */
export type OperatorEvent =
  | {
      type: 'job';
      data: { transferId: string; kind: JobKind; state: TransferStatus['state']; amount: number };
    }
  | { type: 'reserve'; data: ReservePoint };

export class GatewayEvents {
  /** Job changes by transfer id (the transfer streams) and all of them (the operator's). */
  readonly jobs = new Topics<JobChange>();
  /** Reserve points, for the operator's stream. */
  readonly reserves = new Topics<ReservePoint>();

  /** A job entered a new state (intake, or a step that moved it). */
  job(job: Job): void {
    this.jobs.publish(job.id, { kind: job.kind, status: toStatus(job) });
  }

  /** The reserve sampler recorded a point. */
  reserve(point: ReservePoint): void {
    this.reserves.publish('', point);
  }

  /** Every job change and reserve point as the operator's events; returns the unsubscribe. */
  operator(listener: (e: OperatorEvent) => void): () => void {
    const offJobs = this.jobs.subscribeAll(({ kind, status }) =>
      listener({
        type: 'job',
        data: { transferId: status.transferId, kind, state: status.state, amount: status.amount },
      }),
    );
    const offReserve = this.reserves.subscribeAll((point) => listener({ type: 'reserve', data: point }));
    return () => {
      offJobs();
      offReserve();
    };
  }
}

/**
 * The runner's stepper, publishing every job a step moved. A step answers the job it moved (every
 * `advanced(job)` comes from a journaled move, after its commit), so this is the one seam where the
 * runner's state changes are seen; intake's are published by the services' `onIntake`.
 */
export function publishingMoves(inner: JobStepper, events: GatewayEvents): JobStepper {
  return {
    step: async (id, known) => {
      const outcome = await inner.step(id, known);
      if (outcome.job !== undefined) events.job(outcome.job);
      return outcome;
    },
    failed: (id, error, delayMs) => inner.failed(id, error, delayMs),
  };
}
