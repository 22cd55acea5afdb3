/**
 * Statements built once and run many times with new values. Kysely builds and compiles every query
 * anew (builder objects, frozen nodes, the compiler's walk: several µs a statement, the largest part
 * of the store layer's CPU after the driver itself); a repository's hottest statements can be
 * declared with `reusable` instead, and then cost a parameter array. The SQL stays in the repository.
 */
import { type Compilable, type CompiledQuery, type Kysely, PostgresAdapter, type QueryResult } from 'kysely';
import { LancashError } from '../core/errors.js';
import type { Database } from './schema.js';
import { directInTransaction, directOfStore } from './sqlite/direct.js';

/** Stands for the i-th argument while the statement is built; never reaches a database. */
class Placeholder {
  constructor(readonly index: number) {}
}

/**
 * `build`, compiled once per database (dialect) with placeholders for its arguments, then run with
 * the arguments of each call; resolves to the rows. `build` must use its arguments only as values
 * (in `where`, `set`, `values`…): not in JS logic, not as lists (`in`) or row counts, which shape the
 * SQL text; a build that does not pass every argument into the statement is refused.
 */
export function reusable<A extends readonly unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): (db: Kysely<Database>, ...args: A) => Promise<R[]> {
  const statement = compiledFor(build);
  return async (db, ...args) => {
    const { query, parameters } = statement(db, args);
    // Inside a SQLite transaction (most of these statements): at once, as `executeCompiled` would,
    // without its promise, its copy of the query and its result object.
    const direct = directInTransaction(db);
    if (direct !== undefined) return direct.rows<R>(query.sql, parameters);
    return (await executeCompiled<R>(db, { ...query, parameters })).rows;
  };
}

/**
 * As `reusable`, for a write that returns no rows: resolves to how many rows it inserted, updated or
 * deleted (an `insert … on conflict do nothing` that found its key: 0).
 */
export function reusableWrite<A extends readonly unknown[]>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<unknown>,
): (db: Kysely<Database>, ...args: A) => Promise<number> {
  const statement = compiledFor(build);
  return async (db, ...args) => {
    const { query, parameters } = statement(db, args);
    const direct = directInTransaction(db);
    if (direct !== undefined) return direct.changes(query.sql, parameters);
    const result = await db.executeQuery({ ...query, parameters });
    return Number(result.numAffectedRows ?? 0n);
  };
}

/**
 * `db.executeQuery(query)` for a statement a repository compiled itself (`CompiledQuery.raw`, or a
 * text it keeps by shape): on SQLite it runs at once where `reusable` statements do (`sqlite/direct.ts`).
 */
export async function executeCompiled<R>(
  db: Kysely<Database>,
  query: CompiledQuery<R>,
): Promise<QueryResult<R>> {
  // Inside a SQLite transaction the connection is ours: run at once (`sqlite/direct.ts`).
  const direct = directInTransaction(db);
  if (direct !== undefined) return direct.execute<R>(query.sql, query.parameters);
  // On a SQLite store's own handle, a read while no transaction is open: also at once.
  const rows = directOfStore(db)?.readNow<R>(query.sql, query.parameters);
  if (rows !== undefined) return { rows };
  return db.executeQuery<R>(query);
}

/** `build` compiled once per database (adapter), and each call's parameter list. */
function compiledFor<A extends readonly unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): (db: Kysely<Database>, args: A) => { query: CompiledQuery<R>; parameters: readonly unknown[] } {
  // By the database's adapter: a store's own handle and its transactions' connections share it.
  const compiled = new WeakMap<object, Compiled<R>>();
  return (db, args) => {
    const executor = db.getExecutor();
    let entry = compiled.get(executor.adapter);
    if (entry === undefined) {
      entry = compile(db, build, args.length);
      compiled.set(executor.adapter, entry);
    }
    const { query, slots, inOrder } = entry;
    // Most statements take their arguments as they come: the argument list is the parameter list.
    const parameters = inOrder
      ? args
      : slots.map((slot, i) => (slot === undefined ? query.parameters[i] : args[slot]));
    return { query, parameters };
  };
}

interface Compiled<R> {
  query: CompiledQuery<R>;
  /** For each parameter of `query`, the argument it takes, or undefined for a constant of the build. */
  slots: (number | undefined)[];
  /** Whether parameter i is argument i for every i, all arguments used: the arguments are the list. */
  inOrder: boolean;
}

function compile<A extends readonly unknown[], R>(
  db: Kysely<Database>,
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
  arity: number,
): Compiled<R> {
  const placeholders = Array.from({ length: arity }, (_, i) => new Placeholder(i));
  const query = build(db, ...(placeholders as unknown as A)).compile();
  const slots = query.parameters.map((p) => (p instanceof Placeholder ? p.index : undefined));
  const unused = placeholders.filter((p) => !slots.includes(p.index));
  if (unused.length > 0) {
    const reason = `reusable statement: argument ${unused.map((p) => p.index).join(', ')} is not a value of the statement`;
    throw new LancashError('Internal', { reason }, reason);
  }
  const inOrder = slots.length === arity && slots.every((slot, i) => slot === i);
  return { query, slots, inOrder };
}

/**
 * `make(key)`, made once per key: the `reusable` statements of a repository whose shape depends on a
 * few fixed choices (a column name of a small set), one statement per choice.
 */
export function once<K, V>(make: (key: K) => V): (key: K) => V {
  const made = new Map<K, V>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) {
      v = make(key);
      made.set(key, v);
    }
    return v;
  };
}

/**
 * Whether `db` runs data-modifying statements inside `WITH` (PostgreSQL): several writes of one step
 * then go in one statement, one round trip. SQLite has RETURNING and UPSERT but no such CTEs.
 */
export function runsDataModifyingCtes(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
