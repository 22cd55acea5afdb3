/**
 * CPU time by thread, for the benches' "where the time goes": this process's main thread, each other
 * thread (worker threads, V8's compiler and GC helpers) and the processes it started (a throwaway
 * PostgreSQL), read from Linux's /proc. CPU time per note barely moves when other programs load the
 * machine, unlike notes per second, so it shows what a change saved even on a busy machine.
 * Elsewhere than Linux the samples are undefined and the figures left out.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

export interface CpuSample {
  /** CPU milliseconds by thread id; the main thread's id is the process id. */
  threads: Map<number, number>;
  /** CPU milliseconds of the processes descended from this one (less those of `apart`), with the children they reaped. */
  children: number;
  /** CPU milliseconds of the processes descended from the `apart` pids given (a load driver), themselves included. */
  apart: number;
  /** CPU milliseconds of the `own` pids given themselves, all their threads (a server forked as its own process); their descendants count in `children`. */
  own?: number;
  /** Of which their main threads'. */
  ownMain?: number;
}

/** µs of CPU per note by part, over a window between two samples. */
export interface CpuPerNote {
  main: number;
  /** The `workers` busiest threads besides the main one: the crypto workers. */
  workers: number;
  /** Every other thread: V8's compiler and garbage collector helpers, libuv. */
  other: number;
  /** Processes this one started (the throwaway PostgreSQL servers). */
  database: number;
  /** The wide bank in its own process (all its threads), when the bench forked it so. */
  bank?: number;
  /** Of which its main thread (its event loop). */
  bankMain?: number;
  total: number;
}

/**
 * From a /proc stat line (the command may hold spaces): utime + stime in ms, cutime + cstime (the
 * children it has reaped, e.g. PostgreSQL's postmaster its backends) and the parent pid.
 */
export function stat(path: string): { ms: number; reaped: number; ppid: number } | undefined {
  let line: string;
  try {
    line = readFileSync(path, 'utf8');
  } catch {
    return undefined; // the thread or process ended meanwhile
  }
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const ticks = (...i: number[]) => i.reduce((n, k) => n + Number(f[k]), 0) * TICK_MS;
  return { ms: ticks(11, 12), reaped: ticks(13, 14), ppid: Number(f[1]) };
}

/**
 * `apart`: pids whose process trees are counted apart from `children` (e.g. the bench's load driver).
 * `own`: pids counted by themselves in `own` (a server in its own process), their descendants (its
 * database server) still in `children`.
 */
export function sampleCpu(apart: readonly number[] = [], own?: readonly number[]): CpuSample | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const threads = new Map<number, number>();
  for (const tid of tids) {
    const s = stat(`/proc/self/task/${tid}/stat`);
    if (s) threads.set(Number(tid), s.ms);
  }
  const procs = new Map<number, { ms: number; reaped: number; ppid: number }>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const s = stat(`/proc/${pid}/stat`);
    if (s) procs.set(Number(pid), s);
  }
  let children = 0;
  let aside = 0;
  let mine = 0;
  let mineMain = 0;
  for (const [pid, s] of procs) {
    if (pid === process.pid) continue;
    if (own?.includes(pid)) {
      mine += s.ms;
      mineMain += stat(`/proc/${pid}/task/${pid}/stat`)?.ms ?? 0;
      continue;
    }
    let kept = apart.includes(pid);
    for (let up = s.ppid, depth = 0; up > 1 && depth < 16; up = procs.get(up)?.ppid ?? 0, depth++) {
      if (apart.includes(up)) kept = true;
      if (up === process.pid) {
        // With what it reaped: a backend that ended inside the window (the pool's idle timeout)
        // took its time along from its own line to its parent's, not out of the count.
        if (kept) aside += s.ms + s.reaped;
        else children += s.ms + s.reaped;
        break;
      }
    }
  }
  return { threads, children, apart: aside, ...(own ? { own: mine, ownMain: mineMain } : {}) };
}

export function cpuPerNote(
  a: CpuSample | undefined,
  b: CpuSample | undefined,
  notes: number,
  workers: number,
): CpuPerNote | undefined {
  if (a === undefined || b === undefined || notes === 0) return undefined;
  const us = (ms: number) => Math.round((ms * 1000) / notes);
  const spent = [...b.threads].map(([tid, ms]) => ({ tid, ms: ms - (a.threads.get(tid) ?? 0) }));
  const main = spent.find((t) => t.tid === process.pid)?.ms ?? 0;
  const others = spent.filter((t) => t.tid !== process.pid).sort((x, y) => y.ms - x.ms);
  const busiest = others.slice(0, workers).reduce((n, t) => n + t.ms, 0);
  const rest = others.slice(workers).reduce((n, t) => n + t.ms, 0);
  const database = Math.max(0, b.children - a.children); // one this process reaped meanwhile took its time along
  const bank = a.own !== undefined && b.own !== undefined ? b.own - a.own : undefined;
  return {
    main: us(main),
    workers: us(busiest),
    other: us(rest),
    database: us(database),
    ...(bank !== undefined ? { bank: us(bank), bankMain: us((b.ownMain ?? 0) - (a.ownMain ?? 0)) } : {}),
    total: us(main + busiest + rest + database + (bank ?? 0)),
  };
}
