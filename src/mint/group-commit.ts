/**
 * Group commit for the mint's own writes (swaps): writes that arrive while a transaction is running
 * go together into the next one. A refused write (a `LancashError`, e.g. a double spend) rolls back
 * alone; the others share one BEGIN…COMMIT, so SQLite syncs its log once per group instead of once
 * per swap, and the event loop that feeds the crypto workers is blocked once per group. A group may
 * also wait briefly for writes known to be on their way (`lingerMs`, `coming`). The outcome of every
 * write is the one it would have had in its own transaction, run one after another in arrival order.
 *
 * Writes are rarely refused, so a group first runs them plainly, with no savepoints (each costs two
 * round trips a write on PostgreSQL). A refusal rolls that whole transaction back, and the group runs
 * again with each write inside its own savepoint, which then rolls back to it alone; after a refusal
 * the next group is savepointed from the start, so a stream of refusals costs no more than before.
 *
 * A write may ask not to wait for the log's flush (`durable: false`, `TransactionOptions`): the group
 * commits that way only when EVERY write in it asked, since one commit holds them all. A write that
 * moves value in a group of relaxed ones makes the group's commit durable.
 */
import { type Kysely, sql } from 'kysely';
import { Batcher, type BatcherOptions, type Outcome } from '../core/batcher.js';
import { isLancashError } from '../core/errors.js';
import type { Store, TransactionOptions } from '../store/index.js';
import type { Database } from '../store/schema.js';

type Trx = Kysely<Database>;
type Write = (trx: Trx) => Promise<unknown>;
/** A queued write and whether it must be on disk when its commit returns. */
interface Queued {
  write: Write;
  durable: boolean;
}

/** See `BatcherOptions`: `maxGroup` writes per transaction (default 32), `lingerMs`, `coming`. */
export type GroupCommitOptions = BatcherOptions;

export class GroupCommit {
  readonly #store: Store;
  readonly #batcher: Batcher<Queued, unknown>;
  /** The last group had a refused write: the next one is savepointed from the start. */
  #refusedLast = false;

  constructor(store: Store, o: GroupCommitOptions = {}) {
    this.#store = store;
    this.#batcher = new Batcher((group) => this.#commit(group), o);
  }

  /**
   * Runs `write` in a transaction shared with other writes queued meanwhile; resolves once that
   * transaction is committed. `write` must touch the database only through `trx` (it may run again).
   * `options.durable: false` is honoured only when every write of the group says so.
   */
  run<T>(write: (trx: Trx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.#batcher.run({ write, durable: options?.durable !== false }) as Promise<T>;
  }

  async #commit(queued: readonly Queued[]): Promise<Outcome<unknown>[]> {
    if (queued.length === 1) return [await this.#alone(queued[0]!)];
    const group = queued.map((q) => q.write);
    const options: TransactionOptions = { durable: queued.some((q) => q.durable) };
    try {
      const outcomes = this.#refusedLast
        ? await this.#savepointed(group, options)
        : await this.#plain(group, options);
      this.#refusedLast = outcomes.some((o) => !o.ok);
      return outcomes;
    } catch {
      // A database error belongs to no write in particular: each runs again in its own transaction,
      // where the store retries conflicts and the error reaches only the write that causes it.
      const out: Outcome<unknown>[] = [];
      for (const q of queued) out.push(await this.#alone(q));
      return out;
    }
  }

  /** The group in one transaction without savepoints; a refusal runs it again `#savepointed`. */
  async #plain(group: readonly Write[], options: TransactionOptions): Promise<Outcome<unknown>[]> {
    try {
      return await this.#store.transaction(async (trx) => {
        const out: Outcome<unknown>[] = [];
        for (const write of group) {
          try {
            out.push({ ok: true, value: await write(trx) });
          } catch (error) {
            // Its statements so far are in the transaction: only the whole one can undo them.
            throw isLancashError(error) ? new Refused() : error;
          }
        }
        return out;
      }, options);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      return this.#savepointed(group, options);
    }
  }

  /** The group in one transaction, each write inside its own savepoint. */
  #savepointed(group: readonly Write[], options: TransactionOptions): Promise<Outcome<unknown>[]> {
    return this.#store.transaction(async (trx) => {
      const out: Outcome<unknown>[] = [];
      for (const write of group) out.push(await inSavepoint(trx, write));
      return out;
    }, options);
  }

  async #alone({ write, durable }: Queued): Promise<Outcome<unknown>> {
    try {
      return { ok: true, value: await this.#store.transaction(write, { durable }) };
    } catch (error) {
      return { ok: false, error };
    }
  }
}

/** A write of a plain group was refused: its transaction rolls back and the group runs savepointed. */
class Refused extends Error {}

/**
 * Runs `write` inside a savepoint. A refusal rolls back to the savepoint and becomes the write's
 * outcome; any other error is the transaction's (rethrown, so the store retries or gives up).
 */
async function inSavepoint(trx: Trx, write: Write): Promise<Outcome<unknown>> {
  await sql`savepoint group_write`.execute(trx);
  try {
    const value = await write(trx);
    await sql`release savepoint group_write`.execute(trx);
    return { ok: true, value };
  } catch (error) {
    if (!isLancashError(error)) throw error;
    // Both dialects keep the savepoint after rolling back to it; release it so they do not pile up.
    await sql`rollback to savepoint group_write`.execute(trx);
    await sql`release savepoint group_write`.execute(trx);
    return { ok: false, error };
  }
}
