/**
 * A holder's own requests on its account (docs/wide-bank.md, "The reserve"), made for the gateway's
 * reserve but open to any holder:
 *   - **claim** an operator's deposit: the deposit `ref` of `amount` into the holder's account exists
 *     and is claimed at most once. The claim moves no money (the deposit already did); it is the
 *     holder's proof that this deposit is now spoken for (the gateway issues local money against it);
 *   - **withdraw** to the outside: holder → funding, covered by the balance (the gateway's payout).
 * Each is ONE transaction keyed by (holder key, ref): the request row with the sealed answer holding a
 * signed `ReserveReceipt`, and for a withdrawal the posting. A replay answers the same bytes; a
 * refusal stores nothing, so the same ref may be tried again once the cause is gone.
 */
import { bytesToHex } from '../../core/bytes.js';
import { openJson, sealJson } from '../../core/envelope/index.js';
import { fail } from '../../core/errors.js';
import { fault } from '../../core/faults.js';
import {
  BANK_BALANCE_REQUEST,
  BANK_BALANCE_RESPONSE,
  BANK_DEPOSIT_CLAIM_REQUEST,
  BANK_DEPOSIT_CLAIM_RESPONSE,
  BANK_WITHDRAW_REQUEST,
  BANK_WITHDRAW_RESPONSE,
  type BalanceAnswer,
  BalanceQuery,
  type ReserveKind,
  ReserveRequest,
} from '../../core/protocol/bank.js';
import { decode } from '../../core/protocol/cashu.js';
import type { BankKeys } from '../keys.js';
import { accountByHolderKey } from '../ledger/repository.js';
import { type Ledger, type RequestKey, requestHash, type Trx } from '../ledger/service.js';
import { lastSeq } from '../request-log/repository.js';
import { logRequest } from '../request-log/service.js';
import * as repo from './repository.js';

export interface ReserveServiceOptions {
  ledger: Ledger;
  keys: BankKeys;
  /** The deployment's Cashu unit, named in receipts. */
  unit: string;
  clock?: () => number;
  /** Called once per newly committed request (metrics). */
  onCommitted?: (kind: ReserveKind, amount: number) => void;
}

/** Request keys in `bank_requests`; the gateway's audit joins its journal on them. */
export function reserveRequestKey(kind: ReserveKind, holderKey: string, ref: string): string {
  // `payout`, not `withdraw`: the operator's own withdrawals are keyed `withdraw:<ref>`.
  return `${kind === 'claim' ? 'claim' : 'payout'}:${holderKey}:${ref}`;
}

const TYPES = {
  claim: { request: BANK_DEPOSIT_CLAIM_REQUEST, response: BANK_DEPOSIT_CLAIM_RESPONSE },
  withdraw: { request: BANK_WITHDRAW_REQUEST, response: BANK_WITHDRAW_RESPONSE },
} as const;

export class ReserveService {
  private readonly clock: () => number;

  constructor(private readonly o: ReserveServiceOptions) {
    this.clock = o.clock ?? Date.now;
  }

  /** `POST /v1/bank/deposits/claim`: one envelope in, the sealed answer (JSON text) out. */
  claim(envelope: unknown): Promise<string> {
    return this.handle('claim', envelope, async (account, req) => {
      const deposited = await repo.depositInto(this.o.ledger.store.db, account, req.ref);
      if (deposited === undefined) {
        fail('NotFound', { what: 'deposit', id: req.ref }, `no deposit ${req.ref} into account ${account}`);
      }
      if (deposited !== req.amount) {
        fail(
          'InvalidAmount',
          {
            argument: 'amount',
            expected: `${deposited}, the deposit's amount`,
            received: String(req.amount),
          },
          `deposit ${req.ref} is ${deposited}, the claim asks ${req.amount}`,
        );
      }
      // The deposit already credited the account: the request row alone records the claim.
      return async () => {};
    });
  }

  /** `POST /v1/bank/withdraw`: one envelope in, the sealed answer (JSON text) out. */
  withdraw(envelope: unknown): Promise<string> {
    return this.handle('withdraw', envelope, async (account, req, key) => {
      return async (trx) => {
        await this.o.ledger.postWithdraw(trx, account, req.amount, key);
      };
    });
  }

  /**
   * `POST /v1/bank/balance`: the sender's balance and its request log's `last`, read in one
   * transaction (so an audit that pages the log up to `last` sees the same moment); sealed back to it.
   */
  async balance(envelope: unknown): Promise<string> {
    const { ledger, keys } = this.o;
    const opened = await openJson({
      envelope,
      recipient: keys.encryption,
      expectedType: BANK_BALANCE_REQUEST,
    });
    decode(BalanceQuery, opened.payload, 'payload');
    const holderKey = bytesToHex(opened.sender);
    const account = await ledger.accountOfHolder(holderKey);
    const payload: BalanceAnswer = await ledger.store.transaction(async (trx) => {
      const row = await accountByHolderKey(trx, holderKey);
      return {
        account: account.id,
        balance: Number(row?.balance ?? 0),
        last: await lastSeq(trx, account.id),
        at: this.clock(),
      };
    });
    const sealed = await sealJson({
      type: BANK_BALANCE_RESPONSE,
      transferId: opened.transferId,
      sender: keys.encryption,
      recipient: opened.sender,
      payload,
    });
    return JSON.stringify(sealed);
  }

  /**
   * The shape both requests share: open (HPKE auth mode proves the holder key), find the account,
   * answer a stored answer, else check (`prepare`, which returns the posting to write) and commit the
   * request row with the posting in one transaction.
   */
  private async handle(
    kind: ReserveKind,
    envelope: unknown,
    prepare: (account: string, req: ReserveRequest, key: string) => Promise<(trx: Trx) => Promise<void>>,
  ): Promise<string> {
    const { ledger, keys } = this.o;
    const opened = await openJson({
      envelope,
      recipient: keys.encryption,
      expectedType: TYPES[kind].request,
    });
    const holderKey = bytesToHex(opened.sender);
    const req = decode(ReserveRequest, opened.payload, 'payload');
    const account = await ledger.accountIdOfHolder(holderKey);
    const r: RequestKey = {
      key: reserveRequestKey(kind, holderKey, req.ref),
      kind: kind === 'claim' ? 'claim' : 'payout',
      account,
      requestHash: requestHash([kind, account, req.ref, req.amount]),
    };
    const answer = await ledger.settle(r, async () => {
      const apply = await prepare(account, req, r.key);
      const receipt = keys.signReserveReceipt({
        v: 1,
        kind,
        account: holderKey,
        ref: req.ref,
        amount: req.amount,
        unit: this.o.unit,
        at: this.clock(),
      });
      const sealed = await sealJson({
        type: TYPES[kind].response,
        transferId: opened.transferId,
        sender: keys.encryption,
        recipient: opened.sender,
        payload: { receipt },
      });
      const text = JSON.stringify(sealed);
      const stored = await ledger.once(r, text, async (trx) => {
        await apply(trx);
        const logged = { key: r.key, kind: r.kind as 'claim' | 'payout', ref: req.ref, amount: req.amount };
        await logRequest(
          trx,
          ledger.store.dialect,
          { ...logged, account, recovery: req.recovery },
          this.clock(),
        );
      });
      if (stored === text) this.o.onCommitted?.(kind, req.amount);
      return stored;
    });
    fault(`wide-bank:${kind}:after-commit`);
    return answer;
  }
}
