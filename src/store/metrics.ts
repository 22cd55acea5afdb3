/**
 * The database pool on `/metrics` (PostgreSQL): how many connections are taken, free and kept at most,
 * and how many checkouts wait for one. Waiting checkouts that stay above zero are what comes before the
 * 503s of `checkoutTimeoutMs` (docs/storage.md): an operator sees the pool run short before requests
 * fail. Read from the pool in memory, so a scrape costs the database nothing and works while it is down.
 * SQLite has no pool: nothing is registered.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Store } from './index.js';

export function registerPoolMetrics(registry: Registry, store: Pick<Store, 'poolCounts'>): void {
  // A method of the store (it reads `this`): called on it, not taken off it.
  const counts = () => store.poolCounts?.();
  if (counts() === undefined) return;
  new Gauge({
    name: 'lancash_db_pool_connections',
    help: 'Database connections of this process: busy (taken by a statement or transaction), idle, and max (the pool size)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const c = counts();
      if (c === undefined) return;
      this.set({ state: 'busy' }, c.busy);
      this.set({ state: 'idle' }, c.idle);
      this.set({ state: 'max' }, c.max);
    },
  });
  new Gauge({
    name: 'lancash_db_pool_waiting',
    help: 'Statements and transactions waiting for a database connection (each gives up with 503 after checkoutTimeoutMs)',
    registers: [registry],
    collect() {
      const c = counts();
      if (c !== undefined) this.set(c.waiting);
    },
  });
}
