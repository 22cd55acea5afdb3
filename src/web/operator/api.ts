/**
 * The console's client of the gateway's operator API (docs/web.md, "The operator console"): every
 * route on the LAN listener behind `Authorization: Bearer <operator token>`, same origin. Answers are
 * decoded by the schemas here (what the console reads of them; extra fields pass). A wrong token is
 * `OperatorUnauthorized` (74001), which the app turns into the sign-in page.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { call } from '../../core/http/client.js';
import {
  type OperatorJobStatus,
  type PayrollRequest,
  requestPayroll,
  TransferStatus,
} from '../../core/protocol/gateway.js';
import {
  AuditAnswer,
  HISTORY_PATH,
  HistoryAnswer,
  type HistoryEntry,
  JobsAnswer,
  OPERATOR_AUDIT_PATH,
  OPERATOR_JOBS_PATH,
  OPERATOR_KEYSETS_PATH,
  OPERATOR_ROTATE_PATH,
  OPERATOR_SERIES_PATH,
  OPERATOR_SUMMARY_PATH,
  type OperatorJob,
  type OperatorKeyset,
  OperatorKeysets,
  OperatorSummary,
  PARKED_ABANDON_PATH,
  PARKED_PATH,
  PARKED_RETRY_PATH,
  ParkedAnswer,
  type ParkedJob,
  type ReservePoint,
  RotateAnswer,
  SeriesAnswer,
} from '../../core/protocol/operator.js';

// The wire's schemas and types are the routes' own (core/protocol/operator.ts); the console's names for them:
export {
  type AuditAnswer as AuditReport,
  type AuditDifference,
  type HistoryEntry,
  OPERATOR_EVENTS_PATH,
  type OperatorJob as JobRow,
  type OperatorKeyset as Keyset,
  type OperatorSummary as Summary,
  type ParkedJob,
  ReservePoint,
  type RotateAnswer as Rotated,
} from '../../core/protocol/operator.js';

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
    await this.get(`${PARKED_PATH}?limit=1`, ParkedAnswer);
  }

  summary(): Promise<OperatorSummary> {
    return this.get(OPERATOR_SUMMARY_PATH, OperatorSummary);
  }

  async series(since: number): Promise<ReservePoint[]> {
    return (await this.get(`${OPERATOR_SERIES_PATH}?since=${Math.max(0, Math.floor(since))}`, SeriesAnswer))
      .points;
  }

  async jobs(state: TransferStatus['state'], limit = 100): Promise<OperatorJob[]> {
    return (await this.get(`${OPERATOR_JOBS_PATH}?state=${state}&limit=${limit}`, JobsAnswer)).jobs;
  }

  async parked(limit = 100): Promise<ParkedJob[]> {
    return (await this.get(`${PARKED_PATH}?limit=${limit}`, ParkedAnswer)).jobs;
  }

  retryParked(id: string): Promise<TransferStatus> {
    return this.post(PARKED_RETRY_PATH.replace(':id', encodeURIComponent(id)), TransferStatus);
  }

  /** Gives up on a parked notice (no money moves; the sender is not told). A parked payment: 74009. */
  abandonParked(id: string): Promise<TransferStatus> {
    return this.post(PARKED_ABANDON_PATH.replace(':id', encodeURIComponent(id)), TransferStatus);
  }

  async history(key: string, limit = 100): Promise<HistoryEntry[]> {
    return (await this.get(`${HISTORY_PATH}?terminal=${key}&limit=${limit}`, HistoryAnswer)).transfers;
  }

  payroll(request: PayrollRequest): Promise<OperatorJobStatus> {
    return requestPayroll({ base: this.base, operatorToken: this.token, request });
  }

  async keysets(): Promise<OperatorKeyset[]> {
    return (await this.get(OPERATOR_KEYSETS_PATH, OperatorKeysets)).keysets;
  }

  rotate(): Promise<RotateAnswer> {
    return this.post(OPERATOR_ROTATE_PATH, RotateAnswer);
  }

  /** The audit reads both sides; it may take longer than a plain read. */
  audit(): Promise<AuditAnswer> {
    return this.post(OPERATOR_AUDIT_PATH, AuditAnswer, 60_000);
  }
}
