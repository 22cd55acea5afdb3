/**
 * The gateway's operator API on its LAN listener, behind `Authorization: Bearer <operator token>`
 * (docs/gateway.md, "Operator API"): its paths and the schemas of its answers, shared by the routes
 * (`gateway/console/`, `gateway/jobs/http.ts`, `gateway/live.ts`) and the console page
 * (`web/operator/api.ts`), which decodes every answer with them. Portable: no Node import.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Direction, JobKind, TransferState, TransferStatus } from './gateway.js';

export const OPERATOR_SUMMARY_PATH = '/v1/gateway/operator/summary';
export const OPERATOR_SERIES_PATH = '/v1/gateway/operator/series';
export const OPERATOR_JOBS_PATH = '/v1/gateway/operator/jobs';
export const OPERATOR_AUDIT_PATH = '/v1/gateway/operator/audit';
export const OPERATOR_KEYSETS_PATH = '/v1/gateway/operator/keysets';
export const OPERATOR_ROTATE_PATH = '/v1/gateway/operator/keysets/rotate';
/** Server-sent events: `job` and `reserve` (docs/web.md, "Live updates"). */
export const OPERATOR_EVENTS_PATH = '/v1/gateway/operator/events';
/** Jobs whose delivery is parked (docs/gateway.md, "Deliveries"), and the two safe actions on one. */
export const PARKED_PATH = '/v1/gateway/operator/parked';
export const PARKED_RETRY_PATH = '/v1/gateway/operator/parked/:id/retry';
export const PARKED_ABANDON_PATH = '/v1/gateway/operator/parked/:id/abandon';
/** Every conversion a terminal key sent or received, newest first. */
export const HISTORY_PATH = '/v1/gateway/history';

export const ReservePoint = Type.Object({
  at: Type.Integer({ minimum: 0 }),
  /** Minor units; null when the bank did not answer. */
  reserve: Type.Union([Type.Integer(), Type.Null()]),
  outstanding: Type.Integer(),
});
export type ReservePoint = Static<typeof ReservePoint>;

/** Job states as the journal has them, and `parked` (a delivery waiting for the operator, in any state). */
export const JobListState = Type.Union([TransferState, Type.Literal('parked')]);
export type JobListState = Static<typeof JobListState>;

export const OperatorSummary = Type.Object({
  unit: Type.String(),
  at: Type.Integer({ minimum: 0 }),
  /** The reserve account's balance at the wide bank (minor units); null when the bank did not answer. */
  reserve: Type.Union([Type.Integer(), Type.Null()]),
  /** Local money outstanding: signed − spent at the local mint (minor units). */
  outstanding: Type.Integer(),
  /**
   * NUT-02 input fees the local mint collected (minor units; docs/gateway.md, "Fees"): out of
   * circulation, their backing stays in the reserve, so at rest reserve = outstanding + fees.
   */
  fees: Type.Optional(Type.Integer({ minimum: 0 })),
  /** The value of the jobs not finished yet (issuing, receiving, delivering), minor units. */
  inFlight: Type.Integer({ minimum: 0 }),
  /** Per kind and state, with the oldest one's creation time (parked jobs: `GET …/parked`). */
  jobs: Type.Array(
    Type.Object({
      kind: JobKind,
      state: TransferState,
      count: Type.Integer({ minimum: 0 }),
      oldestAt: Type.Integer({ minimum: 0 }),
    }),
  ),
});
export type OperatorSummary = Static<typeof OperatorSummary>;

export const OperatorJob = Type.Object({
  transferId: Type.String(),
  kind: JobKind,
  direction: Direction,
  state: TransferState,
  amount: Type.Integer(),
  destination: Type.String(),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  /** Refused: why, in plain words; parked: what waits and why. */
  reason: Type.Optional(Type.String()),
  /** Refused: the stable error code. */
  code: Type.Optional(Type.Integer()),
});
export type OperatorJob = Static<typeof OperatorJob>;

export const OperatorKeyset = Type.Object({
  id: Type.String(),
  unit: Type.String(),
  /** Only the active keyset signs; the others stay redeemable. */
  active: Type.Boolean(),
  inputFeePpk: Type.Integer(),
  /** Value signed under the keyset less value spent (minor units). */
  outstanding: Type.Integer(),
});
export type OperatorKeyset = Static<typeof OperatorKeyset>;

