/**
 * Another session's transaction holding what a test needs held: it runs `take` (locks rows or
 * tables), keeps them until `release()`, then runs `then` if given and commits. What a slow disk, a
 * long sweep or a lock held elsewhere does to the statements that need the same rows.
 */
import type { Kysely } from 'kysely';
import { isLancashError } from '../core/errors.js';
import { sqlState } from '../store/retry.js';
import type { Database } from '../store/schema.js';

export interface Held {
  /** Lets the transaction go on and waits for its end (again: waits for the same end). */
  release(): Promise<void>;
}

type Step = (trx: Kysely<Database>) => Promise<unknown>;

/** Resolves once `take` has run in a transaction of `store`; rejects when `take` fails. */
export async function holdInTransaction(
  store: { transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> },
  take: Step,
  then?: Step,
): Promise<Held> {
  let letGo = () => {};
  const released = new Promise<void>((resolve) => {
    letGo = resolve;
  });
  let taken = () => {};
  const isTaken = new Promise<void>((resolve) => {
    taken = resolve;
  });
  const done = store.transaction(async (trx) => {
    await take(trx);
    taken();
    await released;
    if (then !== undefined) await then(trx);
  });
  await Promise.race([isTaken, done]);
  return {
    release: async () => {
      letGo();
      await done;
    },
  };
}

/**
 * Whether `err` is a lock wait cut short by `lock_timeout` (SQLSTATE 55P03), as a store reports it:
 * `StorageUnavailable` with the driver's error as its cause (`capabilities.unavailableCodes`). How a
 * probe with a short `set local lock_timeout` tells that another transaction holds a row.
 */
export function isLockTimeout(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  return isLancashError(err, 'StorageUnavailable') && sqlState(cause) === '55P03';
}
