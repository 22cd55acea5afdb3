/**
 * The holder's request log (docs/wide-bank.md, "The request log"): every issue, receive into its own
 * account, deposit claim and payout a holder made is numbered in the same transaction as its effect,
 * with the recovery record the holder sealed to itself; `POST /v1/bank/requests` lists them to the
 * holder only (the request is an envelope from the holder's key, the answer is sealed back to it). The
 * gateway compares its journal with it at start-up, so a journal restored from an older copy, or a
 * bank database that lost requests, is found before any money moves again.
 */
import { bytesToHex } from '../../core/bytes.js';
import { MAX_ENVELOPE_PAYLOAD, openJson, sealJson } from '../../core/envelope/index.js';
import { fail } from '../../core/errors.js';
import {
  BANK_REQUESTS_LIST,
  BANK_REQUESTS_RESPONSE,
  type RequestLogEntry,
  RequestLogQuery,
} from '../../core/protocol/bank.js';
import { decode } from '../../core/protocol/cashu.js';
import type { DialectName } from '../../store/index.js';
import type { BankKeys } from '../keys.js';
import type { Ledger, Trx } from '../ledger/service.js';
import * as repo from './repository.js';

/** What a request writes to the log; `recovery` as the holder sent it (an envelope), if it did. */
export interface LoggedRequest {
  account: string;
  key: string;
  kind: repo.LogRow['kind'];
  ref: string;
  amount: number;
  recovery: unknown;
}

/** `r` as its log line (`PostOptions.log`: the ledger writes it with the account's posting). */
export function logLine(r: LoggedRequest, now: number): repo.NewLogRow {
  return {
    account_id: r.account,
    key: r.key,
    kind: r.kind,
    ref: r.ref,
    amount: r.amount,
    recovery: r.recovery === undefined ? null : JSON.stringify(r.recovery),
    created_at: now,
  };
}

/** Appends `r` to its account's log inside the request's transaction, with no posting of its own. */
export async function logRequest(
  trx: Trx,
  dialect: DialectName,
  r: LoggedRequest,
  now: number,
): Promise<void> {
  if (!(await repo.moveAndAppend(trx, dialect, logLine(r, now), 0, false))) {
    fail('AccountUnknown', { account: r.account }, `no account ${r.account}`);
  }
}

/** A page with recovery records stays well inside one answer envelope. */
const PAGE_BYTES = Math.floor(MAX_ENVELOPE_PAYLOAD / 2);
/** Rows one page with recovery records reads at most (≤ 16 × MAX_RECOVERY_CHARS, 6 MiB). */
const RECOVERY_PAGE = 16;

export class RequestLogService {
  constructor(private readonly o: { ledger: Ledger; keys: BankKeys }) {}

  /** `POST /v1/bank/requests`: one envelope from the holder in, a sealed page (JSON text) out. */
  async list(envelope: unknown): Promise<string> {
    const { ledger, keys } = this.o;
    const opened = await openJson({ envelope, recipient: keys.encryption, expectedType: BANK_REQUESTS_LIST });
    const q = decode(RequestLogQuery, opened.payload, 'payload');
    const account = await ledger.accountIdOfHolder(bytesToHex(opened.sender));
    const withRecovery = q.recovery === true;
    // `last` first: a request that commits meanwhile is then beyond it, never counted but unlisted.
    const last = await repo.lastSeq(ledger.store.db, account);
    // Records are up to MAX_RECOVERY_CHARS each: a page with them reads a few at a time, never 1000.
    const limit = withRecovery ? Math.min(q.limit, RECOVERY_PAGE) : q.limit;
    const rows = await repo.page(ledger.store.db, account, q.after, limit, withRecovery);
    const requests: RequestLogEntry[] = [];
    let bytes = 0;
    for (const r of rows) {
      if (r.seq > last) break;
      const entry: RequestLogEntry = {
        seq: r.seq,
        kind: r.kind,
        ref: r.ref,
        amount: r.amount,
        at: r.created_at,
        ...(r.recovery !== null ? { recovery: JSON.parse(r.recovery) as RequestLogEntry['recovery'] } : {}),
      };
      bytes += (r.recovery?.length ?? 0) + 200;
      if (requests.length > 0 && bytes > PAGE_BYTES) break;
      requests.push(entry);
    }
    const sealed = await sealJson({
      type: BANK_REQUESTS_RESPONSE,
      transferId: opened.transferId,
      sender: keys.encryption,
      recipient: opened.sender,
      payload: { requests, last },
    });
    return JSON.stringify(sealed);
  }
}
