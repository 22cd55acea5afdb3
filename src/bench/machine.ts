/**
 * `bench gateway --trace-steps`: what the machine was doing while the slowest conversions waited, on
 * Linux. A sampler reads the kernel's CPU counters (`/proc/stat`) and pressure stall information
 * (`/proc/pressure/cpu`, `/proc/pressure/io`: the time some task, or every task, was held up waiting
 * for a core or for the disk) every `MACHINE_SAMPLE_MS`, on the step marks' clock. Over a span it
 * gives the share of the cores busy, stolen by the hypervisor and idle waiting for I/O, and the
 * pressure as a share of the span. It tells the half-load tail's moments apart (round fourteen): a
 * burst of arrivals (cores busy, CPU pressure), a disk's stall (I/O pressure "full": every task that
 * could run waited for the disk), a neighbour on the host (steal), or a wait on nothing the machine
 * did (cores idle, no pressure). Elsewhere, or where the kernel has no pressure files, it records
 * what it can and leaves the rest out.
 */
import { readFileSync } from 'node:fs';
import { traceClock } from '../core/step-trace.js';

/** Milliseconds between samples: each is three small reads of kernel files. */
export const MACHINE_SAMPLE_MS = 20;

/** One reading of the kernel's counters. */
export interface MachineSample {
  /** When it was read (trace clock, unix ms). */
  at: number;
  /** `/proc/stat`'s first line: every core's time (in clock ticks) by kind. */
  cpu?: { busy: number; steal: number; iowait: number; total: number };
  /** Pressure stall totals, microseconds since boot (`some`: at least one task waited; `full`: all). */
  cpuSome?: number;
  ioSome?: number;
  ioFull?: number;
}

/** The machine over a span, each a share of it (0–1). */
export interface MachineFigures {
  /** The span's length as sampled, ms. */
  ms: number;
  /** Of all cores' time: running anything, stolen by the host, idle with I/O outstanding. */
  cpuBusy?: number;
  steal?: number;
  iowait?: number;
  /** Of the span's wall time: some task waited for a core; some task, every task waited for the disk. */
  cpuPressure?: number;
  ioPressure?: number;
  ioPressureFull?: number;
}

/** `/proc/stat`'s aggregate line as busy, steal, iowait and total ticks (proc(5): user nice system idle iowait irq softirq steal). */
export function parseProcStat(text: string): MachineSample['cpu'] {
  const line = text.split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu' || f.length < 9) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f.slice(1, 9).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    busy: user + nice + system + irq + softirq,
    steal,
    iowait,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
  };
}

/** A pressure file's `some` and `full` totals, microseconds (Documentation/accounting/psi.rst). */
export function parsePressure(text: string): { some?: number; full?: number } {
  const out: { some?: number; full?: number } = {};
  for (const line of text.split('\n')) {
    const m = /^(some|full)\b.*\btotal=(\d+)/.exec(line);
    if (m) out[m[1] as 'some' | 'full'] = Number(m[2]);
  }
  return out;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** One sample now. */
export function sampleMachine(): MachineSample {
  const stat = readOr('/proc/stat');
  const cpu = readOr('/proc/pressure/cpu');
  const io = readOr('/proc/pressure/io');
  const ioP = io === undefined ? {} : parsePressure(io);
  const cpuP = cpu === undefined ? {} : parsePressure(cpu);
  return {
    at: traceClock(),
    ...(stat === undefined ? {} : { cpu: parseProcStat(stat) }),
    ...(cpuP.some === undefined ? {} : { cpuSome: cpuP.some }),
    ...(ioP.some === undefined ? {} : { ioSome: ioP.some }),
    ...(ioP.full === undefined ? {} : { ioFull: ioP.full }),
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The figures between two samples (`b` after `a`); a counter either lacks is left out. */
export function machineFigures(a: MachineSample, b: MachineSample): MachineFigures {
  const ms = b.at - a.at;
  const out: MachineFigures = { ms: Math.round(ms) };
  if (a.cpu && b.cpu && b.cpu.total > a.cpu.total) {
    const total = b.cpu.total - a.cpu.total;
    out.cpuBusy = round3((b.cpu.busy - a.cpu.busy) / total);
    out.steal = round3((b.cpu.steal - a.cpu.steal) / total);
    out.iowait = round3((b.cpu.iowait - a.cpu.iowait) / total);
  }
  const share = (x?: number, y?: number) =>
    x === undefined || y === undefined || ms <= 0 ? undefined : round3((y - x) / 1000 / ms);
  const cpuPressure = share(a.cpuSome, b.cpuSome);
  const ioPressure = share(a.ioSome, b.ioSome);
  const ioPressureFull = share(a.ioFull, b.ioFull);
  if (cpuPressure !== undefined) out.cpuPressure = cpuPressure;
  if (ioPressure !== undefined) out.ioPressure = ioPressure;
  if (ioPressureFull !== undefined) out.ioPressureFull = ioPressureFull;
  return out;
}

/**
 * The figures of the span `from`–`to` (trace clock) from `samples` in time order: between the last
 * sample at or before `from` and the first at or after `to`; undefined without two such samples.
 */
export function spanFigures(
  samples: readonly MachineSample[],
  from: number,
  to: number,
): MachineFigures | undefined {
  let first: MachineSample | undefined;
  let last: MachineSample | undefined;
  for (const s of samples) {
    if (s.at <= from) first = s;
    if (s.at >= to) {
      last = s;
      break;
    }
  }
  first ??= samples.find((s) => s.at > from && s.at < to);
  return first && last && last.at > first.at ? machineFigures(first, last) : undefined;
}

export interface MachineRecorder {
  /** Stops sampling; the figures of any span of the recorded time. */
  stop(): (from: number, to: number) => MachineFigures | undefined;
}

/** Starts sampling every `everyMs` (timers unref'd: it never keeps the process up). */
export function recordMachine(everyMs = MACHINE_SAMPLE_MS): MachineRecorder {
  const samples: MachineSample[] = [sampleMachine()];
  const timer = setInterval(() => samples.push(sampleMachine()), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(sampleMachine());
      return (from, to) => spanFigures(samples, from, to);
    },
  };
}
