/**
 * The console's client of the gateway's operator API (docs/web.md, "The operator console"): every
 * route on the LAN listener behind `Authorization: Bearer <operator token>`, same origin. Answers are
 * decoded by the schemas here (what the console reads of them; extra fields pass). A wrong token is
 * `OperatorUnauthorized` (74001), which the app turns into the sign-in page.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { call } from '../../core/http/client.js';
import {
  JobKind,
  type OperatorJobStatus,
  type PayrollRequest,
  requestPayroll,
  TransferState,
  TransferStatus,
} from '../../core/protocol/gateway.js';

const Ms = Type.Integer({ minimum: 0 });
const Minor = Type.Integer();

export const OPERATOR = '/v1/gateway/operator';
/** The operator's event stream (`ui/live.ts`): `job` and `reserve` events. */
export const OPERATOR_EVENTS_PATH = `${OPERATOR}/events`;
export const HISTORY_PATH = '/v1/gateway/history';

/** `GET …/summary`: the figures now. `reserve` null: the wide bank did not answer; `inFlight` is the value of the unfinished jobs. */
export const Summary = Type.Object({
  unit: Type.String(),
  at: Ms,
  reserve: Type.Union([Minor, Type.Null()]),
  outstanding: Minor,
  inFlight: Type.Integer({ minimum: 0 }),
  jobs: Type.Array(Type.Object({ kind: JobKind, state: TransferState, count: Type.Integer(), oldestAt: Ms })),
});
export type Summary = Static<typeof Summary>;

export const ReservePoint = Type.Object({
  at: Ms,
  reserve: Type.Union([Minor, Type.Null()]),
  outstanding: Minor,
});
export type ReservePoint = Static<typeof ReservePoint>;
const Series = Type.Object({ points: Type.Array(ReservePoint) });

/** `GET …/jobs?state=`: one job as the lists show it; `reason`/`code` on a refused one. */
export const JobRow = Type.Object({
  transferId: Type.String(),
  kind: JobKind,
  direction: Type.String(),
  state: TransferState,
  amount: Minor,
  destination: Type.String(),
  createdAt: Ms,
  updatedAt: Ms,
  reason: Type.Optional(Type.String()),
  code: Type.Optional(Type.Integer()),
});
export type JobRow = Static<typeof JobRow>;
const Jobs = Type.Object({ jobs: Type.Array(JobRow) });

/** `GET …/parked`: a job whose payment or notice no inbox accepted in time. */
export const ParkedJob = Type.Composite([
  TransferStatus,
  Type.Object({
    kind: JobKind,
    ref: Type.Optional(Type.String()),
    destination: Type.String(),
    replyTo: Type.Optional(Type.String()),
    delivery: Type.Union([Type.Literal('payment'), Type.Literal('notice')]),
    route: Type.String(),
    parkedAt: Ms,
    attempts: Type.Integer(),
    lastError: Type.Optional(Type.String()),
  }),
]);
export type ParkedJob = Static<typeof ParkedJob>;
const Parked = Type.Object({ jobs: Type.Array(ParkedJob) });

/** `GET /v1/gateway/history?terminal=`: a terminal's conversions, newest first. */
export const HistoryEntry = Type.Composite([
  TransferStatus,
  Type.Object({
    kind: JobKind,
    ref: Type.Optional(Type.String()),
    sender: Type.String(),
    destination: Type.String(),
    replyTo: Type.Optional(Type.String()),
    lastError: Type.Optional(Type.String()),
    parkedAt: Type.Optional(Ms),
    events: Type.Array(
      Type.Object({
        seq: Type.Integer(),
        from: Type.String(),
        to: Type.String(),
        at: Ms,
        detail: Type.String(),
      }),
    ),
  }),
]);
export type HistoryEntry = Static<typeof HistoryEntry>;
const History = Type.Object({ transfers: Type.Array(HistoryEntry) });

