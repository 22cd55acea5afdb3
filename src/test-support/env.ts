/**
 * Test settings shared by the vitest global setup (main process) and the test files (workers): which
 * dialects to run, from `LANCASH_TEST_DIALECTS`, and what the global setup hands to the workers.
 */
import { describe, fail } from '../core/errors.js';
import type { DialectName } from '../store/index.js';

export const ALL_DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

/** The PostgreSQL server the tests use: the throwaway one, or the one `DATABASE_URL` names. */
export interface PostgresTestServer {
  /** A URL that may `CREATE DATABASE`; tests never write into its own database. */
  adminUrl: string;
  version: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** null: PostgreSQL is not under test in this run. */
    lancashPostgres: PostgresTestServer | null;
  }
}

/** All dialects, or those `LANCASH_TEST_DIALECTS` lists (comma separated, e.g. `sqlite`). */
export function dialectsFromEnv(raw = process.env.LANCASH_TEST_DIALECTS): DialectName[] {
  if (raw === undefined || raw.trim() === '') return [...ALL_DIALECTS];
  const names = raw.split(',').map((s) => s.trim().toLowerCase());
  const unknown = names.filter((n) => !(ALL_DIALECTS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    const expected = `a comma list of ${ALL_DIALECTS.join(', ')}`;
    fail(
      'InvalidInput',
      { argument: 'LANCASH_TEST_DIALECTS', expected, received: describe(raw) },
      `LANCASH_TEST_DIALECTS: expected ${expected}, got ${describe(raw)}`,
    );
  }
  return ALL_DIALECTS.filter((d) => names.includes(d));
}

/**
 * How tests run the `lancash` command in child processes: `dist` (the build, which the global setup
 * makes fresh first: a second or more faster at each start) or `tsx` (the sources). From
 * `LANCASH_TEST_RUNTIME`; default `tsx`.
 */
export function testRuntime(raw = process.env.LANCASH_TEST_RUNTIME): 'dist' | 'tsx' {
  if (raw === undefined || raw === '' || raw === 'tsx') return 'tsx';
  if (raw === 'dist') return 'dist';
  return fail(
    'InvalidInput',
    { argument: 'LANCASH_TEST_RUNTIME', expected: "'dist' or 'tsx'", received: describe(raw) },
    `LANCASH_TEST_RUNTIME: expected dist or tsx, got ${describe(raw)}`,
  );
}
