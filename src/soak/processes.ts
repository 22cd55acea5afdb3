/**
 * The soak's server processes: `lancash wide-bank` and `lancash gateway` run as the operator runs
 * them (node on the CLI, not in the soak's process), so a kill -9 is a real crash. A server first
 * takes free loopback ports and keeps them: a restart after a kill comes back on the same ports and
 * the same data, as a supervisor would bring it back. Its stderr (pino JSON) goes to a log file.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fail } from '../core/errors.js';

/** The checkout (or installed package) root: `src/soak/` and `dist/soak/` are both two levels down. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Run from the sources (tsx, in tests) or from the build: children run the same way as this file. */
const FROM_SOURCES = fileURLToPath(import.meta.url).endsWith('.ts');

/** Node's arguments that run `module` (a path under `src/` or `dist/` without its extension). */
export function nodeArgsFor(module: string): string[] {
  const file = fileURLToPath(new URL(`../${module}.${FROM_SOURCES ? 'ts' : 'js'}`, import.meta.url));
  return FROM_SOURCES ? ['--import', 'tsx', file] : [file];
}

const LISTENING = /^listening on (\S+)\s*$/;
const ANY_PORT = '127.0.0.1:0';

export class ServerProcess {
  private proc: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  /** The `listening on` URLs of the first start; a restart takes the same ports. */
  urls: string[] = [];
  starts = 0;

  /** `args` may hold `127.0.0.1:0` for each listener, in the order the server prints them. */
  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly listeners: number,
    private readonly logFile: string,
    private readonly env: Record<string, string> = {},
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts the server and waits for its listening lines (a minute at most). */
  async start(): Promise<void> {
    let next = 0;
    const args = this.args.map((a) =>
      a === ANY_PORT && this.urls.length > 0 ? new URL(this.urls[next++]!).host : a,
    );
    const log = openSync(this.logFile, 'a');
    const proc = spawn(process.execPath, [...nodeArgsFor('cli/main'), ...args], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', log],
    });
    closeSync(log);
    this.proc = proc;
    this.starts += 1;
    this.exited = new Promise((resolve) => {
      proc.once('close', (code) => resolve(code));
      proc.once('error', () => resolve(null));
    });
    const urls: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: not listening within 60 s (see ${this.logFile})`)),
        60_000,
      );
      let partial = '';
      proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
        const lines = (partial + s).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const m = LISTENING.exec(line);
          if (m && urls.length < this.listeners) urls.push(m[1]!);
        }
        if (urls.length >= this.listeners) {
          clearTimeout(timer);
          resolve();
        }
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${code} before listening (see ${this.logFile})`));
      });
    });
    if (this.urls.length === 0) this.urls = urls;
  }

  /** A crash: SIGKILL, nothing flushed, no drain. Resolves once the process is gone. */
  async kill9(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.exited;
  }

  /** A clean stop (SIGTERM drains); SIGKILL after 30 s. Resolves with the exit code. */
  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return this.exited;
    proc.kill('SIGTERM');
    const force = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(force);
    return code;
  }
}

/** Runs `lancash …args` to completion; its stdout, or a failure naming its stderr. */
export function runLancashCommand(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeArgsFor('cli/main'), ...args],
      { cwd: PACKAGE_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code =
          error === null
            ? 0
            : typeof (error as { code?: unknown }).code === 'number'
              ? (error as { code: number }).code
              : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The JSON a `lancash` command printed, or a failure that names the command and its stderr. */
export function jsonOf(what: string, run: { code: number; stdout: string; stderr: string }): unknown {
  try {
    return JSON.parse(run.stdout) as unknown;
  } catch {
    return fail('Internal', {
      reason: `${what} exited ${run.code} without JSON: ${run.stderr.slice(-2000)}`,
    });
  }
}
