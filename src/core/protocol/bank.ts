/**
 * The wide bank's own protocol (docs/design.md §4), shared by the bank and its callers (the gateway): the
 * payloads that travel inside envelopes to the issue server and the receiving server, the signed
 * receipt (the patent's acknowledgement) with its offline check, `GET /v1/bank/info`, and thin typed
 * client calls. Depends on core only, never on the bank's internals.
 *
 * Outcomes of the client calls follow `core/http/client.ts`: a 4xx is a proven refusal (the bank did
 * nothing); anything else that is not a good, authenticated answer is an `UnclearOutcome`: retry with
 * the same transfer id, which the bank answers with its first answer.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { bytesToHex, hex, utf8 } from '../bytes.js';
import {
  type EncryptionKeyPair,
  type Envelope,
  EnvelopeSchema,
  envelopeJson,
  openJson,
  sealJson,
  TransferId,
} from '../envelope/index.js';
import { isLancashError } from '../errors.js';
import { call, UnclearOutcome } from '../http/client.js';
import { MAX_TOTAL, sum } from '../money.js';
import { BlindedMessage, BlindSignature, decode, PointHex, Proof } from './cashu.js';
import { ed25519Backend } from './ed25519.js';

/** Envelope types (the `type` header, bound into the AAD). */
export const BANK_ISSUE_REQUEST = 'bank.issue.request';
export const BANK_ISSUE_RESPONSE = 'bank.issue.response';
export const BANK_RECEIVE_REQUEST = 'bank.receive.request';
export const BANK_RECEIVE_RESPONSE = 'bank.receive.response';
export const BANK_ACCOUNT_OPEN = 'bank.account.open';

export const BANK_ISSUE_PATH = '/v1/bank/issue';
export const BANK_RECEIVE_PATH = '/v1/bank/receive';
export const BANK_INFO_PATH = '/v1/bank/info';
export const BANK_ACCOUNT_OPEN_PATH = '/v1/bank/accounts/open';

/** A 32-byte public key (X25519 or Ed25519) as lowercase hex. */
export const PublicKeyHex = Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]+$' });
/** An amount of a request or a receipt: 1 … `MAX_TOTAL` minor units. */
const RequestAmount = Type.Integer({ minimum: 1, maximum: MAX_TOTAL });

/**
 * Longest recovery record the bank keeps (its ciphertext, base64url): any holder may attach one to
 * every request, so it is bounded well below an envelope, and a page of the log always has room
 * for one. The gateway's records of ordinary conversions are a few KB; one that does not fit is
 * left out (`sealRecovery`), and that job is repaired by hand.
 */
export const MAX_RECOVERY_CHARS = 384 * 1024;

/** An envelope whose ciphertext is at most `MAX_RECOVERY_CHARS`. */
function recoverySchema() {
  const { ct, ...rest } = EnvelopeSchema.properties;
  return Type.Object(
    { ...rest, ct: Type.String({ ...ct, maxLength: MAX_RECOVERY_CHARS }) },
    { additionalProperties: false },
  );
}

/**
 * An envelope the holder sealed to itself, riding along with a request on its own account. The bank
 * keeps it in the request log exactly as it came and gives it back to the holder (`/v1/bank/requests`);
 * it cannot open it. The gateway puts there what it needs to rebuild the job if its journal is lost
 * (docs/gateway.md, "Reconciling with the bank"). Not part of the request's hash: a retry may carry a
 * fresh seal of the same record.
 */
const Recovery = Type.Optional(recoverySchema());

/** Inside `bank.issue.request`: wide notes worth `amount`, to be signed against the sender's account. */
export const IssueRequest = Type.Object(
  { amount: RequestAmount, outputs: Type.Array(BlindedMessage), recovery: Recovery },
  { additionalProperties: false },
);
export type IssueRequest = Static<typeof IssueRequest>;

