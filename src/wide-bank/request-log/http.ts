/** Controller of the holder's request log: `POST /v1/bank/requests` (an envelope in, a sealed page out). */
import type { LancashServer } from '../../core/http/server.js';
import { BANK_REQUESTS_PATH } from '../../core/protocol/bank.js';
import { registerEnvelopeRoute } from '../envelope-route.js';
import type { RequestLogService } from './service.js';

export function registerRequestLogRoutes(app: LancashServer, o: { service: RequestLogService }): void {
  registerEnvelopeRoute(
    app,
    BANK_REQUESTS_PATH,
    'The sender’s own requests on its account, numbered (bank.requests.list → bank.requests.response)',
    (envelope) => o.service.list(envelope),
  );
}
