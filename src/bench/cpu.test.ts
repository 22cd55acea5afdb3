/** CPU accounting for the benches: parts split as documented, and a live sample finds this thread. */
import { spawn } from 'node:child_process';
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

  it('counts a server in its own process as its own part of the total', () => {
    const at = (main: number, own: number | undefined): CpuSample => ({
      threads: new Map([[process.pid, main]]),
      children: 0,
      apart: 0,
      ...(own !== undefined ? { own, ownMain: own / 2 } : {}),
    });
    expect(cpuPerNote(at(0, 100), at(400, 700), 100, 2)).toEqual({
      main: 4000,
      workers: 0,
      other: 0,
      database: 0,
      bank: 6000,
      bankMain: 3000,
      total: 10_000,
    });
    // Without the sample of the bank's process, no part is made up.
    expect(cpuPerNote(at(0, undefined), at(400, undefined), 100, 2)).not.toHaveProperty('bank');
  });

  it.runIf(process.platform === 'linux')('samples a forked server by its pid as its own part', async () => {
    // The child burns 200 ms of its own CPU, says so, then idles until killed.
    const burn =
      'const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };' +
      "while (u() < 200); process.stdout.write('ready'); setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ['-e', burn], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const s = sampleCpu([], [child.pid!]);
      expect(s?.own).toBeGreaterThanOrEqual(150);
      expect(s?.ownMain).toBeGreaterThanOrEqual(100);
      expect(sampleCpu()?.own).toBeUndefined();
    } finally {
      child.kill();
    }
  });

  it.runIf(process.platform === 'linux')(
    'keeps the time of a grandchild that ended, through its parent that reaped it',
    async () => {
      // As PostgreSQL's backends end under the postmaster: the shell reaps a child that burned 200 ms.
      const burn =
        'const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; }; while (u() < 200);';
      const shell = spawn('sh', ['-c', `"${process.execPath}" -e '${burn}'; echo ready; exec sleep 30`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise((resolve) => shell.stdout.once('data', resolve));
        expect(sampleCpu()?.children).toBeGreaterThanOrEqual(150);
      } finally {
        shell.kill();
      }
    },
  );

  it.runIf(process.platform === 'linux')('samples this process on Linux', () => {
    const s = sampleCpu();
    expect(s?.threads.has(process.pid)).toBe(true);
  });
});
