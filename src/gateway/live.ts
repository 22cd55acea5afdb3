/**
 * The gateway's live routes (docs/web.md, "Live updates"), server-sent events fed by `GatewayEvents`:
 *   GET /v1/gateway/transfers/:id/events   both listeners, the status route's visibility (the WAN one
 *                                          shows WAN → LAN transfers only): `status` now, then one per
 *                                          state change; the stream ends at `done` or `refused`
 *   GET /v1/gateway/operator/events        LAN, operator token: `job` on every job state change,
 *                                          `reserve` on every point the reserve sampler records
 * Every stream counts against the listener's bounds (`core/http/sse.ts`), taken before any work.
 */

import { Type } from '@sinclair/typebox';
import { TransferId } from '../core/envelope/index.js';
import { clientOf } from '../core/http/client-key.js';
import { type LancashServer, WireErrorSchema } from '../core/http/server.js';
import { type SseStream, sseHub } from '../core/http/sse.js';
import {
  type Direction,
  type JobKind,
  TRANSFER_PATH,
  type TransferState,
  type TransferStatus,
} from '../core/protocol/gateway.js';
import { OPERATOR_EVENTS_PATH } from '../core/protocol/operator.js';
import type { GatewayEvents } from './events.js';
import type { JobService } from './jobs/service.js';

export const TRANSFER_EVENTS_PATH = `${TRANSFER_PATH}/events`;

const refusals = { '4xx': WireErrorSchema };
const TransferParams = Type.Object({ id: TransferId });

/** How far along a transfer is: a state is shown only after the ones before it (events may race the first read). */
const PROGRESS: Record<TransferState, number> = {
  issuing: 0,
  receiving: 0,
  delivering: 1,
  done: 2,
  refused: 2,
};

/**
 * `GET /v1/gateway/transfers/:id/events` on `app`: the status `jobs.status` answers (so the route's
 * visibility is the status route's, `only` included), then each later state; ends at a terminal one.
 */
export function registerTransferEvents(
  app: LancashServer,
  o: {
    jobs: JobService;
    events: GatewayEvents;
    /** Only transfers of this direction and kind are shown (the WAN listener's rule). */
    only?: { direction: Direction; kind: JobKind };
  },
): void {
  const streams = sseHub(app, { clientOf });
  app.get(
    TRANSFER_EVENTS_PATH,
    {
      schema: {
        summary: 'Where a transfer stands, live (text/event-stream): `status` now and at every change',
        params: TransferParams,
        response: refusals,
      },
    },
    async (req, reply) => {
      const ticket = streams.admit(req.ip);
      const id = req.params.id;
      let stream: SseStream | undefined;
      let shown = -1;
      const early: TransferStatus[] = [];
      const show = (status: TransferStatus) => {
        if (stream === undefined) {
          early.push(status);
          return;
        }
        if (PROGRESS[status.state] <= shown) return;
        shown = PROGRESS[status.state];
        stream.send('status', status);
        if (shown === PROGRESS.done) stream.end();
      };
      // Subscribed before the status is read, so a change in between is not missed.
      const off = o.events.jobs.subscribe(id, (change) => show(change.status));
      let first: TransferStatus;
      try {
        first = await o.jobs.status(id, o.only?.direction, o.only?.kind);
      } catch (e) {
        off();
        ticket.release();
        throw e;
      }
      stream = ticket.open(reply);
      stream.onClose(off);
      show(first);
      for (const status of early.splice(0)) show(status);
      return reply;
    },
  );
}

/** `GET /v1/gateway/operator/events` on the LAN listener, behind `guard` (checked before anything else). */
export function registerOperatorEvents(
  app: LancashServer,
  o: { events: GatewayEvents; guard: (authorization: string | undefined) => void },
): void {
  const streams = sseHub(app, { clientOf });
  app.get(
    OPERATOR_EVENTS_PATH,
    {
      onRequest: async (req) => o.guard(req.headers.authorization),
      schema: {
        summary:
          'Operator: job state changes (`job`) and reserve points (`reserve`), live (text/event-stream)',
        response: refusals,
      },
    },
    async (req, reply) => {
      const stream = streams.admit(req.ip).open(reply);
      stream.onClose(o.events.operator((e) => stream.send(e.type, e.data)));
      return reply;
    },
  );
}
