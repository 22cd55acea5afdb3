/**
 * What a database folder (`sqlite/`, `postgres/`) provides: a way to connect, and capability flags
 * that the shared code reads instead of asking "which database is this?" (the layout of Kysely's
 * own `src/dialect/`). Each folder has the same two files: `connect.ts` and `capabilities.ts`.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Capabilities {
  /** SQL that opens a write transaction on one connection. */
  readonly beginWrite: string;
  /**
   * How a transaction commits without waiting for its log to reach the disk (`TransactionOptions`
   * `durable: false`): `before` runs on the connection before `begin` (which replaces `beginWrite`),
   * `after` once the transaction is over, committed or not, to put the connection back as it was.
   * A process crash loses no commit that returned either way; a power loss may lose the last few.
   */
  readonly relaxedCommit: {
    readonly before: readonly string[];
    readonly begin: string;
    readonly after: readonly string[];
  };
  /** How often a transaction runs when the database aborts it to break a conflict (1 = never again). */
  readonly maxAttempts: number;
  /** Driver error codes that mean "run the whole transaction again". */
  readonly retryCodes: ReadonlySet<string>;
  /** Driver error codes of a duplicate primary key or unique value. */
  readonly uniqueViolationCodes: ReadonlySet<string>;
  /**
   * Driver error codes that mean the database is locked, unreachable or out of space: retry later, not
   * a bug. Every query turns them into `StorageUnavailable` (`outage.ts`).
   */
  readonly unavailableCodes: ReadonlySet<string>;
  /**
   * SQL run on the migrating connection before migrating, after success and after failure, so two
   * processes starting at once on one database migrate one after the other (each a list of
   * statements, run in order).
   */
  readonly migrationLock: {
    readonly acquire: readonly string[];
    readonly release: readonly string[];
    readonly abort: readonly string[];
  };
  /**
   * SQL run on one connection before and after overwriting a secret in place (sealing a plaintext
   * one), so that no old copy stays in the database's free space or log where the dialect can see to it.
   */
  readonly secureOverwrite: { readonly before: readonly string[]; readonly after: readonly string[] };
}

export interface DialectModule<Config> {
  readonly capabilities: Capabilities;
  /** Opens the driver (lazily where the driver allows) with this dialect's settings applied. */
  connect(config: Config): Kysely<Database>;
}
