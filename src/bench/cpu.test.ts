/** CPU accounting for the benches: parts split as documented, and a live sample finds this thread. */
import { describe, expect, it } from 'vitest';
import { type CpuSample, cpuPerNote, sampleCpu } from './cpu.js';

describe('bench cpu accounting', () => {
  it('splits CPU per note into main thread, the busiest threads as workers, other threads and children', () => {
    const at = (main: number, others: [number, number][], children: number): CpuSample => ({
      threads: new Map([[process.pid, main], ...others]),
      children,
      apart: 0,
    });
    // Thread 3 appears meanwhile; thread 4 (10 ms) is the least busy, so it is "other".
    const a = at(
      100,
      [
        [2, 50],
        [4, 5],
      ],
      40,
    );
    const b = at(
      300,
      [
        [2, 850],
        [3, 700],
        [4, 15],
      ],
      140,
    );
    expect(cpuPerNote(a, b, 1000, 2)).toEqual({
      main: 200,
      workers: 1500,
      other: 10,
      database: 100,
      total: 1810,
    });
    expect(cpuPerNote(a, undefined, 1000, 2)).toBeUndefined();
  });

  it.runIf(process.platform === 'linux')('samples this process on Linux', () => {
    const s = sampleCpu();
    expect(s?.threads.has(process.pid)).toBe(true);
  });
});
