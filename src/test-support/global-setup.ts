/**
 * vitest global setup: makes a PostgreSQL server available to the storage tests when `postgres` is
 * among the dialects under test. With `DATABASE_URL` set, that server is used; otherwise a throwaway
 * one starts (`store/postgres/throwaway.ts`) and is stopped and deleted at the end. Without binaries
 * the postgres dialect is skipped with a loud warning, except under `CI=true`, where the run fails.
 * With `LANCASH_TEST_RUNTIME=dist` it first builds `dist/`, which the tests' child processes then run.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { fail } from '../core/errors.js';
import {
  newestPostgresBin,
  PG_ROOT,
  serverVersion,
  startThrowawayPostgres,
} from '../store/postgres/throwaway.js';
import { dialectsFromEnv, testRuntime } from './env.js';
import { REPO_ROOT } from './process.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const none = async (): Promise<void> => {};
  if (testRuntime() === 'dist') {
    // Child processes run the build: it must be the sources' (tsc alone; the web pages are not needed).
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: REPO_ROOT,
        stdio: 'inherit',
      },
    );
  }
  if (!dialectsFromEnv().includes('postgres')) {
    project.provide('lancashPostgres', null);
    return none;
  }
  const own = process.env.DATABASE_URL;
  if (own !== undefined && own !== '') {
    const version = await serverVersion(own);
    const at = new URL(own);
    console.log(`PostgreSQL test server: ${version} on ${at.hostname}:${at.port || 5432} (DATABASE_URL)`);
    project.provide('lancashPostgres', { adminUrl: own, version });
    return none;
  }
  const bin = newestPostgresBin();
  if (bin === undefined) {
    const why = `no PostgreSQL binaries under ${PG_ROOT}/*/bin (apt-get install postgresql, or set DATABASE_URL)`;
    if (process.env.CI === 'true') fail('StorageUnavailable', { reason: why }, `CI=true: ${why}`);
    const bar = '!'.repeat(100);
    console.warn(`\n${bar}\n!!! SKIPPING the postgres dialect: ${why}\n${bar}\n`);
    project.provide('lancashPostgres', null);
    return none;
  }
  const server = await startThrowawayPostgres({ durable: false }, bin);
  console.log(`PostgreSQL test server: ${server.version} on 127.0.0.1:${server.port}`);
  project.provide('lancashPostgres', { adminUrl: server.adminUrl, version: server.version });
  return server.stop;
}
