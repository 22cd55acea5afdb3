/**
 * PostgreSQL: one statement run outside any transaction block (its own implicit transaction, e.g. a
 * function that writes a whole request or a batch: migrations 032, 033) runs again when the server aborts it for
 * a deadlock or a serialization failure (40P01/40001), as `Store.transaction` runs a transaction
 * again: the statement wrote nothing, and each run is the whole request. Any other error is thrown.
 */
const RETRY_CODES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

export async function retryingConflicts<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS || !RETRY_CODES.has(sqlState(e) ?? '')) throw e;
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
