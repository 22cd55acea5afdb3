/**
 * Stopping a server the ways docs/operations.md ("Running the servers") documents: SIGTERM to the
 * built launcher `node bin/lancash.js`, or to a script that `exec`s it, drains the server, exits 0
 * and frees its port. And why the documents say `exec`: a shell that waits for the server instead
 * dies of the signal and leaves the server running, as `npx lancash` does (its `sh -c`). Runs the
 * built `dist/` (made by `npm install` / `npm ci` through `prepare`), as an operator does.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, REPO_ROOT, startProcess, wideBankArgs } from '../test-support/process.js';

const LAUNCHER = join(REPO_ROOT, 'bin/lancash.js');

/** Resolves once this process could listen on `port` itself: nothing holds it any more. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

const portOf = (url: string) => Number(new URL(url).port);

/** The server's pid, from its pino log lines on stderr (`"pid":N`). */
function pidIn(stderr: string): number {
  const m = /"pid":(\d+)/.exec(stderr);
  if (!m) throw new Error(`no pid in the server's log:\n${stderr}`);
  return Number(m[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stopping a server with SIGTERM', () => {
  let root: string;
  beforeAll(() => {
    if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js')))
      throw new Error('dist/ is not built: run `npm install` or `npm run build` first');
    root = mkdtempSync(join(tmpdir(), 'lancash-signals-'));
  });
  afterEach(() => killAll('SIGKILL'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('node bin/lancash.js: drains, exits 0 and frees its port', async () => {
    const bank = await startProcess(wideBankArgs(join(root, 'direct')), {
      command: [process.execPath, LAUNCHER],
    });
    const port = portOf(bank.url);
    expect(await portIsFree(port)).toBe(false);
    expect(await bank.kill('SIGTERM'), bank.stderr()).toBe(0);
    expect(bank.stderr()).toContain('"msg":"closed"');
    expect(await portIsFree(port)).toBe(true);
  });

  it('a script that execs it: SIGTERM to the script reaches the server, which exits 0', async () => {
    const script = 'exec "$0" "$@"';
    const bank = await startProcess(wideBankArgs(join(root, 'exec')), {
      command: ['/bin/sh', '-c', script, process.execPath, LAUNCHER],
    });
    // exec: the script's process is the server's.
    expect(pidIn(bank.stderr())).toBe(bank.proc.pid);
    const port = portOf(bank.url);
    expect(await bank.kill('SIGTERM'), bank.stderr()).toBe(0);
    expect(await portIsFree(port)).toBe(true);
  });

  it('a script that waits for it instead: the script dies of SIGTERM and the server keeps running', async () => {
    // The trailing command keeps the shell from exec'ing the server itself.
    const script = '"$0" "$@"; echo "lancash exited with $?"';
    const bank = await startProcess(wideBankArgs(join(root, 'no-exec')), {
      command: ['/bin/sh', '-c', script, process.execPath, LAUNCHER],
    });
    const server = pidIn(bank.stderr());
    expect(server).not.toBe(bank.proc.pid);
    try {
      // Not bank.kill(): that waits for the pipes to close, and the surviving server holds them.
      const shell = new Promise<NodeJS.Signals | null>((resolve) =>
        bank.proc.once('exit', (_code, signal) => resolve(signal)),
      );
      bank.proc.kill('SIGTERM');
      expect(await shell).toBe('SIGTERM'); // the shell died of it
      expect(alive(server)).toBe(true);
      expect(await portIsFree(portOf(bank.url))).toBe(false);
    } finally {
      process.kill(server, 'SIGTERM');
    }
  });
});
