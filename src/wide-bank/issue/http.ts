/** Controller of the issue server: `POST /v1/bank/issue` (an envelope in, a sealed answer out). */
import type { LancashServer } from '../../core/http/server.js';
import { BANK_ISSUE_PATH } from '../../core/protocol/bank.js';
import { registerEnvelopeRoute } from '../envelope-route.js';
import type { IssueService } from './service.js';

export function registerIssueRoutes(app: LancashServer, o: { service: IssueService }): void {
  registerEnvelopeRoute(
    app,
    BANK_ISSUE_PATH,
    'Issue wide notes against the sender’s account (envelope bank.issue.request → bank.issue.response)',
    (envelope) => o.service.issue(envelope),
  );
}
