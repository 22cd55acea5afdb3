/**
 * How a `lancash` command ends on a mistake (docs/design.md §9): a usage mistake (a missing or malformed
 * option) exits 2 with one line naming the command, a refusal prints its wire form on stderr and
 * exits 1; anything else is a bug and propagates.
 */
import { isLancashError } from '../core/errors.js';

/** A mistake in the command line (exit 2), as opposed to a refusal of the request (exit 1). */
export class UsageError extends Error {}

export function usage(message: string): never {
  throw new UsageError(message);
}

/** Runs `lancash <command>`'s work: a usage mistake exits 2, a refusal prints its wire form and exits 1. */
export async function runCommand(command: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`lancash ${command}: ${err.message}\n`);
      process.exitCode = 2;
    } else if (isLancashError(err)) {
      process.stderr.write(`${JSON.stringify({ error: err.toWire() })}\n`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  }
}

/** `parse()`, with a refusal of the value it checks (an option's text) turned into a usage mistake. */
export function usageOf<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isLancashError(err)) usage(err.message);
    throw err;
  }
}
