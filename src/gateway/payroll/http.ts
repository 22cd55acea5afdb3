/**
 * Controllers of the operator jobs on the LAN listener, behind the operator token (checked before the
 * body is looked at): `POST /v1/gateway/operator/payroll` (JSON) and `POST /v1/gateway/operator/payout`
 * (a `gateway.payout.request` envelope). Both answer the job's status; its progress is then at
 * `GET /v1/gateway/transfers/{id}` and in the per-terminal history.
 */
import { EnvelopeSchema, MAX_CT_CHARS } from '../../core/envelope/index.js';
import { type LancashServer, WireErrorSchema } from '../../core/http/server.js';
import { OperatorJobStatus, PAYOUT_PATH, PAYROLL_PATH, PayrollRequest } from '../../core/protocol/gateway.js';
import type { PayrollService } from './service.js';

/** An envelope's JSON: `ct` at its largest plus the header fields. */
const ENVELOPE_BODY_LIMIT = MAX_CT_CHARS + 4096;
const PAYROLL_BODY_LIMIT = 4096;

export function registerPayrollRoutes(
  app: LancashServer,
  o: { payroll: PayrollService; guard: (authorization: string | undefined) => void },
): void {
  const guard = async (req: { headers: { authorization?: string | undefined } }) =>
    o.guard(req.headers.authorization);
  app.post(
    PAYROLL_PATH,
    {
      onRequest: guard,
      bodyLimit: PAYROLL_BODY_LIMIT,
      schema: {
        summary:
          'Operator: issue local money to a LAN address against a deposit into the reserve (once per ref)',
        body: PayrollRequest,
        response: { 200: OperatorJobStatus, '4xx': WireErrorSchema },
      },
    },
    async (req) => o.payroll.payroll(req.body),
  );
  app.post(
    PAYOUT_PATH,
    {
      onRequest: guard,
      bodyLimit: ENVELOPE_BODY_LIMIT,
      schema: {
        summary:
          'Operator: pay local notes out of the reserve to the outside (gateway.payout.request, once per ref)',
        body: EnvelopeSchema,
        response: { 200: OperatorJobStatus, '4xx': WireErrorSchema },
      },
    },
    async (req) => o.payroll.payout(req.body),
  );
}