/** `GET …/keysets`: the local mint's keysets; only the active one signs, the others stay redeemable. */
export const Keyset = Type.Object({
  id: Type.String(),
  unit: Type.String(),
  active: Type.Boolean(),
  inputFeePpk: Type.Integer(),
  /** Value signed under the keyset less value spent (minor units). */
  outstanding: Minor,
});
export type Keyset = Static<typeof Keyset>;
const Keysets = Type.Object({ active: Type.String(), keysets: Type.Array(Keyset) });
/** `POST …/keysets/rotate`: the keyset that signed until now and the new active one. */
const Rotated = Type.Object({ previous: Type.String(), active: Keyset });
export type Rotated = Static<typeof Rotated>;

/** `POST …/audit`: the gateway's audit report (invariant 2); differences in minor units. */
export const AuditDifference = Type.Object({
  what: Type.String(),
  expected: Type.Number(),
  actual: Type.Number(),
  rows: Type.Array(Type.String()),
});
export type AuditDifference = Static<typeof AuditDifference>;
export const AuditReport = Type.Object({
  balanced: Type.Boolean(),
  differences: Type.Array(AuditDifference),
  inFlight: Type.Optional(
    Type.Array(
      Type.Object({ job: Type.String(), kind: Type.String(), state: Type.String(), correction: Minor }),
    ),
  ),
  totals: Type.Optional(
    Type.Object({
      local: Type.Object({ outstanding: Minor }),
      reserve: Minor,
      expectedReserve: Minor,
      jobs: Type.Integer(),
      surplus: Type.Optional(Type.Object({ unclaimedDeposits: Minor, other: Minor })),
    }),
  ),
  /** The on-demand audit reads the bank over its API: what it checked, and what needs the bank's database. */
  checked: Type.Optional(Type.Array(Type.String())),
  notChecked: Type.Optional(Type.Array(Type.String())),
});
export type AuditReport = Static<typeof AuditReport>;

/** The operator API with one token; `base` is the page's origin. */
export class OperatorApi {
  constructor(
    readonly token: string,
    readonly base: string = location.origin,
  ) {}

  private get<S extends TSchema>(path: string, schema: S): Promise<Static<S>> {
    return call({ base: this.base, method: 'GET', path, schema, headers: this.headers() });
  }

  private post<S extends TSchema>(path: string, schema: S, timeoutMs?: number): Promise<Static<S>> {
    return call({
      base: this.base,
      method: 'POST',
      path,
      schema,
      body: {},
      headers: this.headers(),
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  }

  /** The operator's headers, for the event stream too. */
  headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** Checks the token against a cheap operator route (throws `OperatorUnauthorized` when wrong). */
  async check(): Promise<void> {
    await this.get(`${OPERATOR}/parked?limit=1`, Parked);
  }

  summary(): Promise<Summary> {
    return this.get(`${OPERATOR}/summary`, Summary);
  }

  async series(since: number): Promise<ReservePoint[]> {
    return (await this.get(`${OPERATOR}/series?since=${Math.max(0, Math.floor(since))}`, Series)).points;
  }

  async jobs(state: TransferStatus['state'], limit = 100): Promise<JobRow[]> {
    return (await this.get(`${OPERATOR}/jobs?state=${state}&limit=${limit}`, Jobs)).jobs;
  }

  async parked(limit = 100): Promise<ParkedJob[]> {
    return (await this.get(`${OPERATOR}/parked?limit=${limit}`, Parked)).jobs;
  }

  retryParked(id: string): Promise<TransferStatus> {
    return this.post(`${OPERATOR}/parked/${encodeURIComponent(id)}/retry`, TransferStatus);
  }

  async history(key: string, limit = 100): Promise<HistoryEntry[]> {
    return (await this.get(`${HISTORY_PATH}?terminal=${key}&limit=${limit}`, History)).transfers;
  }

  payroll(request: PayrollRequest): Promise<OperatorJobStatus> {
    return requestPayroll({ base: this.base, operatorToken: this.token, request });
  }

  async keysets(): Promise<Keyset[]> {
    return (await this.get(`${OPERATOR}/keysets`, Keysets)).keysets;
  }

  rotate(): Promise<Rotated> {
    return this.post(`${OPERATOR}/keysets/rotate`, Rotated);
  }

  /** The audit reads both sides; it may take longer than a plain read. */
  audit(): Promise<AuditReport> {
    return this.post(`${OPERATOR}/audit`, AuditReport, 60_000);
  }
}
