/**
 * The operator console's logic (docs/gateway.md, "Operator API"): the reserve series the gateway keeps
 * (the reserve account's balance at the wide bank against local money outstanding, sampled at start,
 * every minute and soon after each finished job, at most once a second, and thinned as it ages), the
 * summary, the jobs by state with their reasons, the on-demand audit from inside the gateway, and the
 * local mint's keysets and their rotation.
 *
 * Series policy (bounded table): every point of the last day; one per minute from a day to 30 days
 * old; one per hour from 30 to 400 days; nothing older. At most about 86 400 + 41 760 + 8 880 rows.
 */
import { fail } from '../../core/errors.js';
import { isUnclear } from '../../core/http/client.js';
import type { BalanceAnswer, RequestLogPage } from '../../core/protocol/bank.js';
import type {
  JobListState,
  OperatorJob,
  OperatorKeyset,
  OperatorKeysets,
  OperatorSummary,
  ReservePoint,
  RotateAnswer,
} from '../../core/protocol/operator.js';
import type { Mint } from '../../mint/mint.js';
import { runningTotals } from '../../mint/repository.js';
import type { Store } from '../../store/index.js';
import { auditGatewayOverApi, type GatewaySideAudit } from '../audit.js';
import * as repo from './repository.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The thinning policy (module doc): [age from, age to, bucket]. */
const THINNING: readonly [number, number, number][] = [
  [DAY, 30 * DAY, MINUTE],
  [30 * DAY, 400 * DAY, HOUR],
];
const KEEP_MS = 400 * DAY;
/** The summary waits this long for the bank's balance, then answers `reserve: null` (a console polls it). */
const SUMMARY_BANK_WAIT_MS = 3000;
/** Most points one series answer carries; a longer range is answered one point per bucket. */
export const MAX_SERIES_POINTS = 2000;

export interface ConsoleOptions {
  store: Store;
  unit: string;
  mint: Mint;
  /** The reserve account's holder calls: its balance and its request log. */
  bank: {
    balance(): Promise<BalanceAnswer>;
    requests(after: number, limit: number): Promise<RequestLogPage>;
  };
  /** Each new point of the series (the live-updates bus). */
  onPoint?: (p: ReservePoint) => void;
  onError?: (e: unknown) => void;
  /** Sampling period; default 60 s. */
  everyMs?: number;
  /** Least time between two samples after finished jobs; default 1 s. */
  coalesceMs?: number;
  clock?: () => number;
}

export class ConsoleService {
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private lastSampleAt = Number.NEGATIVE_INFINITY;
  private lastThinAt = Number.NEGATIVE_INFINITY;
  private stopped = true;

  constructor(private readonly o: ConsoleOptions) {
    this.clock = o.clock ?? Date.now;
  }