/** Inside `bank.issue.response`: NUT-00 signatures with NUT-12 DLEQ proofs, in output order. */
export const IssueResponse = Type.Object({ signatures: Type.Array(BlindSignature) });
export type IssueResponse = Static<typeof IssueResponse>;

/** Inside `bank.receive.request`: wide notes, and the holder key of the account to credit. */
export const ReceiveRequest = Type.Object(
  { proofs: Type.Array(Proof), account: PublicKeyHex, recovery: Recovery },
  { additionalProperties: false },
);
export type ReceiveRequest = Static<typeof ReceiveRequest>;

/** A receipt's signed fields. `Ys` name the notes received (NUT-07 identities), in request order. */
export const ReceiptFields = Type.Object({
  v: Type.Literal(1),
  transferId: TransferId,
  account: PublicKeyHex,
  amount: RequestAmount,
  unit: Type.String({ minLength: 1, maxLength: 32 }),
  Ys: Type.Array(PointHex, { minItems: 1 }),
  /** Unix milliseconds. */
  receivedAt: Type.Integer({ minimum: 0 }),
});
export type ReceiptFields = Static<typeof ReceiptFields>;

/** An Ed25519 signature (hex) of the bank's receipt key. */
const Signature = Type.Object({
  signature: Type.String({ minLength: 128, maxLength: 128, pattern: '^[0-9a-f]+$' }),
});

/** The receiving server's acknowledgement: the fields plus an Ed25519 signature (hex) over `receiptMessage`. */
export const Receipt = Type.Composite([ReceiptFields, Signature]);
export type Receipt = Static<typeof Receipt>;

/** Inside `bank.receive.response`. */
export const ReceiveResponse = Type.Object({ receipt: Receipt });
export type ReceiveResponse = Static<typeof ReceiveResponse>;

/** Inside `bank.account.open`: nothing; the envelope's sender key is the holder key to open an account for. */
export const OpenAccountRequest = Type.Object({}, { additionalProperties: false });

/** The answer to `POST /v1/bank/accounts/open` (plain JSON: it holds no secret). */
export const OpenAccountResponse = Type.Object({
  /** The account id (`acct_…`). */
  account: Type.String({ minLength: 1, maxLength: 64 }),
  holderKey: PublicKeyHex,
  /** False when the account was open already. */
  created: Type.Boolean(),
});
export type OpenAccountResponse = Static<typeof OpenAccountResponse>;

export const BankRole = Type.Union([Type.Literal('issue'), Type.Literal('receive')]);
export type BankRole = Static<typeof BankRole>;

/** `GET /v1/bank/info`: the keys a holder seals to and verifies receipts with. */
export const BankInfo = Type.Object({
  /** X25519: requests are sealed to it, answers are sealed from it. */
  encryptionKey: PublicKeyHex,
  /** Ed25519: receipts are signed with it. */
  receiptKey: PublicKeyHex,
  /** e.g. `EUR`. */
  currency: Type.String({ minLength: 1, maxLength: 16 }),
  /** The Cashu unit of the notes, e.g. `eur`. */
  unit: Type.String({ minLength: 1, maxLength: 32 }),
  roles: Type.Array(BankRole),
});
export type BankInfo = Static<typeof BankInfo>;

/** How one kind of signed record is signed and checked (note receipts, reserve receipts). */
interface SignedRecord<F, R> {
  /** The bytes the signature covers. */
  message(r: F): Uint8Array;
  /** Signs the fields (checked against their schema) with the bank's Ed25519 receipt secret key. */
  sign(fields: F, secretKey: Uint8Array): R;
  /** Offline check against `BankInfo.receiptKey`: true only for the right shape and a good signature; never throws. */
  verify(receipt: unknown, receiptKey: Uint8Array | string): boolean;
}

/**
 * A signed record with its own domain-separation `label`, so its signature can never pass for one over
 * anything else. The message is the label, then the fields as a JSON array in `order`: an array has no
 * key order to disagree on, and JSON string escaping keeps fields apart.
 */
