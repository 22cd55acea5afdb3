/**
 * The throwaway server's WAL made ready ahead (`walSegments`, benchmarks): moving into the next
 * segments then opens recycled files instead of creating (zero-filling and syncing) new ones.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test-support/dialects.js';
import { newestPostgresBin, startThrowawayPostgres } from './throwaway.js';

const postgres = DIALECTS.includes('postgres') && newestPostgresBin() !== undefined;

/** The WAL segment files that appear while the server's WAL moves `segments` segments on. */
async function createdWhileSwitching(walSegments: number, segments: number): Promise<string[]> {
  const server = await startThrowawayPostgres({ walSegments });
  const client = new pg.Client({ connectionString: server.adminUrl });
  await client.connect();
  try {
    const files = async () =>
      (
        await client.query<{ name: string }>(`select name from pg_ls_waldir() where name ~ '^[0-9A-F]{24}$'`)
      ).rows.map((r) => r.name);
    const before = new Set(await files());
    await client.query('create table moved (x int)');
    for (let i = 0; i < segments; i++) {
      await client.query('insert into moved values (1)');
      await client.query('select pg_switch_wal()');
    }
    // The insert after the last switch makes the server open the segment it switched to.
    await client.query('insert into moved values (1)');
    return (await files()).filter((f) => !before.has(f));
  } finally {
    await client.end();
    await server.stop();
  }
}

describe.runIf(postgres)('a throwaway server’s WAL', () => {
  it('has segments recycled ahead when asked, so moving on creates none; a fresh one creates each', async () => {
    expect(await createdWhileSwitching(4, 2)).toEqual([]);
    expect(await createdWhileSwitching(0, 2)).toHaveLength(2);
  }, 60_000);
});
