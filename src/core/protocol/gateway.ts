/**
 * The terminals' protocol with the gateway and with each other (docs/design.md §3, §5): what a LAN terminal
 * sends to convert local money into wide money (job 1), what a WAN terminal sends for the reverse
 * (job 2), how anyone follows a transfer, the notice a sender gets on a refusal, and the payment
 * envelope in which notes reach a terminal, whether from another terminal or from the gateway.
 * Depends on core only: the gateway and the wallets both use it, neither reaches into the other.
 * Portable: its client calls go through `call` (standard `fetch`), so a browser wallet imports it too.
 */
import { type Static, Type } from '@sinclair/typebox';
import { MAX_ADDRESS_CHARS } from '../address/index.js';
import { TransferId } from '../envelope/index.js';
import { call } from '../http/client.js';
import { MAX_TOTAL } from '../money.js';
import { PublicKeyHex } from './bank.js';
import { Proof } from './cashu.js';

/** Envelope types (bound into the AAD). */
export const JOB1_REQUEST = 'gateway.job1.request';
export const JOB2_REQUEST = 'gateway.job2.request';
export const GATEWAY_NOTICE = 'gateway.notice';
export const PAYMENT = 'lancash.payment';

/** On the gateway's LAN listener. */
export const JOB1_PATH = '/v1/gateway/lan-to-wan';
/** On the gateway's WAN listener. */
export const JOB2_PATH = '/v1/gateway/wan-to-lan';
/** On both listeners. */
export const GATEWAY_INFO_PATH = '/v1/gateway/info';
export const TRANSFER_PATH = '/v1/gateway/transfers/:id';

/** A terminal address (`lan1…` / `wan1…`, bech32m); decoded with `core/address`. */
const Address = Type.String({ minLength: 8, maxLength: MAX_ADDRESS_CHARS });
const Memo = Type.Optional(Type.String({ maxLength: 256 }));

/**
 * Inside `gateway.job1.request` (LAN terminal → gateway, sealed to the gateway's key; the envelope's
 * transfer id names the transfer): local notes, the WAN destination, and where to send a notice.
 */
export const Job1Request = Type.Object(
  {
    proofs: Type.Array(Proof, { minItems: 1 }),
    destination: Address,
    replyTo: Type.Optional(Address),
    memo: Memo,
  },
  { additionalProperties: false },
);
export type Job1Request = Static<typeof Job1Request>;

/** Inside `gateway.job2.request` (WAN terminal → gateway): wide notes (with DLEQ), the LAN destination. */
export const Job2Request = Job1Request;
export type Job2Request = Job1Request;

export const Direction = Type.Union([Type.Literal('lan-to-wan'), Type.Literal('wan-to-lan')]);
export type Direction = Static<typeof Direction>;

/** Where a transfer stands. `done` and `refused` are terminal; every transfer reaches exactly one. */
export const TransferState = Type.Union([
  Type.Literal('issuing'),
  Type.Literal('receiving'),
  Type.Literal('delivering'),
  Type.Literal('done'),
  Type.Literal('refused'),
]);
export type TransferState = Static<typeof TransferState>;

/** `GET /v1/gateway/transfers/:id` and the intake's answer. */
export const TransferStatus = Type.Object({
  transferId: TransferId,
  direction: Direction,
  state: TransferState,
  amount: Type.Integer({ minimum: 1, maximum: MAX_TOTAL }),
  createdAt: Type.Integer({ minimum: 0 }),
  updatedAt: Type.Integer({ minimum: 0 }),
  /** On `refused`: the stable error code and the reason. */
  refusal: Type.Optional(Type.Object({ code: Type.Integer(), detail: Type.String() })),
  /**
   * NUT-02 input fee the sender's notes paid on top of `amount` (absent: none): job 1, the local
   * mint's (the organisation's income); job 2, the wide bank's (kept when the reserve is credited).
   * `amount` is converted 1:1; the destination's own receive swap pays its mint's fee, as any Cashu
   * receive does (docs/gateway.md, "Fees").
   */
  inputFee: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOTAL })),
});
export type TransferStatus = Static<typeof TransferStatus>;

/** Inside `gateway.notice` (gateway → the sender's `replyTo`): how a transfer ended. */
export const Notice = Type.Object({ status: TransferStatus });
export type Notice = Static<typeof Notice>;

/**
 * Inside `lancash.payment`: notes for the recipient, who swaps them at once at `mint` so the payer
 * cannot spend them again. `transferId` of the envelope dedupes a delivery that arrives twice.
 */
/** Which saga a job follows: a conversion (job 1 or 2), or an operator's payroll or payout. */
export const JobKind = Type.Union([
  Type.Literal('transfer'),
  Type.Literal('payroll'),
  Type.Literal('payout'),
]);
export type JobKind = Static<typeof JobKind>;

