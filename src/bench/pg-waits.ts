/**
 * `bench gateway --trace-steps` on PostgreSQL: what each server's processes were doing while the
 * slowest conversions waited. A sampler reads `pg_stat_activity` every `WAIT_SAMPLE_MS` over its own
 * connection, on the step marks' clock, and keeps every process that was not idle: a backend on CPU
 * (`active`, no wait event), waiting for a lock, for its commit's WAL flush (`IO:WALSync`), for the
 * client (`idle in transaction`), or a background process at work (an autovacuum worker, the
 * checkpointer writing). Round ten found the half-load tail to be a stall that catches every
 * conversion in flight at once, with no GC pause, new WAL segment or slow event loop at its moment:
 * this says which wait the stall is made of.
 *
 * The sampler's own lateness is kept too: a sample sent late means the bench process's event loop was
 * busy (the gateway's); an answer that took long means the server (or the machine) was.
 */
import pg from 'pg';
import { traceClock } from '../core/step-trace.js';

/** Milliseconds between samples: ≈ 100 a second a server, each a read of shared memory. */
export const WAIT_SAMPLE_MS = 10;
/** Kinds of work listed per span, most frequent first. */
const TOP = 6;

/** A background process's wait for its next round of work: idle, not listed. */
const IDLE_WAITS = new Set([
  'ArchiverMain',
  'AutoVacuumMain',
  'BgWriterHibernate',
  'BgWriterMain',
  'CheckpointerMain',
  'LogicalLauncherMain',
  'SysLoggerMain',
  'WalWriterMain',
]);

interface Sample {
  /** When it was sent (trace clock, unix ms). */
  at: number;
  /** How much later than planned it was sent, ms (the bench process's event loop). */
  lateMs: number;
  /** From sent to answered, ms (the server). */
  rttMs: number;
  /** One label per process at work (`label`). */
  busy: string[];
}

/** What a server's processes did over a span. */
export interface WaitFigures {
  samples: number;
  /** Mean number of processes in each kind of work over the span's samples, largest first. */
  busy: Record<string, number>;
  /** The sampler's latest send (its event loop) and slowest answer (the server), ms. */
  maxLateMs: number;
  maxRttMs: number;
}

export interface WaitRecorder {
  /** Stops sampling; the figures of any span of the recorded time. */
  stop(): Promise<(from: number, to: number) => WaitFigures>;
}

interface Activity {
  kind: string;
  state: string | null;
  wait_type: string | null;
  wait: string | null;
  query: string | null;
}

/**
 * A process at work as one label: a client backend by its state, wait and statement's first words
 * (`active IO:WALSync COMMIT`), any other by its kind and wait (`autovacuum worker CPU`).
 */
function label(a: Activity): string | undefined {
  const wait = a.wait_type === null ? 'CPU' : `${a.wait_type}:${a.wait}`;
  if (a.kind !== 'client backend')
    return a.wait !== null && IDLE_WAITS.has(a.wait) ? undefined : `${a.kind} ${wait}`;
  if (a.state === null || a.state === 'idle') return undefined;
  const words = (a.query ?? '').replace(/\s+/g, ' ').trim().split(' ').slice(0, 3).join(' ');
  return `${a.state} ${wait} ${words}`;
}

/** Starts sampling the server at `url` (an admin connection), keeping `database`'s backends and the server's own processes. */
export async function recordWaits(
  url: string,
  database: string,
  everyMs = WAIT_SAMPLE_MS,
): Promise<WaitRecorder> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    let planned = traceClock();
    while (running) {
      const at = traceClock();
      const r = await client.query<Activity>({
        name: 'lancash_bench_waits',
        text: `select backend_type as kind, state, wait_event_type as wait_type, wait_event as wait, left(query, 60) as query
                 from pg_stat_activity
                where pid <> pg_backend_pid() and (datname = $1 or datname is null)`,
        values: [database],
      });
      const done = traceClock();
      samples.push({
        at,
        lateMs: Math.max(0, at - planned),
        rttMs: done - at,
        busy: r.rows.map(label).filter((l): l is string => l !== undefined),
      });
      planned = at + everyMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, planned - traceClock())));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop.catch(() => {});
      await client.end().catch(() => {});
      return (from, to) => waitFigures(samples.filter((s) => s.at >= from && s.at <= to));
    },
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The mean processes per kind of work over `samples`, and the sampler's worst lateness and answer. */
export function waitFigures(samples: readonly Pick<Sample, 'lateMs' | 'rttMs' | 'busy'>[]): WaitFigures {
  const counts = new Map<string, number>();
  for (const s of samples) for (const b of s.busy) counts.set(b, (counts.get(b) ?? 0) + 1);
  const n = Math.max(1, samples.length);
  const busy = [...counts.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, TOP)
    .map(([l, c]): [string, number] => [l, round2(c / n)]);
  return {
    samples: samples.length,
    busy: Object.fromEntries(busy),
    maxLateMs: round2(Math.max(0, ...samples.map((s) => s.lateMs))),
    maxRttMs: round2(Math.max(0, ...samples.map((s) => s.rttMs))),
  };
}
