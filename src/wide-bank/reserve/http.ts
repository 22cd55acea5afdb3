/**
 * Controllers of the holder's reserve requests: `POST /v1/bank/deposits/claim` and
 * `POST /v1/bank/withdraw` (an envelope in, a sealed receipt out, byte-identical on a replay), and
 * `POST /v1/bank/balance` (the holder's balance, sealed back to it).
 */
import type { LancashServer } from '../../core/http/server.js';
import { BANK_BALANCE_PATH, BANK_DEPOSIT_CLAIM_PATH, BANK_WITHDRAW_PATH } from '../../core/protocol/bank.js';
import { registerEnvelopeRoute } from '../envelope-route.js';
import { ReserveService, type ReserveServiceOptions } from './service.js';

export function registerReserveRoutes(app: LancashServer, o: ReserveServiceOptions): ReserveService {
  const service = new ReserveService(o);
  registerEnvelopeRoute(
    app,
    BANK_DEPOSIT_CLAIM_PATH,
    'Claim an operator’s deposit into the sender’s account, once per ref (bank.deposit.claim.request → a signed reserve receipt)',
    (envelope) => service.claim(envelope),
  );
  registerEnvelopeRoute(
    app,
    BANK_WITHDRAW_PATH,
    'Withdraw from the sender’s account to the outside, once per ref (bank.withdraw.request → a signed reserve receipt)',
    (envelope) => service.withdraw(envelope),
  );
  registerEnvelopeRoute(
    app,
    BANK_BALANCE_PATH,
    'The sender’s account balance and request-log position (bank.balance.request → bank.balance.response)',
    (envelope) => service.balance(envelope),
  );
  return service;
}