export const OperatorKeysets = Type.Object({ active: Type.String(), keysets: Type.Array(OperatorKeyset) });
export type OperatorKeysets = Static<typeof OperatorKeysets>;

export const RotateAnswer = Type.Object({ previous: Type.String(), active: OperatorKeyset });
export type RotateAnswer = Static<typeof RotateAnswer>;

/** A parked job, as the operator's list shows it. */
export const ParkedJob = Type.Composite([
  TransferStatus,
  Type.Object({
    kind: JobKind,
    ref: Type.Optional(Type.String()),
    destination: Type.String(),
    replyTo: Type.Optional(Type.String()),
    /** What waits to be delivered: the payment to the destination, or the notice to `replyTo`. */
    delivery: Type.Union([Type.Literal('payment'), Type.Literal('notice')]),
    /** Where it goes: `mailbox:lan`, `mailbox:wan`, an allowed inbox base, or `not allowed`. */
    route: Type.String(),
    parkedAt: Type.Integer(),
    attempts: Type.Integer(),
    lastError: Type.Optional(Type.String()),
  }),
]);
export type ParkedJob = Static<typeof ParkedJob>;

export const ParkedAnswer = Type.Object({ jobs: Type.Array(ParkedJob) });

/** One transfer in the per-terminal history. */
export const HistoryEntry = Type.Composite([
  TransferStatus,
  Type.Object({
    /** transfer (job 1 or 2), payroll or payout; `ref` is a payroll's or payout's reference. */
    kind: JobKind,
    ref: Type.Optional(Type.String()),
    sender: Type.String(),
    destination: Type.String(),
    replyTo: Type.Optional(Type.String()),
    notice: Type.String(),
    lastError: Type.Optional(Type.String()),
    /** Set while the job's delivery is parked for the operator (unix ms). */
    parkedAt: Type.Optional(Type.Integer()),
    events: Type.Array(
      Type.Object({
        seq: Type.Integer(),
        from: Type.String(),
        to: Type.String(),
        at: Type.Integer(),
        detail: Type.String(),
      }),
    ),
  }),
]);
export type HistoryEntry = Static<typeof HistoryEntry>;

export const HistoryAnswer = Type.Object({ transfers: Type.Array(HistoryEntry) });

export const SeriesAnswer = Type.Object({ points: Type.Array(ReservePoint) });
export const JobsAnswer = Type.Object({ jobs: Type.Array(OperatorJob) });

export const AuditDifference = Type.Object({
  what: Type.String(),
  expected: Type.Integer(),
  actual: Type.Integer(),
  rows: Type.Array(Type.String()),
});
export type AuditDifference = Static<typeof AuditDifference>;

/** The on-demand audit's report: `GatewaySideAudit` (gateway/audit.ts). */
export const AuditAnswer = Type.Object({
  balanced: Type.Boolean(),
  at: Type.Integer(),
  differences: Type.Array(AuditDifference),
  inFlight: Type.Array(
    Type.Object({
      job: Type.String(),
      kind: Type.Union([
        Type.Literal('job1'),
        Type.Literal('job2'),
        Type.Literal('payroll'),
        Type.Literal('payout'),
      ]),
      state: Type.String(),
      correction: Type.Integer(),
      bankRow: Type.String(),
    }),
  ),
  totals: Type.Object({
    gatewayKey: Type.Union([Type.String(), Type.Null()]),
    reserveAccount: Type.Union([Type.String(), Type.Null()]),
    local: Type.Object({
      signed: Type.Integer(),
      spent: Type.Integer(),
      pending: Type.Integer(),
      outstanding: Type.Integer(),
    }),
    reserve: Type.Integer(),
    inFlight: Type.Object({
      job1: Type.Integer(),
      job2: Type.Integer(),
      payroll: Type.Integer(),
      payout: Type.Integer(),
    }),
    surplus: Type.Object({ unclaimedDeposits: Type.Integer(), other: Type.Integer() }),
    /** NUT-02 input fees the local mint kept (docs/gateway.md, "Fees"), backed in the reserve. */
    fees: Type.Object({ swaps: Type.Integer(), conversions: Type.Integer(), collected: Type.Integer() }),
    expectedReserve: Type.Integer(),
    jobs: Type.Integer(),
  }),
  /** What this audit checked from inside the gateway, and what needs the bank's database. */
  checked: Type.Array(Type.String()),
  notChecked: Type.Array(Type.String()),
});
export type AuditAnswer = Static<typeof AuditAnswer>;
