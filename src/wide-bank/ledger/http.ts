/** Controller of holder-authenticated account opening: `POST /v1/bank/accounts/open` (an envelope in, JSON out). */
import { EnvelopeSchema } from '../../core/envelope/index.js';
import { type LancashServer, WireErrorSchema } from '../../core/http/server.js';
import { BANK_ACCOUNT_OPEN_PATH, OpenAccountResponse } from '../../core/protocol/bank.js';
import type { AccountsService } from './accounts.js';

/** An empty payload's envelope is a few hundred bytes. */
const BODY_LIMIT = 4096;

export function registerAccountRoutes(app: LancashServer, o: { service: AccountsService }): void {
  app.post(
    BANK_ACCOUNT_OPEN_PATH,
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        summary: 'Open the account of the envelope’s sender key (bank.account.open), or find the open one',
        body: EnvelopeSchema,
        response: { 200: OpenAccountResponse, '4xx': WireErrorSchema },
      },
    },
    async (req) => o.service.open(req.body),
  );
}
