/**
 * Controllers of the operator console's API on the LAN listener, behind the operator token (checked
 * before the query is looked at; docs/gateway.md, "Operator API"): the summary, the reserve series, the
 * jobs by state, the on-demand audit, the local mint's keysets and their rotation. Schemas check and
 * describe every query and answer; `ConsoleService` does the work.
 */
import { Type } from '@sinclair/typebox';
import { type LancashServer, WireErrorSchema } from '../../core/http/server.js';
import {
  AuditAnswer,
  JobListState,
  JobsAnswer,
  OPERATOR_AUDIT_PATH,
  OPERATOR_JOBS_PATH,
  OPERATOR_KEYSETS_PATH,
  OPERATOR_ROTATE_PATH,
  OPERATOR_SERIES_PATH,
  OPERATOR_SUMMARY_PATH,
  OperatorKeysets,
  OperatorSummary,
  RotateAnswer,
  SeriesAnswer,
} from '../../core/protocol/operator.js';
import type { ConsoleService } from './service.js';

const refusals = { '4xx': WireErrorSchema, '5xx': WireErrorSchema };
/** Query values arrive as text; they are checked as text and converted here. */
const SeriesQuery = Type.Object(
  { since: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$' })) },
  { additionalProperties: false },
);
const JobsQuery = Type.Object(
  {
    state: Type.Optional(JobListState),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$|^1000$' })),
  },
  { additionalProperties: false },
);

export function registerConsoleRoutes(
  app: LancashServer,
  o: { console: ConsoleService; guard: (authorization: string | undefined) => void },
): void {
  const service = o.console;
  const onRequest = async (req: { headers: { authorization?: string | undefined } }) =>
    o.guard(req.headers.authorization);
  app.get(
    OPERATOR_SUMMARY_PATH,
    {
      onRequest,
      schema: {
        summary: 'Operator: reserve at the bank, local money outstanding, value in flight, jobs by state',
        response: { 200: OperatorSummary, ...refusals },
      },
    },
    async () => service.summary(),
  );
  app.get(
    OPERATOR_SERIES_PATH,
    {
      onRequest,
      schema: {
        summary:
          'Operator: the reserve series (reserve against local money outstanding) since `since` (unix ms)',
        querystring: SeriesQuery,
        response: { 200: SeriesAnswer, ...refusals },
      },
    },
    async (req) => service.series(req.query.since === undefined ? 0 : Number(req.query.since)),
  );
  app.get(
    OPERATOR_JOBS_PATH,
    {
      onRequest,
      schema: {
        summary: 'Operator: jobs in a state (or parked), most recently changed first, with reasons',
        querystring: JobsQuery,
        response: { 200: JobsAnswer, ...refusals },
      },
    },
    async (req) =>
      service.jobs(req.query.state, req.query.limit === undefined ? 100 : Number(req.query.limit)),
  );
  app.post(
    OPERATOR_AUDIT_PATH,
    {
      onRequest,
      bodyLimit: 1024,
      schema: {
        summary: 'Operator: run the gateway-side audit (invariant 2, the reserve read from the bank) now',
        response: { 200: AuditAnswer, ...refusals },
      },
    },
    async () => service.audit(),
  );
  app.get(
    OPERATOR_KEYSETS_PATH,
    {
      onRequest,
      schema: {
        summary: 'Operator: the local mint’s keysets, the active one, and the value outstanding under each',
        response: { 200: OperatorKeysets, ...refusals },
      },
    },
    async () => service.keysets(),
  );
  app.post(
    OPERATOR_ROTATE_PATH,
    {
      onRequest,
      bodyLimit: 1024,
      schema: {
        summary: 'Operator: a fresh local keyset signs from now on; the old ones stay redeemable',
        response: { 200: RotateAnswer, ...refusals },
      },
    },
    async () => service.rotate(),
  );
}
