/**
 * Pruning of finished jobs' bulk (docs/gateway.md, "Pruning finished jobs"), so the journal's rows stay
 * small as it grows. A job finished longer ago than the retention (default 7 days) keeps its row (id,
 * direction, state, amount, sender, destination, refusal: what its status, the history and both audits
 * read), its events, and the small parts of its journal (memo, receipts, fee: the head, in its row); it
 * loses its journal's bulk (`gateway_job_events.bulk`, migration 029: outputs with their secrets and
 * blinding factors, its notes and its sealed payment or notice), which no step reads once the job is
 * finished (the destination holds the notes, the mints their spent and signed rows).
 * Jobs in flight, parked, or with a notice still to deliver are never touched: the pruning's reads and
 * writes both require a finished, inactive row that has not changed since it was read.
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/index.js';
import { headOf, type Journal } from './model.js';
import * as repo from './repository.js';

/** Finished jobs keep their whole journal this long (ms). */
export const DEFAULT_PRUNE_AFTER_MS = 7 * 86_400_000;
/** A pruning round runs this often (ms). */
export const DEFAULT_PRUNE_EVERY_MS = 3_600_000;
/** Jobs pruned per transaction, and most transactions a round: a round never holds the database for long. */
const BATCH = 200;
const BATCHES_PER_ROUND = 50;

/**
 * A finished job's journal without its bulk (`outputs` stays, empty: every journal has it), as a
 * pruned job reads (`model.ts` `mergeJournal` of its head alone).
 */
export function slimJournal(journal: Journal): Journal {
  return { ...headOf(journal), outputs: [] };
}

/**
 * One round: prunes the finished jobs last changed before `now − afterMs`, oldest first, in batches;
 * answers how many it pruned (a round stops after `BATCHES_PER_ROUND` batches; the next goes on).
 */
export async function pruneFinishedJobs(o: { store: Store; now: number; afterMs: number }): Promise<number> {
  let pruned = 0;
  for (let i = 0; i < BATCHES_PER_ROUND; i++) {
    const rows = await repo.prunable(o.store.db, o.now - o.afterMs, BATCH);
    if (rows.length === 0) break;
    pruned += await o.store.transaction(async (trx) => {
      let n = 0;
      for (const row of rows) {
        if (await repo.pruneJob(trx, row, o.now)) n++;
      }
      return n;
    });
    if (rows.length < BATCH) break;
  }
  return pruned;
}

/** Runs a pruning round at once and every `everyMs` until stopped; a failed round is logged and tried again. */
export function startPruning(o: {
  store: Store;
  afterMs: number;
  everyMs: number;
  clock: () => number;
  log?: Pick<Logger, 'info' | 'warn'>;
}): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  const round = async () => {
    try {
      const pruned = await pruneFinishedJobs({ store: o.store, now: o.clock(), afterMs: o.afterMs });
      if (pruned > 0) o.log?.info({ pruned }, 'finished jobs pruned');
    } catch (err) {
      o.log?.warn({ err }, 'pruning finished jobs failed; the next round tries again');
    }
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().finally(() => schedule(o.everyMs));
    }, ms);
    timer.unref();
  };
  schedule(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
