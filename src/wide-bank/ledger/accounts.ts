/**
 * Holder-authenticated account opening (`POST /v1/bank/accounts/open`): a holder proves its key by
 * sealing an empty `bank.account.open` envelope from it, and the bank opens the account bound to that
 * key, or answers the one already open. It creates no money (a new account holds 0), so anyone with a
 * key pair may open one; the gateway opens its reserve account this way at start-up.
 */
import { bytesToHex } from '../../core/bytes.js';
import { openJson } from '../../core/envelope/index.js';
import { BANK_ACCOUNT_OPEN, OpenAccountRequest, type OpenAccountResponse } from '../../core/protocol/bank.js';
import { decode } from '../../core/protocol/cashu.js';
import type { BankKeys } from '../keys.js';
import type { Ledger } from './service.js';

export class AccountsService {
  constructor(private readonly o: { ledger: Ledger; keys: BankKeys }) {}

  /** Opens (or finds) the account of the envelope's sender key. Idempotent: a replay changes nothing. */
  async open(envelope: unknown): Promise<OpenAccountResponse> {
    // HPKE auth mode proves the sender holds the key the account is bound to.
    const opened = await openJson({
      envelope,
      recipient: this.o.keys.encryption,
      expectedType: BANK_ACCOUNT_OPEN,
    });
    decode(OpenAccountRequest, opened.payload, 'payload');
    const account = await this.o.ledger.openAccount(opened.sender);
    return { account: account.id, holderKey: bytesToHex(opened.sender), created: account.created };
  }
}