export const Payment = Type.Object(
  {
    mint: Type.String({ minLength: 1, maxLength: 512 }),
    unit: Type.String({ minLength: 1, maxLength: 32 }),
    proofs: Type.Array(Proof, { minItems: 1 }),
    memo: Memo,
    /**
     * Set by the gateway: the job this payment completes (its direction, and since `kind` was added,
     * whether it is a conversion or the organisation's payroll; older wallets ignore the field).
     */
    via: Type.Optional(
      Type.Object({ gateway: PublicKeyHex, direction: Direction, kind: Type.Optional(JobKind) }),
    ),
  },
  { additionalProperties: false },
);
export type Payment = Static<typeof Payment>;

/** `GET /v1/gateway/info`: what a terminal needs to use the gateway. */
export const GatewayInfo = Type.Object({
  /** The gateway's X25519 key: seal job requests to it. */
  encryptionKey: PublicKeyHex,
  currency: Type.String(),
  unit: Type.String(),
  /** The wide bank's URL (the mint of wide money). */
  wideBank: Type.String(),
  /** The local mint's URL (on the LAN listener); absent in the WAN listener's answer. */
  localMint: Type.Optional(Type.String()),
});
export type GatewayInfo = Static<typeof GatewayInfo>;

export function getGatewayInfo(base: string, timeoutMs?: number): Promise<GatewayInfo> {
  return call({
    base,
    method: 'GET',
    path: GATEWAY_INFO_PATH,
    schema: GatewayInfo,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}

export function getTransfer(base: string, transferId: string, timeoutMs?: number): Promise<TransferStatus> {
  return call({
    base,
    method: 'GET',
    path: TRANSFER_PATH.replace(':id', encodeURIComponent(transferId)),
    schema: TransferStatus,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}

// ---------------------------------------------------------------- operator jobs: payroll and payout

/** Inside `gateway.payout.request` (a LAN terminal, or the operator, → gateway). */
export const PAYOUT_REQUEST = 'gateway.payout.request';

/** On the LAN listener, behind the operator token. */
export const PAYROLL_PATH = '/v1/gateway/operator/payroll';
export const PAYOUT_PATH = '/v1/gateway/operator/payout';

/** The operator's reference of a payroll (the wide bank's deposit `--ref`) or of a payout. */
export const OperatorRef = Type.String({ minLength: 1, maxLength: 128 });

/**
 * `POST /v1/gateway/operator/payroll`: issue local money worth `amount` to the LAN address `to`
 * against the deposit `ref` into the reserve account. The same ref answers the same job.
 */
export const PayrollRequest = Type.Object(
  { ref: OperatorRef, amount: Type.Integer({ minimum: 1, maximum: MAX_TOTAL }), to: Address, memo: Memo },
  { additionalProperties: false },
);
export type PayrollRequest = Static<typeof PayrollRequest>;

/**
 * Inside `gateway.payout.request`, posted by the operator to `POST /v1/gateway/operator/payout`: local
 * notes to pay out of the reserve to the outside under `ref`; `replyTo` gets a `gateway.notice` when
 * the payout is done or refused. The envelope's sender is the terminal the history names.
 */
export const PayoutRequest = Type.Object(
  {
    ref: OperatorRef,
    proofs: Type.Array(Proof, { minItems: 1 }),
    replyTo: Type.Optional(Address),
    memo: Memo,
  },
  { additionalProperties: false },
);
export type PayoutRequest = Static<typeof PayoutRequest>;

/** What the operator routes answer: the job's status, its kind and its reference. */
export const OperatorJobStatus = Type.Composite([
  TransferStatus,
  Type.Object({ kind: JobKind, ref: OperatorRef }),
]);
export type OperatorJobStatus = Static<typeof OperatorJobStatus>;

/** Operator: payroll (see `PayrollRequest`). */
export function requestPayroll(o: {
  base: string;
  operatorToken: string;
  request: PayrollRequest;
  timeoutMs?: number;
}): Promise<OperatorJobStatus> {
  return operatorCall(o, PAYROLL_PATH, o.request);
}

/** Operator: payout of the notes sealed in `envelope` (a `gateway.payout.request`). */
export function requestPayout(o: {
  base: string;
  operatorToken: string;
  envelope: unknown;
  timeoutMs?: number;
}): Promise<OperatorJobStatus> {
  return operatorCall(o, PAYOUT_PATH, o.envelope);
}

function operatorCall(
  o: { base: string; operatorToken: string; timeoutMs?: number },
  path: string,
  body: unknown,
): Promise<OperatorJobStatus> {
  return call({
    base: o.base,
    method: 'POST',
    path,
    body,
    headers: { authorization: `Bearer ${o.operatorToken}` },
    schema: OperatorJobStatus,
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
}