function signedRecord<FS extends TObject, RS extends TSchema>(
  label: string,
  Fields: FS,
  Signed: RS,
  order: readonly (keyof Static<FS> & string)[],
): SignedRecord<Static<FS>, Static<RS>> {
  const message = (r: Static<FS>): Uint8Array => utf8(label + JSON.stringify(order.map((k) => r[k])));
  return {
    message,
    sign(fields, secretKey) {
      const f = decode(Fields, fields, 'receipt');
      // Only the signed fields, in their order, then the signature: nothing unsigned rides along.
      const signed = Object.fromEntries(order.map((k) => [k, f[k]]));
      return { ...signed, signature: bytesToHex(ed25519Backend().sign(message(f), secretKey)) } as Static<RS>;
    },
    verify(receipt, receiptKey) {
      try {
        const r = decode(Signed, receipt, 'receipt') as Static<FS> & { signature: string };
        const key = typeof receiptKey === 'string' ? hex(receiptKey, 'receiptKey', 32) : receiptKey;
        return ed25519Backend().verify(hex(r.signature, 'signature', 64), message(r), key);
      } catch {
        // A malformed receipt, key or signature is simply not a valid receipt.
        return false;
      }
    },
  };
}

const noteReceipt = signedRecord('lancash-receipt-v1\n', ReceiptFields, Receipt, [
  'v',
  'transferId',
  'account',
  'amount',
  'unit',
  'Ys',
  'receivedAt',
]);

/** The bytes a receipt signature covers. */
export const receiptMessage = noteReceipt.message;
/** Signs a receipt with the receiving server's Ed25519 secret key (32 bytes). */
export const signReceipt = noteReceipt.sign;
/** Offline check of a receipt against the bank's published receipt key (`BankInfo.receiptKey`). */
export const verifyReceipt = noteReceipt.verify;

/** Where the bank is and the keys it published (from `getBankInfo`, or configured). */
export interface BankPeer {
  base: string;
  /** The bank's X25519 public key. */
  encryptionKey: Uint8Array;
  /** The bank's Ed25519 receipt key; required to receive. */
  receiptKey?: Uint8Array;
  timeoutMs?: number;
}

export interface IssueCall {
  bank: BankPeer;
  /** The account holder's key pair; the account is the one opened for its public key. */
  holder: EncryptionKeyPair;
  /** Unique per request; it is the idempotency key: a retry must reuse it with the same request. */
  transferId: string;
  amount: number;
  outputs: BlindedMessage[];
  /** Sealed by the holder to itself; kept in the bank's request log (see `Recovery`). */
  recovery?: Envelope;
}

/** Asks the issue server for notes worth `amount`; returns the signatures from the opened answer. */
export async function requestIssue(o: IssueCall): Promise<IssueResponse> {
  const envelope = await sealJson({
    type: BANK_ISSUE_REQUEST,
    transferId: o.transferId,
    sender: o.holder,
    recipient: o.bank.encryptionKey,
    payload: {
      amount: o.amount,
      outputs: o.outputs,
      ...(o.recovery !== undefined ? { recovery: o.recovery } : {}),
    },
  });
  const answer = await post(o.bank, BANK_ISSUE_PATH, envelope);
  const res = await openAnswer(o.bank, o.holder, answer, BANK_ISSUE_RESPONSE, IssueResponse);
  if (res.signatures.length !== o.outputs.length) {
    unclearBody(o.bank, `${res.signatures.length} signatures for ${o.outputs.length} outputs`);
  }
  return res;
}

export interface ReceiveCall {
  bank: BankPeer & { receiptKey: Uint8Array };
  /** Who sends the notes; the answer is sealed back to it. */
  sender: EncryptionKeyPair;
  transferId: string;
  /** Holder key (hex) of the account to credit. */
  account: string;
  proofs: Proof[];
  /** Sealed by the sender to itself; kept in the request log when the sender is the account's holder. */
  recovery?: Envelope;
  /** The credit the receipt must state: the notes' value less their NUT-02 input fee (default: no fee). */
  credit?: number;
}

