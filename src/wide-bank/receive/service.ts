/**
 * The receiving server (docs/design.md §4): takes an envelope holding wide notes and the account to credit,
 * verifies the notes, marks them spent and credits the account in ONE transaction, and answers with a
 * receipt signed by the bank's receipt key (the patent's acknowledgement), sealed to the sender. The
 * idempotency key is (sender key, envelope transfer id): a replay returns the same sealed receipt. A
 * note already spent is refused naming the notes (11001 with their `Y`s); nothing is credited. The
 * credit is the notes' value less their NUT-02 input fee, which the bank keeps (docs/wide-bank.md, "Fees").
 */
import { bytesToHex } from '../../core/bytes.js';
import { openJson, sealJson } from '../../core/envelope/index.js';
import { fault } from '../../core/faults.js';
import { amountAfterFee } from '../../core/fees.js';
import {
  BANK_RECEIVE_REQUEST,
  BANK_RECEIVE_RESPONSE,
  type ReceiveRequest,
  ReceiveRequest as ReceiveRequestSchema,
} from '../../core/protocol/bank.js';
import { decode } from '../../core/protocol/cashu.js';
import { traceStart, traceStep } from '../../core/step-trace.js';
import type { Mint } from '../../mint/mint.js';
import type { BankKeys } from '../keys.js';
import { type Ledger, type RequestKey, receivePostings, requestHash } from '../ledger/service.js';
import { logLine } from '../request-log/service.js';

export interface ReceiveServiceOptions {
  mint: Mint;
  ledger: Ledger;
  keys: BankKeys;
  clock?: () => number;
  /** Called once per newly committed receive (metrics). */
  onReceived?: (amount: number) => void;
}

export class ReceiveService {
  private readonly clock: () => number;

  constructor(private readonly o: ReceiveServiceOptions) {
    this.clock = o.clock ?? Date.now;
  }

  /** Handles one receive request envelope; returns the sealed answer (holding the receipt) as JSON text. */
  async receive(envelope: unknown): Promise<string> {
    const { mint, ledger, keys } = this.o;
    const arrived = traceStart();
    // Anyone holding notes may pay them into an account; the sender key only addresses the answer.
    const opened = await openJson({
      envelope,
      recipient: keys.encryption,
      expectedType: BANK_RECEIVE_REQUEST,
    });
    traceStep(opened.transferId, 'bank.in', arrived);
    traceStep(opened.transferId, 'bank.opened');
    const sender = bytesToHex(opened.sender);
    const req = decode(ReceiveRequestSchema, opened.payload, 'payload');
    const account = await ledger.accountIdOfHolder(req.account);
    const r: RequestKey = {
      key: `receive:${sender}:${opened.transferId}`,
      kind: 'receive',
      account,
      requestHash: requestHash(canonical(req)),
    };
    const answer = await ledger.settle(r, async () => {
      const prepared = await mint.prepareInputs(req.proofs);
      traceStep(opened.transferId, 'bank.crypto');
      // NUT-02: the account is credited the notes' value less their input fee, which the bank keeps
      // (booked to funding); the receipt states the credit (docs/wide-bank.md, "Fees").
      const credit = amountAfterFee(prepared.amount, prepared.fee);
      const receipt = keys.signReceipt({
        v: 1,
        transferId: opened.transferId,
        account: req.account,
        amount: credit,
        unit: prepared.unit,
        Ys: [...prepared.Ys],
        receivedAt: this.clock(),
      });
      const sealed = await sealJson({
        type: BANK_RECEIVE_RESPONSE,
        transferId: opened.transferId,
        sender: keys.encryption,
        recipient: opened.sender,
        payload: { receipt },
      });
      const text = JSON.stringify(sealed);
      traceStep(opened.transferId, 'bank.sealed');
      // The holder's own receive (the gateway's job 2) is in its request log; a stranger's payment is
      // not. Logged with the credit of the account's row, before the rows all postings share.
      const logged = { key: r.key, kind: 'receive', ref: opened.transferId, amount: credit } as const;
      const postings = receivePostings(account, credit, r.key, {
        fee: prepared.fee,
        ...(sender === req.account
          ? { log: logLine({ ...logged, account, recovery: req.recovery }, this.clock()) }
          : {}),
      });
      const stored = await ledger.onceWith(r, text, mint.inputsWrite(prepared, r.key, 'spent'), postings);
      if (stored === text) this.o.onReceived?.(credit);
      return stored;
    });
    fault('wide-bank:receive:after-commit');
    traceStep(opened.transferId, 'bank.committed');
    return answer;
  }
}

/** The request as it is hashed: account and notes in order (a note is its keyset, amount, secret and C). */
function canonical(req: ReceiveRequest): unknown {
  return [
    BANK_RECEIVE_REQUEST,
    req.account,
    req.proofs.map((p) => [p.amount, p.id.toLowerCase(), p.secret, p.C.toLowerCase(), p.witness ?? null]),
  ];
}
