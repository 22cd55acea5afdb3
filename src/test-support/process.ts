/**
 * Real server processes for integration tests: runs `lancash …` from the build or the sources
 * (`lancashCommand`), waits for its `listening on URL` line(s) (docs/design.md §9), and keeps track of every
 * process so `afterEach(killAll)` leaves no server behind. `runLancash` runs a command that is not
 * a server to completion.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testRuntime } from './env.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface StartOptions {
  env?: Record<string, string>;
  /** Default: the repository root. */
  cwd?: string;
  /** The entry point run with tsx; default the CLI, `src/cli/main.ts` (relative to the repo root or absolute). */
  script?: string;
  /**
   * The command to run instead of `node --import tsx SCRIPT`, before `args`: e.g. the built launcher
   * `[process.execPath, 'bin/lancash.js']`, or a shell script, as an operator runs a server.
   */
  command?: string[];
  /** How many `listening on` lines to wait for (the gateway prints two); default 1. */
  listeners?: number;
  /** Instead of `listening on` lines, a stdout line that says the process is ready (the demo prints none). */
  ready?: RegExp;
  /** Longest wait for the listening lines; default 30 s (tsx compiles on first start). */
  startTimeoutMs?: number;
  /**
   * Largest file the process may write, in bytes (rounded down to 512-byte blocks): the shell's
   * `ulimit -f` (RLIMIT_FSIZE), so writes past it fail as on a full disk, without root or a small
   * filesystem. Node ignores SIGXFSZ, so the write fails with EFBIG instead of killing the process.
   */
  maxFileBytes?: number;
}

export interface Started {
  /** From the first `listening on URL` line ('' when started with `ready`). */
  url: string;
  /** Every `listening on URL` line, in order. */
  urls: string[];
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (null when a signal ended it). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const LISTENING = /^listening on (\S+)\s*$/;
/** After a polite signal, how long a process gets before SIGKILL. */
const KILL_GRACE_MS = 10_000;

const running = new Set<Started>();

/**
 * `lancash wide-bank` on a free loopback port with its data in `data` and the fake Lightning backend
 * (it mints for nothing: tests only), then `more`.
 */
export function wideBankArgs(data: string, ...more: string[]): string[] {
  return ['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', '--data', data, ...more];
}

/** `lancash gateway` on two free loopback ports (LAN, then WAN) against the bank at `bank`, then `more`. */
export function gatewayArgs(bank: string, ...more: string[]): string[] {
  return ['gateway', '--lan', '127.0.0.1:0', '--wan', '127.0.0.1:0', '--wide-bank', bank, ...more];
}

/**
 * The node arguments that run `lancash`: the built `dist/cli/main.js` or the sources through tsx
 * (`testRuntime()`, env.ts). Relative to `REPO_ROOT`.
 */
export function lancashCommand(): string[] {
  return testRuntime() === 'dist' ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
}

/** Spawns `lancash ...args` (or `node --import tsx SCRIPT ...args`) and resolves once it listens. */
export async function startProcess(args: string[], o: StartOptions = {}): Promise<Started> {
  const wanted = o.listeners ?? 1;
  const script = o.script === undefined ? lancashCommand() : ['--import', 'tsx', o.script];
  const command = [...(o.command ?? script.slice(-1)), ...args].join(' ');
  const node = o.command !== undefined ? [...o.command, ...args] : [process.execPath, ...script, ...args];
  const [file, ...argv] =
    o.maxFileBytes === undefined
      ? node
      : ['/bin/sh', '-c', 'ulimit -f "$0" && exec "$@"', String(Math.floor(o.maxFileBytes / 512)), ...node];
  const proc = spawn(file!, argv, {
    cwd: o.cwd ?? REPO_ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const urls: string[] = [];
  const exited = new Promise<number | null>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr are read to the end.
    proc.once('close', (code) => resolve(code));
    proc.once('error', () => resolve(null)); // could not spawn at all
  });

  const started: Started = {
    url: '',
    urls,
    proc,
    stdout: () => out,
    stderr: () => err,
    kill: (signal = 'SIGTERM') => stop(proc, exited, signal),
  };
  running.add(started);
  void exited.then(() => running.delete(started));

  proc.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void started.kill('SIGKILL');
      reject(
        new Error(
          `${command}: no ${o.ready ?? `${wanted} "listening on" line(s)`} within ${o.startTimeoutMs ?? 30_000} ms\n${err}`,
        ),
      );
    }, o.startTimeoutMs ?? 30_000);
    let partial = '';
    let ready = false;
    proc.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = LISTENING.exec(line);
        if (m && urls.length < wanted) urls.push(m[1]!);
        if (o.ready?.test(line)) ready = true;
      }
      if (o.ready === undefined ? urls.length >= wanted : ready) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before listening\n${err}`));
    });
  });
  started.url = urls[0] ?? '';
  return started;
}

/** Stops every process `startProcess` started that is still running; for `afterEach`. */
export async function killAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await Promise.all([...running].map((p) => p.kill(signal)));
}

async function stop(
  proc: ChildProcess,
  exited: Promise<number | null>,
  signal: NodeJS.Signals,
): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return exited;
  proc.kill(signal);
  // A process that ignores the signal must not outlive the test run.
  const force = setTimeout(() => proc.kill('SIGKILL'), KILL_GRACE_MS);
  const code = await exited;
  clearTimeout(force);
  return code;
}

/** How a `lancash` command run to completion ended. */
export interface CliRun {
  /** The exit code; null when a signal ended it or it could not start. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs `lancash …args` to completion (a command, not a server), as `lancashCommand()` says. */
export function runLancash(
  args: string[],
  o: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...lancashCommand(), ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...o.env },
        ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
      },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: unknown; signal?: string }) | null;
        const code = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
        resolve({ code, signal: e?.signal ?? null, stdout, stderr });
      },
    );
  });
}
