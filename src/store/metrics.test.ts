/**
 * The pool on `/metrics` (`registerPoolMetrics`): on PostgreSQL the gauges follow the pool as it is,
 * connections busy and idle, its size, and the checkouts waiting behind it; SQLite has no pool and
 * registers nothing.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshDatabaseUrl, freshStore } from '../test-support/dialects.js';
import { type Held, holdInTransaction } from '../test-support/held.js';
import { openStore, type Store } from './index.js';
import { registerPoolMetrics } from './metrics.js';

/** The samples of the pool's gauges in `registry`'s text, by name and label. */
async function poolSamples(registry: Registry): Promise<Record<string, number>> {
  const text = await registry.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(lancash_db_pool_\w+)(?:\{state="(\w+)"\})? (\d+)$/gm)) {
    out[m[2] === undefined ? m[1]! : `${m[1]}.${m[2]}`] = Number(m[3]);
  }
  return out;
}

describe.runIf(DIALECTS.includes('postgres'))('the pool gauges on postgres', () => {
  let store: Store | undefined;
  const held: Held[] = [];
  afterEach(async () => {
    for (const h of held.splice(0)) await h.release();
    await store?.close();
  });

  it('count connections busy and idle, the pool size and the checkouts waiting', async () => {
    const url = await freshDatabaseUrl('postgres');
    store = await openStore({ dialect: 'postgres', url, poolSize: 2, checkoutTimeoutMs: 60_000 });
    const registry = new Registry();
    registerPoolMetrics(registry, store);
    const s = store;
    const take = () => holdInTransaction(s, (trx) => trx.selectFrom('settings').select('key').execute());
    held.push(await take(), await take());
    const waiting = s.db.selectFrom('settings').select('key').execute(); // a third: no connection free
    await new Promise((resolve) => setImmediate(resolve));
    expect(await poolSamples(registry)).toEqual({
      'lancash_db_pool_connections.busy': 2,
      'lancash_db_pool_connections.idle': 0,
      'lancash_db_pool_connections.max': 2,
      lancash_db_pool_waiting: 1,
    });
    for (const h of held.splice(0)) await h.release();
    await waiting;
    expect(await poolSamples(registry)).toEqual({
      'lancash_db_pool_connections.busy': 0,
      'lancash_db_pool_connections.idle': 2,
      'lancash_db_pool_connections.max': 2,
      lancash_db_pool_waiting: 0,
    });
  });
});

describe.runIf(DIALECTS.includes('sqlite'))('the pool gauges on sqlite', () => {
  it('are not registered: one connection, no pool', async () => {
    const store = await freshStore('sqlite');
    try {
      const registry = new Registry();
      registerPoolMetrics(registry, store);
      expect(store.poolCounts?.()).toBeUndefined();
      expect(await registry.metrics()).not.toContain('lancash_db_pool');
    } finally {
      await store.close();
    }
  });
});
