/** The test-support helpers themselves: fresh databases are empty, separate, and go away. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openStore, parseStoreUrl } from '../store/index.js';
import { DIALECTS, freshDatabase, freshStore, postgresUrl } from './dialects.js';

describe.each(DIALECTS)('test support on %s', (dialect) => {
  it('freshStore gives separate empty databases, and its url opens the same database', async () => {
    const a = await freshStore(dialect);
    const b = await freshStore(dialect);
    try {
      expect(a.url).not.toBe(b.url);
      await a.db.insertInto('settings').values({ key: 'k', value: 'a' }).execute();
      expect(await b.db.selectFrom('settings').selectAll().execute()).toEqual([]);
      const again = await openStore(parseStoreUrl(a.url));
      try {
        expect(await again.db.selectFrom('settings').select('value').execute()).toEqual([{ value: 'a' }]);
      } finally {
        await again.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a dropped database is gone', async () => {
    const fresh = await freshDatabase(dialect);
    const store = await openStore(fresh.config);
    await store.close();
    await fresh.drop();
    if (fresh.config.dialect === 'sqlite') {
      expect(existsSync(fresh.config.file)).toBe(false);
    } else {
      const reopened = await openStore({ dialect: 'postgres', url: fresh.url }).catch((err: unknown) => err);
      expect(reopened).toBeInstanceOf(Error);
    }
  });

  it.runIf(dialect === 'postgres')('postgresUrl names the server under test', () => {
    expect(postgresUrl()).toMatch(/^postgres(?:ql)?:\/\//);
  });
});
