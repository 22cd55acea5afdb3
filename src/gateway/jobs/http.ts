/**
 * Controllers of the jobs. LAN listener: job-1 intake, transfer status (any direction), and behind
 * the operator token the per-terminal history and the parked deliveries (list, retry, abandon a
 * notice). WAN listener:
 * job-2 intake and the status of WAN → LAN transfers only. Schemas check shapes; `JobService` does
 * the work.
 */
import { Type } from '@sinclair/typebox';
import { EnvelopeSchema, MAX_CT_CHARS, TransferId } from '../../core/envelope/index.js';
import { clientOf } from '../../core/http/client-key.js';
import { type LancashServer, WireErrorSchema } from '../../core/http/server.js';
import { PublicKeyHex } from '../../core/protocol/bank.js';
import { JOB1_PATH, JOB2_PATH, TRANSFER_PATH, TransferStatus } from '../../core/protocol/gateway.js';
import {
  HISTORY_PATH,
  HistoryAnswer,
  PARKED_ABANDON_PATH,
  PARKED_PATH,
  PARKED_RETRY_PATH,
  ParkedAnswer,
} from '../../core/protocol/operator.js';
import type { JobService } from './service.js';

/** An envelope's JSON: `ct` at its largest plus the header fields. */
const ENVELOPE_BODY_LIMIT = MAX_CT_CHARS + 4096;
const refusals = { '4xx': WireErrorSchema };
const TransferParams = Type.Object({ id: TransferId });
/** Query values arrive as text; they are checked as text and converted here. */
const HistoryQuery = Type.Object(
  {
    terminal: PublicKeyHex,
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$|^1000$' })),
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$' })),
  },
  { additionalProperties: false },
);
const ParkedQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$|^1000$' })) },
  { additionalProperties: false },
);

function registerIntake(
  app: LancashServer,
  path: string,
  summary: string,
  handle: (body: unknown, client: string) => Promise<TransferStatus>,
): void {
  app.post(
    path,
    {
      bodyLimit: ENVELOPE_BODY_LIMIT,
      schema: { summary, body: EnvelopeSchema, response: { 200: TransferStatus, ...refusals } },
    },
    async (req) => handle(req.body, req.ip),
  );
}

export function registerLanJobRoutes(
  app: LancashServer,
  o: { jobs: JobService; guard: (authorization: string | undefined) => void },
): void {
  const { jobs } = o;
  registerIntake(
    app,
    JOB1_PATH,
    'Job 1: convert local notes into wide notes for a WAN address (gateway.job1.request)',
    (body) => jobs.intake('lan-to-wan', body),
  );
  app.get(
    TRANSFER_PATH,
    {
      schema: {
        summary: 'Where a transfer stands',
        params: TransferParams,
        response: { 200: TransferStatus, ...refusals },
      },
    },
    async (req) => jobs.status(req.params.id),
  );
  app.get(
    HISTORY_PATH,
    {
      // The operator's check runs before the query is even looked at.
      onRequest: async (req) => o.guard(req.headers.authorization),
      schema: {
        summary: 'Operator: every conversion a terminal key sent or received, newest first',
        querystring: HistoryQuery,
        response: { 200: HistoryAnswer, ...refusals },
      },
    },
    async (req) => ({
      transfers: await jobs.history(req.query.terminal, {
        ...(req.query.limit !== undefined ? { limit: Number(req.query.limit) } : {}),
        ...(req.query.before !== undefined ? { before: Number(req.query.before) } : {}),
      }),
    }),
  );
  app.get(
    PARKED_PATH,
    {
      onRequest: async (req) => o.guard(req.headers.authorization),
      schema: {
        summary: 'Operator: jobs whose payment or notice no inbox accepted in time, parked first first',
        querystring: ParkedQuery,
        response: { 200: ParkedAnswer, ...refusals },
      },
    },
    async (req) => ({
      jobs: await jobs.parked(req.query.limit !== undefined ? Number(req.query.limit) : undefined),
    }),
  );
  app.post(
    PARKED_RETRY_PATH,
    {
      onRequest: async (req) => o.guard(req.headers.authorization),
      schema: {
        summary: 'Operator: try a parked job’s delivery again (the same sealed envelope), its deadline anew',
        params: TransferParams,
        response: { 200: TransferStatus, ...refusals },
      },
    },
    async (req) => jobs.retryParked(req.params.id),
  );
  app.post(
    PARKED_ABANDON_PATH,
    {
      onRequest: async (req) => o.guard(req.headers.authorization),
      schema: {
        summary: 'Operator: give up on a parked refusal notice (no money moves; a parked payment is refused)',
        params: TransferParams,
        response: { 200: TransferStatus, ...refusals },
      },
    },
    async (req) => jobs.abandonParkedNotice(req.params.id),
  );
}

export function registerWanJobRoutes(app: LancashServer, o: { jobs: JobService }): void {
  const { jobs } = o;
  registerIntake(
    app,
    JOB2_PATH,
    'Job 2: convert wide notes into local notes for a LAN address (gateway.job2.request)',
    // Each WAN client (by IP, IPv6 by /64) is bounded in the work and bank calls its intakes cause (intake-limits.ts).
    (body, ip) => jobs.intake('wan-to-lan', body, clientOf(ip)),
  );
  app.get(
    TRANSFER_PATH,
    {
      schema: {
        summary: 'Where a WAN → LAN transfer stands',
        params: TransferParams,
        response: { 200: TransferStatus, ...refusals },
      },
    },
    // Transfers only: a payroll job runs WAN → LAN too, but is the operator's business.
    async (req) => jobs.status(req.params.id, 'wan-to-lan', 'transfer'),
  );
}
