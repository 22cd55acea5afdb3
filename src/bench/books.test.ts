/**
 * `bench --rows` on PostgreSQL settles the filled books (VACUUM, CHECKPOINT) before the window; an
 * operator's role that may not checkpoint still gets its run, the checkpoint left to the server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import { sqlState } from '../store/retry.js';
import { DIALECTS, freshDatabase, postgresUrl } from '../test-support/dialects.js';
import { settle } from './books.js';

async function asAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

describe.runIf(DIALECTS.includes('postgres'))('settling filled books on PostgreSQL', () => {
  it('vacuums and passes over a CHECKPOINT the role may not take (42501)', async (ctx) => {
    const role = `lancash_t_${randomBytes(6).toString('hex')}`;
    try {
      await asAdmin(`create role ${role} login password 'settle'`);
    } catch (e) {
      // A server of the tester's own (`DATABASE_URL`) whose admin may create databases but not roles.
      if (sqlState(e) === '42501') ctx.skip();
      throw e;
    }
    const fresh = await freshDatabase('postgres');
    const name = new URL(fresh.url).pathname.slice(1);
    try {
      // The database's owner owns its public schema (PostgreSQL 15), so the role can migrate it.
      await asAdmin(`alter database ${name} owner to ${role}`);
      const url = new URL(fresh.url);
      url.username = role;
      url.password = 'settle';
      const store = await openStore({ dialect: 'postgres', url: url.href });
      try {
        await expect(settle(store)).resolves.toBeUndefined();
      } finally {
        await store.close();
      }
    } finally {
      await fresh.drop();
      await asAdmin(`drop role if exists ${role}`);
    }
  });
});
