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
 */
import { type Kysely, sql } from 'kysely';
import { isLancashError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import type { Database } from '../store/schema.js';

type Trx = Kysely<Database>;

interface Item {
  write: (trx: Trx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface GroupCommitOptions {
  /** Writes per transaction at most: bounds how long one transaction holds its locks. Default 32. */
  maxGroup?: number;
  /**
   * How long a group may wait for writes still on their way before it commits (PostgreSQL's
   * `commit_delay` idea); it never waits when none are coming. Default 0.
   */
  lingerMs?: number;
  /** How many writes are on their way (e.g. swaps still in their crypto); default none. */
  coming?: () => number;
}

export class GroupCommit {
  #queue: Item[] = [];
  #draining = false;
  #wake: (() => void) | undefined;
  readonly #maxGroup: number;
  readonly #lingerMs: number;
  readonly #coming: () => number;
  readonly #store: Store;
  /** The last group had a refused write: the next one is savepointed from the start. */
  #refusedLast = false;

  constructor(store: Store, o: GroupCommitOptions = {}) {
    this.#store = store;
    this.#maxGroup = o.maxGroup ?? 32;
    this.#lingerMs = o.lingerMs ?? 0;
    this.#coming = o.coming ?? (() => 0);
  }

  /**
   * Runs `write` in a transaction shared with other writes queued meanwhile; resolves once that
   * transaction is committed. `write` must touch the database only through `trx` (it may run again).
   */
  run<T>(write: (trx: Trx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      this.#wake?.();
      if (this.#draining) return;
      // Start on the next turn of the event loop, after the messages and I/O that are ready now: a
      // synchronous driver (better-sqlite3) would otherwise commit each write before the next arrives.
      this.#draining = true;
      setImmediate(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        await this.#gather();
        await this.#commit(this.#queue.splice(0, this.#maxGroup));
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Waits up to `lingerMs` for the writes on their way, until the group is full or none are coming. */
  async #gather(): Promise<void> {
    const until = performance.now() + this.#lingerMs;
    while (this.#queue.length < this.#maxGroup && this.#coming() > 0) {
      const left = until - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.#wake?.(), left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  async #commit(group: Item[]): Promise<void> {
    if (group.length === 1) return this.#alone(group[0]!);
    let outcomes: Outcome[];
    try {
      outcomes = this.#refusedLast ? await this.#savepointed(group) : await this.#plain(group);
      this.#refusedLast = outcomes.some((o) => !o.ok);
    } catch {
      // A database error belongs to no write in particular: each runs again in its own transaction,
      // where the store retries conflicts and the error reaches only the write that causes it.
      for (const item of group) await this.#alone(item);
      return;
    }
    for (const [i, item] of group.entries()) {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    }
  }

  /** The group in one transaction without savepoints; a refusal runs it again `#savepointed`. */
  async #plain(group: Item[]): Promise<Outcome[]> {
    try {
      return await this.#store.transaction(async (trx) => {
        const out: Outcome[] = [];
        for (const item of group) {
          try {
            out.push({ ok: true, value: await item.write(trx) });
          } catch (error) {
            // Its statements so far are in the transaction: only the whole one can undo them.
            throw isLancashError(error) ? new Refused() : error;
          }
        }
        return out;
      });
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      return this.#savepointed(group);
    }
  }

  /** The group in one transaction, each write inside its own savepoint. */
  #savepointed(group: Item[]): Promise<Outcome[]> {
    return this.#store.transaction(async (trx) => {
      const out: Outcome[] = [];
      for (const item of group) out.push(await inSavepoint(trx, item.write));
      return out;
    });
  }

  async #alone(item: Item): Promise<void> {
    try {
      item.resolve(await this.#store.transaction(item.write));
    } catch (e) {
      item.reject(e);
    }
  }
}

/** A write of a plain group was refused: its transaction rolls back and the group runs savepointed. */
class Refused extends Error {}

/**
 * Runs `write` inside a savepoint. A refusal rolls back to the savepoint and becomes the write's
 * outcome; any other error is the transaction's (rethrown, so the store retries or gives up).
 */
async function inSavepoint(trx: Trx, write: (trx: Trx) => Promise<unknown>): Promise<Outcome> {
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
