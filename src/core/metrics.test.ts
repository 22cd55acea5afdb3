/**
 * `/metrics` under a failing collector: the metric is left out and named in `lancash_metrics_stale`,
 * the rest answered 200 as before (never a 500); `sharedRead` runs one read at a time whoever asks
 * and gives up waiting at its deadline (fake timers: counted, not timed).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLancashError, LancashError } from './errors.js';
import { createServer, type LancashServer } from './http/server.js';
import { exposition, sharedRead } from './metrics.js';

/** A registry with one plain counter and one gauge read from a "database" the test breaks. */
function registryWithDatabaseGauge(read: () => Promise<number>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ server: 'test' });
  new Counter({ name: 'plain_total', help: 'a counter', registers: [registry] }).inc(3);
  new Gauge({
    name: 'from_database',
    help: 'a gauge read from the database',
    registers: [registry],
    async collect() {
      this.set(await read());
    },
  });
  return registry;
}

const outage = () =>
  Promise.reject(new LancashError('StorageUnavailable', { reason: 'down' }, 'database unavailable'));

describe('exposition', () => {
  it('is what registry.metrics() writes while every collector works', async () => {
    const registry = registryWithDatabaseGauge(async () => 7);
    const text = await exposition(registry);
    expect(text).toBe(await registry.metrics());
    expect(text).toMatch(/^from_database\{server="test"\} 7$/m);
    expect(text).not.toMatch(/^lancash_metrics_stale\{/m);
  });

  it('leaves out a metric whose collector fails, names it stale, and serves the rest', async () => {
    let up = false;
    const registry = registryWithDatabaseGauge(() => (up ? Promise.resolve(1) : outage()));
    await expect(registry.metrics()).rejects.toThrow('database unavailable'); // what /metrics answered 500 on
    const failed: string[] = [];
    const text = await exposition(registry, (metric) => failed.push(metric));
    expect(failed).toEqual(['from_database']);
    expect(text).toMatch(/^plain_total\{server="test"\} 3$/m);
    expect(text).not.toMatch(/^(# [A-Z]+ )?from_database/m);
    expect(text).toMatch(/^lancash_metrics_stale\{metric="from_database",server="test"\} 1$/m);
    up = true;
    const back = await exposition(registry);
    expect(back).toMatch(/^from_database\{server="test"\} 1$/m);
    expect(back).not.toMatch(/^lancash_metrics_stale\{/m);
  });

  describe('the /metrics route', () => {
    let app: LancashServer | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it('answers 200 with the rest when a collector throws a bare error (as pg-pool does), not 500', async () => {
      app = await createServer({ name: 'test', logger: false });
      new Gauge({
        name: 'from_database',
        help: 'a gauge read from the database',
        registers: [app.metrics],
        async collect() {
          throw new Error('timeout exceeded when trying to connect');
        },
      });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/^lancash_metrics_stale\{metric="from_database",server="test"\} 1$/m);
      expect(res.body).toMatch(/^process_cpu_user_seconds_total\{server="test"\} /m);
    });
  });
});

describe('sharedRead', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs one read at a time whoever asks; a new one once it is over', async () => {
    let reads = 0;
    let answer = (_: number) => {};
    const read = sharedRead(
      () =>
        new Promise<number>((resolve) => {
          reads++;
          answer = resolve;
        }),
    );
    const both = Promise.all([read(), read()]);
    answer(5);
    expect(await both).toEqual([5, 5]);
    expect(reads).toBe(1);
    const next = read();
    answer(6);
    expect(await next).toBe(6);
    expect(reads).toBe(2);
  });

  it('gives up waiting at its deadline with StorageUnavailable; the read goes on for the next caller', async () => {
    vi.useFakeTimers();
    let reads = 0;
    let answer = (_: number) => {};
    const read = sharedRead(
      () =>
        new Promise<number>((resolve) => {
          reads++;
          answer = resolve;
        }),
      2000,
    );
    const first = read().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2000);
    const e = await first;
    expect(isLancashError(e, 'StorageUnavailable')).toBe(true);
    const second = read();
    answer(9);
    expect(await second).toBe(9);
    expect(reads).toBe(1);
  });

  it('passes a failed read on to every caller waiting for it, and reads again next time', async () => {
    let reads = 0;
    const read = sharedRead(() => {
      reads++;
      return reads === 1 ? outage() : Promise.resolve(reads);
    });
    const [a, b] = await Promise.allSettled([read(), read()]);
    expect([a.status, b.status]).toEqual(['rejected', 'rejected']);
    expect(await read()).toBe(2);
  });
});
