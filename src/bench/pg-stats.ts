/**
 * `bench --pg-stats`: what each PostgreSQL database did over a bench's timed window, per unit of work
 * (a conversion, a swap), from pg_stat_statements: statements, execution and planning time, WAL bytes,
 * and the statements that ran most often and took longest. Counts are the firm figures of a change on
 * a busy machine, where the whole-bench CPU spreads by a millisecond or more between runs of the same
 * code (docs/performance.md).
 *
 * The server must load the extension (`ThrowawayOptions.statements`); the bench resets the counters
 * of its own database only (`pg_stat_statements_reset(0, dbid, 0)`) as the window opens and reads
 * them as it closes, over an admin connection to another database, so these two statements are not
 * counted. The times are wall times inside the server: a statement waiting for a row lock counts
 * its wait.
 */
import type pg from 'pg';
import { round } from './harness.js';

/** Statements listed by calls and by time. */
const TOP = 10;
/** Characters of a statement's normalised text shown. */
const QUERY_CHARS = 120;

/** One normalised statement's totals over the window, as pg_stat_statements keeps them. */
export interface StatementTotals {
  query: string;
  calls: number;
  /** Times planned: fewer than `calls` once a named statement reuses its generic plan. */
  plans: number;
  /** Milliseconds. */
  execMs: number;
  planMs: number;
  walBytes: number;
  /** WAL records: a row version and each index entry it adds are one each. */
  walRecords: number;
}

/** Resets and reads one database's statement counters (the bench's edges). */
export interface StatementProbe {
  reset(): Promise<void>;
  read(): Promise<StatementTotals[]>;
}

/** One statement's figures, per unit of work and per call. */
export interface StatementFigures {
  callsPer: number;
  usPerCall: number;
  planUsPerCall: number;
  /** Plans a call: 1 when every call is planned anew (a custom plan), near 0 with a generic plan. */
  plansPerCall: number;
  walBytesPerCall: number;
  walRecordsPerCall: number;
  query: string;
}

/** One database's figures over the window, per `per` (e.g. a conversion). */
export interface PgStatsFigures {
  per: string;
  /** Units of work done in the window (the divisor). */
  units: number;
  statements: number;
  execUs: number;
  planUs: number;
  walBytes: number;
  walRecords: number;
  topByCalls: StatementFigures[];
  /** By execution plus planning time over the window. */
  topByTime: StatementFigures[];
}

/**
 * A probe of `database`'s statements over `admin`, an open connection to another database of the
 * same server (with the rights to create the extension and reset its counters: the bench's admin).
 */
export async function statementProbe(admin: pg.Client, database: string): Promise<StatementProbe> {
  await admin.query('create extension if not exists pg_stat_statements');
  const { rows } = await admin.query<{ oid: number }>('select oid from pg_database where datname = $1', [
    database,
  ]);
  const oid = rows[0]?.oid;
  if (oid === undefined) throw new Error(`pg-stats: no database ${database}`);
  return {
    reset: async () => {
      await admin.query('select pg_stat_statements_reset(0, $1, 0)', [oid]);
    },
    read: async () => {
      const r = await admin.query<{
        query: string;
        calls: string;
        plans: string;
        exec_ms: number;
        plan_ms: number;
        wal_bytes: string;
        wal_records: string;
      }>(
        `select query, calls, plans, total_exec_time as exec_ms, total_plan_time as plan_ms, wal_bytes, wal_records
           from pg_stat_statements where dbid = $1`,
        [oid],
      );
      return r.rows.map((s) => ({
        query: s.query,
        calls: Number(s.calls),
        plans: Number(s.plans),
        execMs: s.exec_ms,
        planMs: s.plan_ms,
        walBytes: Number(s.wal_bytes),
        walRecords: Number(s.wal_records),
      }));
    },
  };
}

/** `totals` over `units` units of work named `per`. */
export function statementFigures(
  totals: readonly StatementTotals[],
  units: number,
  per: string,
): PgStatsFigures {
  const n = Math.max(1, units);
  const total = (f: (s: StatementTotals) => number) => totals.reduce((a, s) => a + f(s), 0);
  const figures = (s: StatementTotals): StatementFigures => {
    const calls = Math.max(1, s.calls);
    return {
      callsPer: round(s.calls / n, 3),
      usPerCall: round((s.execMs * 1000) / calls, 1),
      planUsPerCall: round((s.planMs * 1000) / calls, 1),
      plansPerCall: round(s.plans / calls, 2),
      walBytesPerCall: Math.round(s.walBytes / calls),
      walRecordsPerCall: round(s.walRecords / calls, 2),
      query: s.query.replace(/\s+/g, ' ').trim().slice(0, QUERY_CHARS),
    };
  };
  const top = (key: (s: StatementTotals) => number) =>
    [...totals]
      .sort((a, b) => key(b) - key(a))
      .slice(0, TOP)
      .map(figures);
  return {
    per,
    units,
    statements: round(total((s) => s.calls) / n, 2),
    execUs: Math.round((total((s) => s.execMs) * 1000) / n),
    planUs: Math.round((total((s) => s.planMs) * 1000) / n),
    walBytes: Math.round(total((s) => s.walBytes) / n),
    walRecords: round(total((s) => s.walRecords) / n, 2),
    topByCalls: top((s) => s.calls),
    topByTime: top((s) => s.execMs + s.planMs),
  };
}

/**
 * A window's reset and read, started from the bench's synchronous edge callbacks and awaited after
 * the run: a failure is answered in the figures rather than failing the bench's other figures.
 */
export class StatsWindow {
  private readonly reset: Promise<unknown>;
  private read: Promise<StatementTotals[][]> | undefined;

  constructor(private readonly probes: readonly StatementProbe[]) {
    this.reset = Promise.all(probes.map((p) => p.reset()));
    this.reset.catch(() => {}); // answered in `figures`
  }

  /**
   * Settles when the counters are reset (or failed to be). The bench does not wait: statements in the
   * reset's round trip (a millisecond or two) are left out, against a window of seconds.
   */
  async opened(): Promise<void> {
    await this.reset.catch(() => {});
  }

  close(): void {
    this.read ??= this.reset.then(() => Promise.all(this.probes.map((p) => p.read())));
    this.read.catch(() => {});
  }

  /** Each probe's figures (in the probes' order), or the error that stopped them. */
  async figures(units: number, per: string): Promise<PgStatsFigures[] | { error: string }> {
    try {
      this.close();
      const read = await this.read!;
      return read.map((totals) => statementFigures(totals, units, per));
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }
}
