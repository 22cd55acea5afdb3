/**
 * `machine.ts`: the kernel's files parsed, the figures of a span from the samples around it, and, on
 * Linux, a recorder whose figures over a span of this process's own work are shares between 0 and 1.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { traceClock } from '../core/step-trace.js';
import {
  type MachineSample,
  machineFigures,
  parsePressure,
  parseProcStat,
  recordMachine,
  spanFigures,
} from './machine.js';

describe('parseProcStat', () => {
  it('reads the aggregate line: busy is user, nice, system, irq and softirq; total adds idle, iowait and steal', () => {
    const text = 'cpu  100 5 20 800 30 1 4 40 0 0\ncpu0 50 2 10 400 15 0 2 20 0 0\n';
    expect(parseProcStat(text)).toEqual({ busy: 130, steal: 40, iowait: 30, total: 1000 });
  });
  it('answers undefined for anything else', () => {
    expect(parseProcStat('intr 1 2 3')).toBeUndefined();
    expect(parseProcStat('')).toBeUndefined();
  });
});

describe('parsePressure', () => {
  it('reads the some and full totals, microseconds', () => {
    const text =
      'some avg10=1.55 avg60=9.89 avg300=15.77 total=1951290334\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=42\n';
    expect(parsePressure(text)).toEqual({ some: 1951290334, full: 42 });
    expect(parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n')).toEqual({ some: 7 });
  });
});

const at = (t: number, busy: number, total: number, ioFull: number): MachineSample => ({
  at: t,
  cpu: { busy, steal: 0, iowait: total / 10, total },
  cpuSome: t * 100,
  ioSome: ioFull * 2,
  ioFull,
});

describe('machineFigures and spanFigures', () => {
  it('gives each counter as a share of the span between two samples', () => {
    // 100 ms; the cores 60 of 200 ticks busy; 50 ms of CPU pressure; 20 ms of every task on the disk.
    const f = machineFigures(at(1000, 100, 1000, 0), at(1100, 160, 1200, 20_000));
    expect(f).toEqual({
      ms: 100,
      cpuBusy: 0.3,
      steal: 0,
      iowait: 0.1,
      cpuPressure: 0.1,
      ioPressure: 0.4,
      ioPressureFull: 0.2,
    });
  });
  it('leaves out what a sample lacks', () => {
    expect(machineFigures({ at: 0 }, { at: 50 })).toEqual({ ms: 50 });
  });
  it('takes the samples around the span, and none without two', () => {
    const samples = [at(0, 0, 0, 0), at(20, 10, 40, 0), at(40, 30, 80, 10_000), at(60, 40, 120, 10_000)];
    expect(spanFigures(samples, 25, 45)).toEqual(machineFigures(samples[1]!, samples[3]!));
    expect(spanFigures(samples, 20, 40)?.ioPressureFull).toBe(0.5);
    expect(spanFigures(samples, 50, 90)).toBeUndefined();
    expect(spanFigures([], 0, 10)).toBeUndefined();
  });
});

describe.runIf(existsSync('/proc/stat'))('recordMachine on Linux', () => {
  it('gives the shares of a span of its own work, each between 0 and 1', async () => {
    const recorder = recordMachine(5);
    const from = traceClock();
    const until = from + 60;
    let x = 0;
    while (traceClock() < until) {
      x += Math.sqrt(x + 1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const to = traceClock();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const f = recorder.stop()(from, to);
    expect(x).toBeGreaterThan(0);
    expect(f).toBeDefined();
    expect(f!.ms).toBeGreaterThanOrEqual(55);
    for (const v of [f!.cpuBusy, f!.steal, f!.iowait, f!.cpuPressure, f!.ioPressure, f!.ioPressureFull]) {
      if (v === undefined) continue;
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    // This process kept a core busy: the cores' share cannot read zero.
    expect(f!.cpuBusy).toBeGreaterThan(0);
  });
});
