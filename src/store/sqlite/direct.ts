/**
 * Statements run at once on a SQLite store's one connection, without Kysely's executor: its connection
 * provider, the outage wrapper's closure and the driver's promise cost ≈ 4 KB and ≈ 1.5 µs a
 * statement, more than SQLite takes to run a small one. Better-sqlite3 runs a statement synchronously,
 * so running it now is safe exactly when nothing else can be between its statements on the connection:
 * - inside the store's own transaction (Kysely's mutex was taken for it): every statement;
 * - on the store's own handle, a read-only statement while no transaction is open on the connection:
 *   it sees committed rows only and ends before anything else runs, as if it had come first in the
 *   mutex's queue. While a transaction is open (between its awaits) it must queue behind it, or it
 *   would read that transaction's uncommitted rows: then Kysely's path. Writes outside a transaction
 *   keep Kysely's path too.
 */
import type { Kysely, QueryResult } from 'kysely';
import { asOutage } from '../outage.js';
import type { Database } from '../schema.js';
import { capabilities } from './capabilities.js';

/** What runs a statement on the connection: the statement cache of `connect.ts`. */
export interface Statements {
  prepare(sql: string): {
    readonly reader: boolean;
    readonly readonly: boolean;
    all(parameters: readonly unknown[]): unknown[];
    run(parameters: readonly unknown[]): { changes: number | bigint };
  };
}

/** A SQLite connection's statements, run synchronously, outages mapped as `outage.ts` maps them. */
export class Direct {
  constructor(
    readonly statements: Statements,
    /** Whether a transaction is open on the connection (better-sqlite3's `inTransaction`). */
    readonly inTransaction: () => boolean,
  ) {}

  /**
   * The rows of `sql` when it only reads and no transaction is open on the connection (see the file
   * comment); undefined when it must take Kysely's path instead.
   */
  readNow<R>(sql: string, parameters: readonly unknown[]): R[] | undefined {
    if (this.inTransaction()) return undefined;
    try {
      const stmt = this.statements.prepare(sql);
      if (!stmt.readonly || !stmt.reader) return undefined;
      return stmt.all(parameters) as R[];
    } catch (err) {
      throw asOutage(err, capabilities.unavailableCodes);
    }
  }

  /** Runs `sql`: the rows of a statement that returns rows, else how many rows it changed. */
  #run(sql: string, parameters: readonly unknown[]): unknown[] | number | bigint {
    try {
      const stmt = this.statements.prepare(sql);
      return stmt.reader ? stmt.all(parameters) : stmt.run(parameters).changes;
    } catch (err) {
      throw asOutage(err, capabilities.unavailableCodes);
    }
  }

  /** Runs `sql` and answers as Kysely's SQLite driver does: the rows, or how many rows it changed. */
  execute<R>(sql: string, parameters: readonly unknown[]): QueryResult<R> {
    const r = this.#run(sql, parameters);
    return typeof r === 'object' ? { rows: r as R[] } : { numAffectedRows: BigInt(r), rows: [] };
  }

  /** Runs `sql`: the rows of a statement that returns rows, else none. */
  rows<R>(sql: string, parameters: readonly unknown[]): R[] {
    const r = this.#run(sql, parameters);
    return typeof r === 'object' ? (r as R[]) : [];
  }

  /** Runs the write `sql` (one that returns no rows): how many rows it changed. */
  changes(sql: string, parameters: readonly unknown[]): number {
    const r = this.#run(sql, parameters);
    return typeof r === 'object' ? 0 : Number(r);
  }
}

/** Each SQLite store's `Direct`, by its Kysely handle (`connect.ts`). */
const ofStore = new WeakMap<Kysely<Database>, Direct>();
/** The `Direct` of each transaction's connection while the transaction is open (`store/index.ts`). */
const ofTransaction = new WeakMap<Kysely<Database>, Direct>();

export function registerStore(db: Kysely<Database>, direct: Direct): void {
  ofStore.set(db, direct);
}

/** The store's `Direct` when `db` is a SQLite store's own handle. */
export function directOfStore(db: Kysely<Database>): Direct | undefined {
  return ofStore.get(db);
}

/** Marks `trx` as an open transaction of the SQLite connection `direct`, until `close`. */
export function openTransaction(trx: Kysely<Database>, direct: Direct): void {
  ofTransaction.set(trx, direct);
}

export function closeTransaction(trx: Kysely<Database>): void {
  ofTransaction.delete(trx);
}

/** The connection's `Direct` when `db` is an open SQLite transaction's handle; else undefined. */
export function directInTransaction(db: Kysely<Database>): Direct | undefined {
  return ofTransaction.get(db);
}
