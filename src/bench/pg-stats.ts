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
 *
 * Beside the statements, the server as a whole over the same window (`ServerSample`): its CPU by
 * process (client backends, walwriter, checkpointer, autovacuum, the postmaster, the processes that
 * ended meanwhile) from Linux's /proc, its commits, its WAL (`pg_stat_wal`: records, full-page images,
 * writes and syncs) and the tables autovacuum vacuumed or analyzed: what a statement's time does not
 * show (a commit's flush, the WAL writer, an analyze that invalidates every connection's plans).
 * Backends report their commits and WAL to the shared statistics up to a second late (PostgreSQL 15's
 * `PGSTAT_MIN_INTERVAL`): over a window of seconds at a steady rate the lag at both edges cancels.
 */
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { stat } from './cpu.js';
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
  /** The server's counters now (a server on this host, readable /proc); absent: not counted. */
  sample?(): Promise<ServerSample>;
}

/** A server's cumulative counters at one moment. */
export interface ServerSample {
  /** CPU ms of each live child of the postmaster, by pid, with its kind. */
  processes: Map<number, { kind: string; ms: number }>;
  postmasterMs: number;
  /** CPU ms of the postmaster's children that ended (an autovacuum worker, a closed connection). */
  reapedMs: number;
  /** The database's transactions committed and rolled back, and the deadlocks its server broke. */
  commits: number;
  rollbacks: number;
  deadlocks: number;
  wal: { records: number; fpi: number; bytes: number; writes: number; syncs: number };
  /**
   * The WAL segment files by name (`pg_ls_waldir()`, superuser only; absent when refused). A name
   * that appears between two samples is a segment created meanwhile: zero-filled and synced on the
   * commit path, every commit waiting (`ThrowawayOptions.walSegments`).
   */
  walFiles?: Set<string>;
  /** By table: vacuums and analyzes (auto and manual), rows updated and of which HOT (no index entry). */
  tables: Map<string, TableCounts>;
}

/** A table's cumulative counters (pg_stat_user_tables). */
export interface TableCounts {
  vacuums: number;
  analyzes: number;
  updates: number;
  hotUpdates: number;
}

/** A server's work over a window, per unit of work (CPU in µs). */
export interface ServerFigures {
  cpuUs: number;
  /** By process kind (pg_stat_activity's backend_type; `client backend` is this database's, `admin` any other's). */
  cpuUsByProcess: Record<string, number>;
  commits: number;
  rollbacks: number;
  /**
   * Over the whole window, not per unit: deadlocks PostgreSQL broke in this database (each cost a
   * `deadlock_timeout`, 1 s, of waiting and a retry; docs/performance.md, round eight).
   */
  deadlocks: number;
  walRecords: number;
  walFpi: number;
  walBytes: number;
  walWrites: number;
  walSyncs: number;
  /**
   * Over the whole window, not per unit: WAL segment files that appeared (created, each stalling
   * every commit while it is zero-filled and synced, unless recycled ahead of time); absent when the
   * server did not list them.
   */
  walSegmentsCreated?: number;
  /**
   * Over the whole window, not per unit, for the tables that changed: vacuums and analyzes (an
   * analyze invalidates the plans every connection keeps of the table's statements), rows updated and
   * of which HOT (a HOT update adds no index entries).
   */
  tables: Record<string, TableCounts>;
}

/** A process's CPU ms, what it reaped and its parent (`cpu.ts`'s reading of /proc); undefined once it ended. */
const procStat = (pid: number) => stat(`/proc/${pid}/stat`);

/** The postmaster's direct children from /proc, each with its CPU ms. */
function childrenOf(postmaster: number): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const p of pids) {
    if (!/^\d+$/.test(p)) continue;
    const s = procStat(Number(p));
    if (s?.ppid === postmaster) out.set(Number(p), s.ms);
  }
  return out;
}

/**
 * `database`'s server's counters over `admin` and a short-lived connection to `database` itself (its
 * tables' maintenance counts are visible from it only). The server must run on this host.
 */
