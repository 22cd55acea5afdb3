/**
 * The home lock against real processes: four contenders start in the same millisecond on one home,
 * with no lock file and with a dead owner's lock; never two of them hold it at once.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test-support/process.js';
import { lockHome } from './lock.js';

const RACER = join(REPO_ROOT, 'src/test-support/lock-racer.ts');

/** Runs four contenders on one home; answers the intervals in which each held the lock. */
async function race(home: string): Promise<{ held: [number, number][]; busy: number }> {
  const log = join(home, 'race.log');
  writeFileSync(log, '');
  const start = Date.now() + 6000; // after every contender has loaded tsx, even on a busy machine
  await Promise.all(
    Array.from(
      { length: 4 },
      () =>
        new Promise<void>((resolve, reject) => {
          const p = spawn(process.execPath, ['--import', 'tsx', RACER, home, log, String(start), '300'], {
            cwd: REPO_ROOT,
            stdio: 'inherit',
          });
          p.once('error', reject);
          p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`contender exited ${code}`))));
        }),
    ),
  );
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  const held = lines
    .filter((l) => l.startsWith('got '))
    .map((l) => l.split(' ').slice(1).map(Number) as [number, number])
    .sort((a, b) => a[0] - b[0]);
  return { held, busy: lines.filter((l) => l === 'busy').length };
}

function expectNoOverlap(held: [number, number][]): void {
  expect(held.length).toBeGreaterThan(0);
  for (let i = 1; i < held.length; i++) expect(held[i]![0]).toBeGreaterThanOrEqual(held[i - 1]![1]);
}

describe('wallet home lock', () => {
  it('one holder at a time when four processes start at once (no lock, then a dead owner’s lock)', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    for (const stale of [false, true]) {
      const home = mkdtempSync(join(tmpdir(), 'lancash-lock-'));
      try {
        if (stale) writeFileSync(join(home, 'wallet.lock'), String(deadPid));
        const { held, busy } = await race(home);
        expectNoOverlap(held);
        expect(held.length + busy).toBe(4);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  }, 120_000);

  it('takes over a dead owner’s lock, refuses a live one, and waits out an empty lock that may be in the making', () => {
    const home = mkdtempSync(join(tmpdir(), 'lancash-lock-'));
    try {
      const file = join(home, 'wallet.lock');
      writeFileSync(file, String(spawnSync(process.execPath, ['-e', '']).pid));
      lockHome(home).release();
      writeFileSync(file, String(process.ppid));
      expect(() => lockHome(home)).toThrow(/in use by process/);
      writeFileSync(file, '');
      expect(() => lockHome(home)).toThrow(/in use by another process/);
      rmSync(file);
      const lock = lockHome(home);
      expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
      lock.release();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
