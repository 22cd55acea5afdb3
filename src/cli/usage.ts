/**
 * How a `lancash` command ends on a mistake (docs/design.md §9, docs/operations.md "Exit codes"): a
 * usage mistake (an unknown, missing or malformed option) exits 2 with one line naming the flag, a
 * refusal prints its wire form on stderr and exits 1; anything else is a bug and propagates.
 */
import type { CommanderError } from 'commander';
import { isLancashError } from '../core/errors.js';

/** The exit codes of every `lancash` command, for `lancash --help` (docs/operations.md says the same). */
export const EXIT_CODES = `
Exit codes (every command):
  0  done (a server: stopped by SIGTERM or SIGINT after draining)
  1  refused or failed: the request was refused (its error on stderr, JSON with a stable code),
     an audit found a difference, or a server could not start or stop cleanly
  2  a usage mistake: an unknown command or option, a missing option or value, a malformed value;
     nothing was changed`;

/**
 * commander's own errors (an unknown command or option, a missing option or argument) are usage
 * mistakes like ours: exit 2, not commander's default 1. Its --help and --version exit 0.
 */
export function commanderExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

/** A mistake in the command line (exit 2), as opposed to a refusal of the request (exit 1). */
export class UsageError extends Error {}

export function usage(message: string): never {
  throw new UsageError(message);
}

/**
 * Runs `lancash <command>`'s work: a usage mistake exits 2, a refusal prints its wire form and exits 1.
 * It exits at once rather than setting `process.exitCode`: a server whose start failed (its address
 * taken, say) may still hold its store, timers or a listener open, and must not linger looking alive
 * to a supervisor. stderr is written synchronously (files and pipes on Linux), so the line is out.
 */
export async function runCommand(command: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`lancash ${command}: ${err.message}\n`);
      process.exit(2);
    } else if (isLancashError(err)) {
      process.stderr.write(`${JSON.stringify({ error: err.toWire() })}\n`);
      process.exit(1);
    } else if (err instanceof ListenRefused) {
      process.stderr.write(`lancash ${command}: ${err.message}\n`);
      process.exit(1);
    } else {
      throw err;
    }
  }
}

/**
 * `parse()`, with a refusal of the value it checks (an option's text) turned into a usage mistake;
 * `flag` names the option when the parser's message does not.
 */
export function usageOf<T>(parse: () => T, flag?: string): T {
  try {
    return parse();
  } catch (err) {
    if (isLancashError(err)) usage(flag === undefined ? err.message : `${flag}: ${err.message}`);
    throw err;
  }
}

/** An option that names an http(s) URL: anything else is a usage mistake, not a peer to wait for. */
export function httpUrlArg(value: string, flag: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    usage(`${flag}: expected an http:// or https:// URL, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * A server could not take an address it was given (in use, not this machine's, a privileged port):
 * the operator's to fix, not a bug, so one plain line and exit 1 (not 2: the command line may be
 * right and the other server the one to stop).
 */
export class ListenRefused extends Error {}

/** What the system's refusal to listen means for the operator, by its errno code. */
const LISTEN_REFUSALS: Record<string, (address: string, flag: string) => string> = {
  EADDRINUSE: (address, flag) =>
    `${address} is already in use: stop the other server or choose another ${flag} port`,
  EADDRNOTAVAIL: (address, flag) =>
    `${address} is not an address of this machine: give ${flag} one of its own (0.0.0.0 for all of them)`,
  EACCES: (address, flag) =>
    `${address}: not permitted to listen there (ports below 1024 need privileges): choose another ${flag} port`,
};

/**
 * Runs a server's `listen` step, with `flags` mapping each listen flag to the HOST:PORT it was given.
 * An address the system refuses becomes a `ListenRefused` naming the address and its flag, instead
 * of Node's stack trace.
 */
export async function listenOrRefuse<T>(flags: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: unknown; port?: unknown };
    const refusal = e.code === undefined ? undefined : LISTEN_REFUSALS[e.code];
    if (refusal === undefined || e.syscall !== 'listen' || typeof e.port !== 'number') throw err;
    const host = typeof e.address === 'string' ? e.address : '';
    const address = `${host.includes(':') ? `[${host}]` : host}:${e.port}`;
    const given = Object.entries(flags);
    // The same port on two listeners (--lan and --wan) is told apart by the host the system names.
    const flag =
      given.find(([, hostPort]) => hostPort === address || hostPort === `${host}:${e.port}`)?.[0] ??
      given.find(([, hostPort]) => hostPort.endsWith(`:${e.port}`))?.[0] ??
      'listen';
    throw new ListenRefused(refusal(address, flag));
  }
}