async function serverSample(admin: pg.Client, database: string, oid: number): Promise<ServerSample> {
  const own = await admin.query<{ pid: number }>('select pg_backend_pid() as pid');
  const postmaster = procStat(own.rows[0]!.pid)?.ppid;
  if (postmaster === undefined) throw new Error('pg-stats: the server is not on this host');
  const kinds = await admin.query<{ pid: number; kind: string; datid: number | null }>(
    'select pid, backend_type as kind, datid from pg_stat_activity',
  );
  const db = await admin.query<{ commits: string; rollbacks: string; deadlocks: string }>(
    'select xact_commit as commits, xact_rollback as rollbacks, deadlocks from pg_stat_database where datid = $1',
    [oid],
  );
  const wal = await admin.query<{
    records: string;
    fpi: string;
    bytes: string;
    writes: string;
    syncs: string;
  }>(
    'select wal_records as records, wal_fpi as fpi, wal_bytes as bytes, wal_write as writes, wal_sync as syncs from pg_stat_wal',
  );
  const walFiles = await admin
    .query<{ name: string }>(`select name from pg_ls_waldir() where name ~ '^[0-9A-F]{24}$'`)
    .then(
      (r) => new Set(r.rows.map((f) => f.name)),
      () => undefined,
    );
  // Not counted itself: the window's statements are the bench's only.
  const c = new pg.Client({
    host: admin.host,
    port: admin.port,
    user: admin.user,
    database,
    options: '-c pg_stat_statements.track=none',
  });
  await c.connect();
  let tables: { relname: string; vacuums: string; analyzes: string; updates: string; hot: string }[];
  try {
    tables = (
      await c.query<{ relname: string; vacuums: string; analyzes: string; updates: string; hot: string }>(
        `select relname, vacuum_count + autovacuum_count as vacuums, analyze_count + autoanalyze_count as analyzes,
                n_tup_upd as updates, n_tup_hot_upd as hot
           from pg_stat_user_tables`,
      )
    ).rows;
  } finally {
    await c.end().catch(() => {});
  }
  // CPU last, after the queries' own work.
  const kind = new Map(
    kinds.rows.map((r) => [r.pid, r.kind === 'client backend' && Number(r.datid) !== oid ? 'admin' : r.kind]),
  );
  const processes = new Map<number, { kind: string; ms: number }>();
  for (const [pid, ms] of childrenOf(postmaster)) processes.set(pid, { kind: kind.get(pid) ?? 'other', ms });
  const pm = procStat(postmaster);
  const w = wal.rows[0]!;
  return {
    processes,
    postmasterMs: pm?.ms ?? 0,
    reapedMs: pm?.reaped ?? 0,
    commits: Number(db.rows[0]?.commits ?? 0),
    rollbacks: Number(db.rows[0]?.rollbacks ?? 0),
    deadlocks: Number(db.rows[0]?.deadlocks ?? 0),
    wal: {
      records: Number(w.records),
      fpi: Number(w.fpi),
      bytes: Number(w.bytes),
      writes: Number(w.writes),
      syncs: Number(w.syncs),
    },
    ...(walFiles ? { walFiles } : {}),
    tables: new Map(
      tables.map((t) => [
        t.relname,
        {
          vacuums: Number(t.vacuums),
          analyzes: Number(t.analyzes),
          updates: Number(t.updates),
          hotUpdates: Number(t.hot),
        },
      ]),
    ),
  };
}

/**
 * The server's work between samples `a` and `b` over `units`. A process that ended meanwhile took its
 * whole life's CPU into the postmaster's reaped time: the part it had spent before `a` is taken off.
 */
