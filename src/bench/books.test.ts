/**
 * `bench --rows` on PostgreSQL settles the filled books (VACUUM, CHECKPOINT) before the window; an
 * operator's role that may not checkpoint still gets its run, the checkpoint left to the server.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import { sqlState } from '../store/retry.js';
import {
  asAdmin,
  DIALECTS,
  type FreshDatabase,
  freshDatabase,
  postgresUrl,
} from '../test-support/dialects.js';
import { settle } from './books.js';

const admin = (statement: string) => asAdmin(postgresUrl()!, statement);

describe.runIf(DIALECTS.includes('postgres'))('settling filled books on PostgreSQL', () => {
  it('settles without error for a role that may not CHECKPOINT (42501)', async (ctx) => {
    const role = `lancash_t_${randomBytes(6).toString('hex')}`;
    try {
      await admin(`create role ${role} login password 'settle'`);
    } catch (e) {
      // A server of the tester's own (`DATABASE_URL`) whose admin may create databases but not roles.
      if (sqlState(e) === '42501') ctx.skip();
      throw e;
    }
    let fresh: FreshDatabase | undefined;
    try {
      fresh = await freshDatabase('postgres');
      const url = new URL(fresh.url);
      // The database's owner owns its public schema (PostgreSQL 15), so the role can migrate it.
      await admin(`alter database ${url.pathname.slice(1)} owner to ${role}`);
      url.username = role;
      url.password = 'settle';
      const store = await openStore({ dialect: 'postgres', url: url.href });
      try {
        await expect(settle(store)).resolves.toBeUndefined();
      } finally {
        await store.close();
      }
    } finally {
      await fresh?.drop();
      await admin(`drop role if exists ${role}`);
    }
  });
});
