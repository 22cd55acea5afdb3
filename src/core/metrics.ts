/**
 * `/metrics` that a scraper can always read. Prometheus drops every series of a target whose scrape
 * fails, so one collector that throws (a gauge read from a database that is down, its pool exhausted,
 * a statement cancelled) must not turn the whole answer into a 500: `exposition` leaves that metric
 * out and says so in `lancash_metrics_stale{metric="…"} 1`, and the rest is served as usual.
 * `sharedRead` bounds what a scrape costs a database: one read in flight per gauge whoever scrapes,
 * and no scrape waits for it longer than a deadline (a read past it leaves the gauge stale this time).
 */
import { Gauge, type Registry } from 'prom-client';
import { LancashError } from './errors.js';

/** The gauge that names the metrics left out of the last answer. */
export const STALE_METRIC = 'lancash_metrics_stale';

/** How long a scrape waits for a gauge's database read (Prometheus's own scrape timeout is 10 s). */
export const METRICS_READ_DEADLINE_MS = 2000;

const staleGauges = new WeakMap<Registry, Gauge<'metric'>>();

/**
 * The Prometheus text of every metric of `registry`, as `registry.metrics()` writes it, except that a
 * metric whose collection fails is left out (and `onFailed` told) instead of failing the whole answer.
 * The Prometheus text format only (lancash's registries never switch to OpenMetrics).
 */
export async function exposition(
  registry: Registry,
  onFailed: (metric: string, err: unknown) => void = () => {},
): Promise<string> {
  let stale = staleGauges.get(registry);
  if (stale === undefined) {
    stale = new Gauge({
      name: STALE_METRIC,
      help: 'Metrics left out of this answer because collecting them failed (a database read that failed or passed its deadline)',
      labelNames: ['metric'],
      registers: [registry],
    });
    staleGauges.set(registry, stale);
  }
  const names = registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((n) => n !== STALE_METRIC);
  const texts = await Promise.allSettled(names.map((n) => registry.getSingleMetricAsString(n)));
  stale.reset();
  const parts: string[] = [];
  for (const [i, t] of texts.entries()) {
    if (t.status === 'fulfilled') parts.push(t.value);
    else {
      stale.set({ metric: names[i]! }, 1);
      onFailed(names[i]!, t.reason);
    }
  }
  parts.push(await registry.getSingleMetricAsString(STALE_METRIC));
  return `${parts.join('\n\n')}\n`;
}

/**
 * `read`, shared: a call while an earlier one is in flight gets that one's answer (one read at a time
 * per gauge, however many scrape), and no call waits longer than `deadlineMs`: past it, it fails with
 * `StorageUnavailable` while the read goes on for the next call to take.
 */
export function sharedRead<T>(
  read: () => Promise<T>,
  deadlineMs = METRICS_READ_DEADLINE_MS,
): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    if (inFlight === undefined) {
      const p = read();
      inFlight = p;
      const done = () => {
        if (inFlight === p) inFlight = undefined;
      };
      p.then(done, done);
    }
    const shared = inFlight;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = `the database read took longer than ${deadlineMs} ms`;
        reject(new LancashError('StorageUnavailable', { reason }, reason));
      }, deadlineMs);
      timer.unref();
    });
    return Promise.race([shared, late]).finally(() => clearTimeout(timer));
  };
}