export function serverFigures(a: ServerSample, b: ServerSample, units: number): ServerFigures {
  const n = Math.max(1, units);
  const byKind = new Map<string, number>();
  const add = (k: string, ms: number) => byKind.set(k, (byKind.get(k) ?? 0) + ms);
  for (const [pid, p] of b.processes) add(p.kind, p.ms - (a.processes.get(pid)?.ms ?? 0));
  let ended = b.reapedMs - a.reapedMs;
  for (const [pid, p] of a.processes) if (!b.processes.has(pid)) ended -= p.ms;
  add('ended meanwhile', Math.max(0, ended));
  add('postmaster', b.postmasterMs - a.postmasterMs);
  const us = (ms: number) => Math.round((ms * 1000) / n);
  const total = [...byKind.values()].reduce((s, ms) => s + ms, 0);
  const tables: Record<string, TableCounts> = {};
  for (const [t, m] of b.tables) {
    const was = a.tables.get(t) ?? { vacuums: 0, analyzes: 0, updates: 0, hotUpdates: 0 };
    const d = {
      vacuums: m.vacuums - was.vacuums,
      analyzes: m.analyzes - was.analyzes,
      updates: m.updates - was.updates,
      hotUpdates: m.hotUpdates - was.hotUpdates,
    };
    if (d.vacuums > 0 || d.analyzes > 0 || d.updates > 0) tables[t] = d;
  }
  const per = (x: number) => round(x / n, 3);
  return {
    cpuUs: us(total),
    cpuUsByProcess: Object.fromEntries(
      [...byKind]
        .filter(([, ms]) => ms > 0)
        .sort((x, y) => y[1] - x[1])
        .map(([k, ms]) => [k, us(ms)]),
    ),
    commits: per(b.commits - a.commits),
    rollbacks: per(b.rollbacks - a.rollbacks),
    deadlocks: b.deadlocks - a.deadlocks,
    walRecords: per(b.wal.records - a.wal.records),
    walFpi: per(b.wal.fpi - a.wal.fpi),
    walBytes: Math.round((b.wal.bytes - a.wal.bytes) / n),
    walWrites: per(b.wal.writes - a.wal.writes),
    walSyncs: per(b.wal.syncs - a.wal.syncs),
    ...(a.walFiles && b.walFiles
      ? { walSegmentsCreated: [...b.walFiles].filter((f) => !a.walFiles!.has(f)).length }
      : {}),
    tables,
  };
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
  /** The server as a whole over the window (`StatementProbe.sample`), or why it is missing. */
  server?: ServerFigures | { error: string };
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
    sample: () => serverSample(admin, database, oid),
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
 * the run: a failure is answered in the figures rather than failing the bench's other figures. The
 * server's counters are sampled after the reset and before the read.
 */
export class StatsWindow {
  private readonly reset: Promise<unknown>;
  private readonly before: Promise<(ServerSample | Error | undefined)[]>;
  private read:
    | Promise<{ totals: StatementTotals[][]; after: (ServerSample | Error | undefined)[] }>
    | undefined;

  constructor(private readonly probes: readonly StatementProbe[]) {
    this.reset = Promise.all(probes.map((p) => p.reset()));
    this.reset.catch(() => {}); // answered in `figures`
    this.before = this.reset.then(
      () => this.samples(),
      () => this.samples(),
    );
  }

  private samples(): Promise<(ServerSample | Error | undefined)[]> {
    return Promise.all(
      this.probes.map((p) =>
        p.sample?.().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
      ),
    );
  }

  /**
   * Settles when the counters are reset (or failed to be). The bench does not wait: statements in the
   * reset's round trip (a millisecond or two) are left out, against a window of seconds.
   */
  async opened(): Promise<void> {
    await this.before;
  }

  close(): void {
    this.read ??= this.before
      .then(() => this.reset)
      .then(async () => {
        const after = await this.samples();
        return { totals: await Promise.all(this.probes.map((p) => p.read())), after };
      });
    this.read.catch(() => {});
  }

  /** Each probe's figures (in the probes' order), or the error that stopped them. */
  async figures(units: number, per: string): Promise<PgStatsFigures[] | { error: string }> {
    try {
      this.close();
      const { totals, after } = await this.read!;
      const before = await this.before;
      return totals.map((t, i) => {
        const f = statementFigures(t, units, per);
        const a = before[i];
        const b = after[i];
        if (a === undefined || b === undefined) return f;
        if (a instanceof Error || b instanceof Error) {
          return { ...f, server: { error: (a instanceof Error ? a : (b as Error)).message } };
        }
        return { ...f, server: serverFigures(a, b, units) };
      });
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }
}