  /** Samples now, then every `everyMs`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.o.everyMs ?? MINUTE);
    this.timer.unref();
  }

  /** Stops sampling; waits for a sample under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.soon = undefined;
    await this.running;
  }

  /** A job finished: sample soon, at most once per `coalesceMs` whatever the number of jobs. */
  jobFinished(): void {
    if (this.stopped || this.soon !== undefined) return;
    const wait = Math.max(0, this.lastSampleAt + (this.o.coalesceMs ?? 1000) - Date.now());
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.sample();
    }, wait);
    this.soon.unref();
  }

  /** One point, written and published; samples run one after another. Never throws. */
  sample(): Promise<void> {
    this.running = this.running.then(async () => {
      if (this.stopped) return;
      this.lastSampleAt = Date.now();
      try {
        const point: ReservePoint = {
          outstanding: await localOutstanding(this.o.store.db),
          reserve: await this.reserve(),
          at: this.clock(),
        };
        await repo.insertPoint(this.o.store.db, point);
        this.o.onPoint?.(point);
        if (point.at - this.lastThinAt >= HOUR) {
          this.lastThinAt = point.at;
          await this.thin(point.at);
        }
      } catch (e) {
        this.o.onError?.(e);
      }
    });
    return this.running;
  }

  /** Applies the series policy (module doc) as of `now`. */
  async thin(now: number): Promise<void> {
    const db = this.o.store.db;
    for (const [from, to, bucket] of THINNING) await repo.thin(db, now - to, now - from, bucket);
    await repo.dropBefore(db, now - KEEP_MS);
  }

  /** The reserve balance at the bank, or null when it did not answer. */
  private async reserve(): Promise<number | null> {
    try {
      return (await this.o.bank.balance()).balance;
    } catch (e) {
      this.o.onError?.(e);
      return null;
    }
  }

  async summary(): Promise<OperatorSummary> {
    const db = this.o.store.db;
    const [reserve, outstanding, fees, inFlight, jobs] = await Promise.all([
      within(this.reserve(), SUMMARY_BANK_WAIT_MS, null),
      localOutstanding(db),
      repo.localFeesCollected(db),
      repo.valueInFlight(db),
      repo.jobCounts(db),
    ]);
    return {
      unit: this.o.unit,
      at: this.clock(),
      reserve,
      outstanding,
      fees,
      inFlight,
      jobs,
    };
  }

  /** The series from `since`, oldest first; a range of more than `MAX_SERIES_POINTS` is answered one point per bucket. */
  async series(since: number): Promise<{ points: ReservePoint[] }> {
    const db = this.o.store.db;
    const { count, first } = await repo.rangeSince(db, since);
    if (count <= MAX_SERIES_POINTS) return { points: await repo.pointsSince(db, since) };
    // Buckets are aligned to the epoch: a span of n buckets touches at most n + 1 of them.
    const bucketMs = Math.ceil(Math.max(1, this.clock() - first) / (MAX_SERIES_POINTS - 1));
    return { points: await repo.pointsSince(db, since, bucketMs) };
  }

  /** Jobs in `state` (any when absent), most recently changed first. */
  async jobs(state: JobListState | undefined, limit: number): Promise<{ jobs: OperatorJob[] }> {
    const rows = await repo.jobsIn(this.o.store.db, state, limit);
    return {
      jobs: rows.map((r) => {
        const refusal =
          r.refusal === null ? null : (JSON.parse(r.refusal) as { code: number; detail: string });
        const base: OperatorJob = {
          transferId: r.id,
          kind: r.kind ?? 'transfer',
          direction: r.direction,
          state: r.state,
          amount: Number(r.amount),
          destination: r.destination,
          createdAt: Number(r.created_at),
          updatedAt: Number(r.updated_at),
        };
        if (r.parked_at !== null && r.parked_at !== undefined) {
          const what =
            r.state === 'delivering'
              ? `The payment to ${r.destination} was not accepted in time and waits for you: retry it once the inbox is reachable.`
              : `The refusal notice to ${r.reply_to ?? 'the sender'} was not accepted in time and waits for you: retry it, or abandon it (no money moves).`;
          return { ...base, reason: r.last_error === null ? what : `${what} Last error: ${r.last_error}` };
        }
        if (refusal !== null) return { ...base, reason: refusal.detail, code: refusal.code };
        return base;
      }),
    };
  }

  /** The gateway-side audit (invariant 2 with the reserve read from the bank over its API). */
  async audit(): Promise<GatewaySideAudit> {
    try {
      const run = () => auditGatewayOverApi({ gatewayStore: this.o.store, bank: this.o.bank });
      const first = await run();
      // The gateway's tables are read one after another: a job that moved between two reads looks like
      // a difference once. A real difference shows again; the second report is the one given.
      return first.balanced ? first : await run();
    } catch (e) {
      if (!isUnclear(e)) throw e;
      return fail(
        'UpstreamUnavailable',
        { upstream: 'wide bank', reason: e.message },
        'the wide bank did not answer the audit’s questions; try again in a minute',
      );
    }
  }

  async keysets(): Promise<OperatorKeysets> {
    const { mint } = this.o;
    await mint.keysets.reload();
    const value = await repo.valueByKeyset(this.o.store.db);
    return {
      active: mint.keysets.current().id,
      keysets: mint.keysets.all().map((k) => this.keyset(k, value)),
    };
  }

  /**
   * A fresh keyset signs from now on; the old ones keep redeeming, and jobs in flight still get their
   * journaled outputs signed by the keyset they were made for (`Mint.prepareOutputs`, `signInactive`).
   */
  async rotate(): Promise<RotateAnswer> {
    const { mint } = this.o;
    const previous = mint.keysets.current().id;
    let fresh: ReturnType<Mint['keysets']['current']>;
    try {
      fresh = await mint.keysets.rotate();
    } catch (e) {
      // Another rotation committed first (the unique derivation index): nothing of this one stayed.
      await mint.keysets.reload();
      return fail(
        'KeysetRotationConflict',
        { reason: e instanceof Error ? e.message : String(e) },
        'another rotation happened at the same moment; look at the keysets and rotate again if needed',
      );
    }
    const value = await repo.valueByKeyset(this.o.store.db);
    return { previous, active: this.keyset(fresh, value) };
  }

  private keyset(
    k: ReturnType<Mint['keysets']['current']>,
    value: Map<string, { signed: number; spent: number }>,
  ): OperatorKeyset {
    const v = value.get(k.id) ?? { signed: 0, spent: 0 };
    return {
      id: k.id,
      unit: k.unit,
      active: k.active,
      inputFeePpk: k.inputFeePpk,
      outstanding: v.signed - v.spent,
    };
  }
}

/** `p`'s value, or `otherwise` when it takes longer than `ms` (`p` runs on, unobserved). */
/**
 * Local money outstanding (signed − spent) from the mint's running totals: a few rows, whatever the
 * size of the books, so sampling it after every finished job stays cheap. The audit sums the rows.
 */
async function localOutstanding(db: Store['db']): Promise<number> {
  const t = await runningTotals(db);
  return t.signed - t.spent;
}

async function within<T, U>(p: Promise<T>, ms: number, otherwise: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(otherwise), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