/** Hands notes to the receiving server; returns its receipt, already verified against `bank.receiptKey`. */
export async function requestReceive(o: ReceiveCall): Promise<Receipt> {
  const envelope = await sealJson({
    type: BANK_RECEIVE_REQUEST,
    transferId: o.transferId,
    sender: o.sender,
    recipient: o.bank.encryptionKey,
    payload: {
      proofs: o.proofs,
      account: o.account,
      ...(o.recovery !== undefined ? { recovery: o.recovery } : {}),
    },
  });
  const answer = await post(o.bank, BANK_RECEIVE_PATH, envelope);
  const { receipt } = await openAnswer(o.bank, o.sender, answer, BANK_RECEIVE_RESPONSE, ReceiveResponse);
  if (!verifyReceipt(receipt, o.bank.receiptKey)) unclearBody(o.bank, 'receipt signature does not verify');
  // The receipt states the credit: the notes' value less the input fee the bank keeps.
  const expected = o.credit ?? sum(o.proofs.map((p) => p.amount));
  if (
    receipt.transferId !== o.transferId ||
    receipt.account !== o.account ||
    receipt.amount !== expected ||
    receipt.Ys.length !== o.proofs.length
  ) {
    unclearBody(o.bank, 'receipt does not match the request');
  }
  return receipt;
}

/**
 * Opens the account of `holder`'s key, or finds the one already open (idempotent). The envelope from
 * the holder's key proves the key is held; its transfer id is a fresh nonce.
 */
export async function requestOpenAccount(o: {
  bank: BankPeer;
  holder: EncryptionKeyPair;
}): Promise<OpenAccountResponse> {
  const envelope = await sealJson({
    type: BANK_ACCOUNT_OPEN,
    transferId: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
    sender: o.holder,
    recipient: o.bank.encryptionKey,
    payload: {},
  });
  return call({
    base: o.bank.base,
    method: 'POST',
    path: BANK_ACCOUNT_OPEN_PATH,
    body: envelope,
    schema: OpenAccountResponse,
    ...(o.bank.timeoutMs !== undefined ? { timeoutMs: o.bank.timeoutMs } : {}),
  });
}

