/**
 * Batches of work items that arrive while the previous batch runs: the items queued meanwhile go
 * together into the next `flush`, which answers one outcome per item, in order. One batch runs at a
 * time. Used where one round of work (a transaction, one statement and its commit) costs about the
 * same for one item as for several: the mint's group commit (`mint/group-commit.ts`) and the wide
 * bank's requests on PostgreSQL (`wide-bank/ledger/service.ts`). What an item's outcome means, and
 * that one item's refusal must not become its neighbours', is the flush's business.
 */

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface BatcherOptions {
  /** Items per batch at most: bounds one flush's work (and how long it holds its locks). Default 32. */
  maxGroup?: number;
  /**
   * How long a batch may wait for items still on their way before it flushes (PostgreSQL's
   * `commit_delay` idea); it never waits when none are coming. Default 0.
   */
  lingerMs?: number;
  /** How many items are on their way (e.g. swaps still in their crypto); default none. */
  coming?: () => number;
  /**
   * Batches flushed at the same time at most. Default 1. With 2, the next batch is sent while one
   * runs, so a flush that waits in the database for the previous one (a row lock held to its commit)
   * starts there at once, without a turn of this process's event loop in between.
   */
  concurrency?: number;
}

/**
 * A flush answers exactly one outcome per item, in the items' order. A flush that throws answers
 * every item of its batch with that error.
 */
export type Flush<I, T> = (items: readonly I[]) => Promise<readonly Outcome<T>[]>;

interface Queued<I, T> {
  item: I;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export class Batcher<I, T> {
  #queue: Queued<I, T>[] = [];
  /** A batch is about to be taken from the queue (its turn is scheduled, or it is gathering). */
  #starting = false;
  #inFlight = 0;
  #wake: (() => void) | undefined;
  readonly #flush: Flush<I, T>;
  readonly #maxGroup: number;
  readonly #lingerMs: number;
  readonly #coming: () => number;
  readonly #concurrency: number;

  constructor(flush: Flush<I, T>, o: BatcherOptions = {}) {
    this.#flush = flush;
    this.#maxGroup = o.maxGroup ?? 32;
    this.#lingerMs = o.lingerMs ?? 0;
    this.#coming = o.coming ?? (() => 0);
    this.#concurrency = o.concurrency ?? 1;
  }

  /** Queues `item` for the next batch; resolves or rejects with its outcome once that batch is flushed. */
  run(item: I): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#wake?.();
      this.#start();
    });
  }

  /**
   * Takes the next batch on the next turn of the event loop, after the messages and I/O that are
   * ready now (a synchronous driver, better-sqlite3, would otherwise finish each item before the next
   * arrives), unless one is being taken already or `concurrency` batches are running.
   */
  #start(): void {
    if (this.#starting || this.#inFlight >= this.#concurrency || this.#queue.length === 0) return;
    this.#starting = true;
    setImmediate(() => void this.#next());
  }

  async #next(): Promise<void> {
    this.#inFlight++;
    try {
      await this.#gather();
      const batch = this.#queue.splice(0, this.#maxGroup);
      this.#starting = false;
      this.#start();
      if (batch.length > 0) await this.#run(batch);
    } finally {
      this.#inFlight--;
      this.#start();
    }
  }

  /** Waits up to `lingerMs` for the items on their way, until the batch is full or none are coming. */
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

  async #run(batch: Queued<I, T>[]): Promise<void> {
    let outcomes: readonly Outcome<T>[];
    try {
      outcomes = await this.#flush(batch.map((q) => q.item));
      if (outcomes.length !== batch.length) {
        throw new Error(`a flush answered ${outcomes.length} outcomes for ${batch.length} items`);
      }
    } catch (error) {
      for (const q of batch) q.reject(error);
      return;
    }
    for (const [i, q] of batch.entries()) {
      const o = outcomes[i]!;
      if (o.ok) q.resolve(o.value);
      else q.reject(o.error);
    }
  }
}
