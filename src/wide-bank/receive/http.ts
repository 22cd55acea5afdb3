/** Controller of the receiving server: `POST /v1/bank/receive` (notes in an envelope, a sealed receipt out). */
import type { LancashServer } from '../../core/http/server.js';
import { BANK_RECEIVE_PATH } from '../../core/protocol/bank.js';
import { registerEnvelopeRoute } from '../envelope-route.js';
import type { ReceiveService } from './service.js';

export function registerReceiveRoutes(app: LancashServer, o: { service: ReceiveService }): void {
  registerEnvelopeRoute(
    app,
    BANK_RECEIVE_PATH,
    'Receive wide notes into an account (envelope bank.receive.request → bank.receive.response with a signed receipt)',
    (envelope) => o.service.receive(envelope),
  );
}