/** `GET /v1/bank/info`. */
export async function getBankInfo(o: { base: string; timeoutMs?: number }): Promise<BankInfo> {
  return call({
    base: o.base,
    method: 'GET',
    path: BANK_INFO_PATH,
    schema: BankInfo,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
}

/** The peer as `getBankInfo` describes it, keys decoded. */
export function bankPeer(base: string, info: BankInfo): BankPeer & { receiptKey: Uint8Array } {
  return {
    base,
    encryptionKey: hex(info.encryptionKey, 'encryptionKey', 32),
    receiptKey: hex(info.receiptKey, 'receiptKey', 32),
  };
}

/**
 * Posts a sealed request; the answer's JSON comes back unchecked: `openAnswer` opens it, and `open`
 * checks the envelope's shape and decodes it (an answer that is no envelope is unclear there). A
 * schema here too was a second pass over the answer's ciphertext.
 */
function post(bank: BankPeer, path: string, envelope: Envelope): Promise<unknown> {
  return call({
    base: bank.base,
    method: 'POST',
    path,
    json: envelopeJson(envelope),
    idempotencyKey: envelope.transferId,
    ...(bank.timeoutMs !== undefined ? { timeoutMs: bank.timeoutMs } : {}),
  });
}

/** A 2xx whose envelope does not open as the bank's answer: the work may be done, so the outcome is unclear. */
async function openAnswer<S extends TSchema>(
  bank: BankPeer,
  me: EncryptionKeyPair,
  answer: unknown,
  type: string,
  schema: S,
): Promise<Static<S>> {
  try {
    const opened = await openJson({
      envelope: answer,
      recipient: me,
      expectedSender: bank.encryptionKey,
      expectedType: type,
    });
    return decode(schema, opened.payload, 'answer');
  } catch (e) {
    if (!isLancashError(e)) throw e;
    return unclearBody(bank, `answer cannot be opened (${e.message})`, e);
  }
}

function unclearBody(bank: BankPeer, message: string, cause?: unknown): never {
  throw new UnclearOutcome('body', `POST ${bank.base}`, message, cause === undefined ? {} : { cause });
}

// ---------------------------------------------------------------- the reserve: deposit claims, withdrawals

/**
 * A holder's own requests on its account (docs/wide-bank.md, "The reserve"): claim an operator's
 * deposit exactly once (the gateway's payroll issues local money against it), and withdraw to the
 * outside (the gateway's payout). Both are idempotent by (holder key, `ref`) and answered with a
 * signed `ReserveReceipt`, sealed to the holder; a replay answers the same receipt.
 */
export const BANK_DEPOSIT_CLAIM_REQUEST = 'bank.deposit.claim.request';
export const BANK_DEPOSIT_CLAIM_RESPONSE = 'bank.deposit.claim.response';
export const BANK_WITHDRAW_REQUEST = 'bank.withdraw.request';
export const BANK_WITHDRAW_RESPONSE = 'bank.withdraw.response';

export const BANK_DEPOSIT_CLAIM_PATH = '/v1/bank/deposits/claim';
export const BANK_WITHDRAW_PATH = '/v1/bank/withdraw';

/** An operator's reference, as the ledger takes it (`lancash wide-bank account deposit --ref`). */
export const ReserveRef = Type.String({ minLength: 1, maxLength: 128 });

/** Inside `bank.deposit.claim.request` and `bank.withdraw.request`. */
export const ReserveRequest = Type.Object(
  { ref: ReserveRef, amount: RequestAmount, recovery: Recovery },
  { additionalProperties: false },
);
export type ReserveRequest = Static<typeof ReserveRequest>;

export const ReserveKind = Type.Union([Type.Literal('claim'), Type.Literal('withdraw')]);
export type ReserveKind = Static<typeof ReserveKind>;

/** A reserve receipt's signed fields: the bank did `kind` for `amount` on the account of `account`. */
export const ReserveReceiptFields = Type.Object({
  v: Type.Literal(1),
  kind: ReserveKind,
  /** The holder key (hex) of the account. */
  account: PublicKeyHex,
  ref: ReserveRef,
  amount: RequestAmount,
  unit: Type.String({ minLength: 1, maxLength: 32 }),
  /** Unix milliseconds. */
  at: Type.Integer({ minimum: 0 }),
});
export type ReserveReceiptFields = Static<typeof ReserveReceiptFields>;

export const ReserveReceipt = Type.Composite([ReserveReceiptFields, Signature]);
export type ReserveReceipt = Static<typeof ReserveReceipt>;

/** Inside `bank.deposit.claim.response` and `bank.withdraw.response`. */
export const ReserveResponse = Type.Object({ receipt: ReserveReceipt });
export type ReserveResponse = Static<typeof ReserveResponse>;

/** Its own label: a reserve receipt can never pass for a note receipt, nor the other way round. */
const reserveReceipt = signedRecord('lancash-reserve-receipt-v1\n', ReserveReceiptFields, ReserveReceipt, [
  'v',
  'kind',
  'account',
  'ref',
  'amount',
  'unit',
  'at',
]);

/** The bytes a reserve receipt's signature covers. */
export const reserveReceiptMessage = reserveReceipt.message;
/** Signs a reserve receipt with the bank's Ed25519 receipt secret key. */
export const signReserveReceipt = reserveReceipt.sign;
/** Offline check of a reserve receipt against `BankInfo.receiptKey`; never throws. */
export const verifyReserveReceipt = reserveReceipt.verify;

export interface ReserveCall {
  bank: BankPeer & { receiptKey: Uint8Array };
  /** The account holder's key pair. */
  holder: EncryptionKeyPair;
  /** The idempotency key, with the holder key: a retry must reuse it with the same amount. */
  ref: string;
  amount: number;
  /** Sealed by the holder to itself; kept in the bank's request log. */
  recovery?: Envelope;
}

/**
 * Claims the operator's deposit `ref` of `amount` into the holder's account; returns the bank's
 * receipt, verified and matched to the request. Unknown ref, another account's deposit or another
 * amount: a proven refusal (404 / 400).
 */
export function requestDepositClaim(o: ReserveCall): Promise<ReserveReceipt> {
  return reserveCall(
    o,
    'claim',
    BANK_DEPOSIT_CLAIM_PATH,
    BANK_DEPOSIT_CLAIM_REQUEST,
    BANK_DEPOSIT_CLAIM_RESPONSE,
  );
}

/** Withdraws `amount` from the holder's account to the outside (holder → funding) once per `ref`. */
export function requestWithdraw(o: ReserveCall): Promise<ReserveReceipt> {
  return reserveCall(o, 'withdraw', BANK_WITHDRAW_PATH, BANK_WITHDRAW_REQUEST, BANK_WITHDRAW_RESPONSE);
}

/**
 * The envelope's transfer id for a reserve request: derived from the ref, so every retry carries the
 * same `Idempotency-Key` header (the bank keys the request by holder and ref, not by this id).
 */
export function reserveTransferId(kind: ReserveKind, ref: string): string {
  return bytesToHex(sha256(utf8(`${kind}\n${ref}`))).slice(0, 32);
}

async function reserveCall(
  o: ReserveCall,
  kind: ReserveKind,
  path: string,
  requestType: string,
  responseType: string,
): Promise<ReserveReceipt> {
  const envelope = await sealJson({
    type: requestType,
    transferId: reserveTransferId(kind, o.ref),
    sender: o.holder,
    recipient: o.bank.encryptionKey,
    payload: {
      ref: o.ref,
      amount: o.amount,
      ...(o.recovery !== undefined ? { recovery: o.recovery } : {}),
    },
  });
  const answer = await post(o.bank, path, envelope);
  const { receipt } = await openAnswer(o.bank, o.holder, answer, responseType, ReserveResponse);
  if (!verifyReserveReceipt(receipt, o.bank.receiptKey))
    unclearBody(o.bank, 'receipt signature does not verify');
  if (
    receipt.kind !== kind ||
    receipt.account !== bytesToHex(o.holder.publicKey) ||
    receipt.ref !== o.ref ||
    receipt.amount !== o.amount
  ) {
    unclearBody(o.bank, 'receipt does not match the request');
  }
  return receipt;
}

/**
 * The holder's reserve balance (docs/wide-bank.md, "The reserve"): what the gateway's operator console
 * charts against local money outstanding, and what its on-demand audit checks. Only the holder may
 * read it: the request is an envelope from the holder's key (HPKE auth mode proves it), the answer is
 * sealed back to it.
 */
export const BANK_BALANCE_REQUEST = 'bank.balance.request';
export const BANK_BALANCE_RESPONSE = 'bank.balance.response';
export const BANK_BALANCE_PATH = '/v1/bank/balance';

/** Inside `bank.balance.request`: nothing; the envelope's sender key names the account. */
export const BalanceQuery = Type.Object({}, { additionalProperties: false });

/** Inside `bank.balance.response`, read in one transaction with the request log's `last`. */
export const BalanceAnswer = Type.Object({
  /** The account id (`acct_…`). */
  account: Type.String({ minLength: 1, maxLength: 64 }),
  /** Minor units. */
  balance: Type.Integer({ minimum: -MAX_TOTAL, maximum: MAX_TOTAL }),
  /** The account's highest request-log `seq` at the same moment (0 when none). */
  last: Type.Integer({ minimum: 0 }),
  /** Unix milliseconds. */
  at: Type.Integer({ minimum: 0 }),
});
export type BalanceAnswer = Static<typeof BalanceAnswer>;

/** The holder's balance, with the request log's `last` read at the same moment. */
export async function requestBalance(o: {
  bank: BankPeer;
  holder: EncryptionKeyPair;
}): Promise<BalanceAnswer> {
  const envelope = await sealJson({
    type: BANK_BALANCE_REQUEST,
    transferId: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
    sender: o.holder,
    recipient: o.bank.encryptionKey,
    payload: {},
  });
  const answer = await post(o.bank, BANK_BALANCE_PATH, envelope);
  return openAnswer(o.bank, o.holder, answer, BANK_BALANCE_RESPONSE, BalanceAnswer);
}

// ---------------------------------------------------------------- the request log

/**
 * The holder's own requests on its account (issue, receive into it, deposit claim, payout), as the bank
 * numbered them: `seq` runs 1, 2, … per account in commit order, without gaps, so `last` is how many
 * there are. The gateway checks its journal against it at start-up (docs/gateway.md, "Reconciling with
 * the bank"). Only the holder may read it: the request is an envelope from the holder's key (HPKE auth
 * mode proves it), the answer is sealed back to it.
 */
export const BANK_REQUESTS_LIST = 'bank.requests.list';
export const BANK_REQUESTS_RESPONSE = 'bank.requests.response';
export const BANK_REQUESTS_PATH = '/v1/bank/requests';

/** Most entries in one page; with `recovery`, fewer are sent when the records are large. */
export const MAX_REQUEST_LOG_PAGE = 1000;

/** Inside `bank.requests.list`: entries with `seq > after`, oldest first. */
export const RequestLogQuery = Type.Object(
  {
    after: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    limit: Type.Integer({ minimum: 1, maximum: MAX_REQUEST_LOG_PAGE }),
    /** Also the recovery records (large): only the repair asks for them. */
    recovery: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RequestLogQuery = Static<typeof RequestLogQuery>;

export const RequestLogKind = Type.Union([
  Type.Literal('issue'),
  Type.Literal('receive'),
  Type.Literal('claim'),
  Type.Literal('payout'),
]);
export type RequestLogKind = Static<typeof RequestLogKind>;

export const RequestLogEntry = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  kind: RequestLogKind,
  /** The transfer id (issue, receive) or the ref (claim, payout) the holder sent. */
  ref: Type.String({ minLength: 1, maxLength: 128 }),
  amount: Type.Integer({ minimum: 0, maximum: MAX_TOTAL }),
  /** Unix milliseconds. */
  at: Type.Integer({ minimum: 0 }),
  recovery: Recovery,
});
export type RequestLogEntry = Static<typeof RequestLogEntry>;

/** Inside `bank.requests.response`. */
export const RequestLogPage = Type.Object({
  requests: Type.Array(RequestLogEntry),
  /** The account's highest `seq` (0 when the holder made no request yet). */
  last: Type.Integer({ minimum: 0 }),
});
export type RequestLogPage = Static<typeof RequestLogPage>;

/** One page of the holder's request log. */
export async function requestLog(o: {
  bank: BankPeer;
  holder: EncryptionKeyPair;
  after: number;
  limit: number;
  recovery?: boolean;
}): Promise<RequestLogPage> {
  const query: RequestLogQuery = {
    after: o.after,
    limit: o.limit,
    ...(o.recovery !== undefined ? { recovery: o.recovery } : {}),
  };
  const envelope = await sealJson({
    type: BANK_REQUESTS_LIST,
    transferId: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
    sender: o.holder,
    recipient: o.bank.encryptionKey,
    payload: query,
  });
  const answer = await post(o.bank, BANK_REQUESTS_PATH, envelope);
  return openAnswer(o.bank, o.holder, answer, BANK_REQUESTS_RESPONSE, RequestLogPage);
}
