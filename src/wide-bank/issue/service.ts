/**
 * The issue server (docs/design.md §4): an account holder sends an envelope asking for wide notes worth N with
 * blinded outputs; the bank debits N and blind-signs in ONE transaction and answers in an envelope
 * sealed to the holder. The idempotency key is (holder key, envelope transfer id): the same key
 * returns the byte-identical stored answer forever, also after a restart; the same key with another
 * request is refused (409).
 */
import { bytesToHex } from '../../core/bytes.js';
import { openJson, sealJson } from '../../core/envelope/index.js';
import { fail } from '../../core/errors.js';
import { fault } from '../../core/faults.js';
import {
  BANK_ISSUE_REQUEST,
  BANK_ISSUE_RESPONSE,
  type IssueRequest,
  IssueRequest as IssueRequestSchema,
} from '../../core/protocol/bank.js';
import { decode } from '../../core/protocol/cashu.js';
import { traceStart, traceStep } from '../../core/step-trace.js';
import type { Mint } from '../../mint/mint.js';
import type { BankKeys } from '../keys.js';
import { issuePostings, type Ledger, type RequestKey, requestHash } from '../ledger/service.js';
import { logLine } from '../request-log/service.js';

export interface IssueServiceOptions {
  mint: Mint;
  ledger: Ledger;
  keys: BankKeys;
  /** Called once per newly committed issue (metrics). */
  onIssued?: (amount: number) => void;
}

export class IssueService {
  constructor(private readonly o: IssueServiceOptions) {}

  /**
   * Handles one issue request envelope; returns the sealed answer as the JSON text to send. Refusals
   * (unknown holder, bad envelope, short balance, bad outputs) throw and change nothing.
   */
  async issue(envelope: unknown): Promise<string> {
    const { mint, ledger, keys } = this.o;
    const arrived = traceStart();
    // Auth mode proves the sender key, so the account is the one opened for that key.
    const opened = await openJson({ envelope, recipient: keys.encryption, expectedType: BANK_ISSUE_REQUEST });
    traceStep(opened.transferId, 'bank.in', arrived);
    traceStep(opened.transferId, 'bank.opened');
    const holder = bytesToHex(opened.sender);
    const account = await ledger.accountIdOfHolder(holder);
    const req = decode(IssueRequestSchema, opened.payload, 'payload');
    const r: RequestKey = {
      key: `issue:${holder}:${opened.transferId}`,
      kind: 'issue',
      account,
      requestHash: requestHash(canonical(req)),
    };
    const run = async (): Promise<string> => {
      // No balance check before signing: the conditional debit inside the transaction is the guard.
      // A holder's outputs journaled before a rotation (a gateway's job 1) are still signed by their
      // keyset until it is retired, so no job is refused for a rotation it did not see (docs/mint.md).
      const prepared = await mint.prepareOutputs(req.outputs, { signInactive: true });
      traceStep(opened.transferId, 'bank.crypto');
      if (prepared.amount !== req.amount) {
        fail(
          'TransactionUnbalanced',
          { inputs: req.amount, outputs: prepared.amount, fees: 0 },
          `outputs total ${prepared.amount}, the request asks for ${req.amount}`,
        );
      }
      const sealed = await sealJson({
        type: BANK_ISSUE_RESPONSE,
        transferId: opened.transferId,
        sender: keys.encryption,
        recipient: opened.sender,
        payload: { signatures: prepared.signatures },
      });
      const text = JSON.stringify(sealed);
      traceStep(opened.transferId, 'bank.sealed');
      const logged = { key: r.key, kind: 'issue', ref: opened.transferId, amount: req.amount } as const;
      // Logged with the debit of the account's row, before the rows all postings share are taken.
      const postings = issuePostings(account, req.amount, r.key, {
        log: logLine({ ...logged, account, recovery: req.recovery }, Date.now()),
      });
      const stored = await ledger.onceWith(r, text, mint.outputsWrite(prepared, r.key), postings);
      if (stored === text) this.o.onIssued?.(req.amount);
      return stored;
    };
    // A repeat's outputs are all signed, so `prepareOutputs`' early read refuses it before any signing,
    // and only then is the stored answer read. A different request under a used key is signed before
    // its conflict (72001) is found: only the account's holder can send one, who can make the bank sign
    // without paying by asking beyond the balance too (the debit is the guard).
    const answer = await ledger.settle(r, run, { repeatRefusedEarly: true });
    fault('wide-bank:issue:after-commit');
    traceStep(opened.transferId, 'bank.committed');
    return answer;
  }
}

/** The request as it is hashed: the outputs in order, hex lowercased (the mint treats case alike). */
function canonical(req: IssueRequest): unknown {
  return [
    BANK_ISSUE_REQUEST,
    req.amount,
    req.outputs.map((o) => [o.amount, o.id.toLowerCase(), o.B_.toLowerCase()]),
  ];
}
