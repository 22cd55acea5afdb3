/**
 * PostgreSQL: one statement run outside any transaction block (its own implicit transaction: a
 * function that writes a whole request, a batch or a deposit, migrations 032–034) runs again when the
 * server aborts it for a deadlock or a serialization failure, with the codes and attempts
 * `Store.transaction` uses: the statement wrote nothing, and each run is the whole of it. Any other
 * error is thrown.
 */
import { capabilities } from './postgres/capabilities.js';

export async function retryingConflicts<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= capabilities.maxAttempts || !capabilities.retryCodes.has(sqlState(e) ?? '')) throw e;
      // Random backoff, so the statements that collided do not collide again in step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));
    }
  }
}

/** The SQLSTATE of a driver error (`code`), if any. */
export function sqlState(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
