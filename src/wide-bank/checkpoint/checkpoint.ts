/**
 * Checkpoints of the wide bank's frozen rows (docs/wide-bank.md, "Checkpoints"): every audit report
 * carries one, a SHA-256 per money table over the rows that can no longer change, written at or before
 * a time a little before the audit (`CHECKPOINT_MARGIN_MS`, so transactions still committing are not
 * half in it), and one hash over those. Given the checkpoint of an earlier report, the audit recomputes
 * the same rows as of that time: a row written before it and changed, deleted or back-dated since is
 * named by its table with the value before and after, even when the forgery keeps every sum balanced.
 * It proves nothing about rows written after the earlier checkpoint, and only as much as that report
 * was kept where the forger could not rewrite it. No write path pays for it: the hashing is the audit's.
 */
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { linkHashAt } from '../ledger/chain-audit.js';
import { chainHead } from '../ledger/repository.js';
import { CHECKPOINT_TABLES, type CheckpointTable, frozenRows } from './repository.js';

/** Rows younger than this are left to the next checkpoint: their transaction may still be committing. */
export const CHECKPOINT_MARGIN_MS = 60_000;

const TableDigest = Type.Object({
  rows: Type.Integer({ minimum: 0 }),
  value: Type.Integer({ minimum: 0 }),
  hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});

/** A checkpoint as the report prints it, and as `lancash audit --since` reads it back. */
export const Checkpoint = Type.Object({
  /** Rows written at or before this time (unix ms) are in it. */
  at: Type.Integer({ minimum: 0 }),
  tables: Type.Record(Type.String(), TableDigest),
  /** The ledger's hash chain head when the checkpoint was taken: its link must keep this hash. */
  chain: Type.Optional(
    Type.Object({ seq: Type.Integer({ minimum: 0 }), hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
  ),
  /** SHA-256 of the tables' hashes in order: the one value to keep where the bank cannot write. */
  hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});
export type Checkpoint = Static<typeof Checkpoint>;

export interface CheckpointDifference {
  what: string;
  expected: number;
  actual: number;
  rows: string[];
}

/** The checkpoint of the frozen rows written at or before `at`. */
export async function takeCheckpoint(db: Kysely<Database>, at: number): Promise<Checkpoint> {
  const tables: Checkpoint['tables'] = {};
  for (const table of CHECKPOINT_TABLES) tables[table] = digest(await frozenRows(db, table, at));
  const chain = await chainHead(db);
  return { at, tables, ...(chain !== undefined ? { chain } : {}), hash: overall(tables, chain) };
}

/** The earlier checkpoint against the same rows now: one difference per table that changed. */
export async function sinceCheckpoint(
  db: Kysely<Database>,
  earlier: Checkpoint,
): Promise<CheckpointDifference[]> {
  const at = new Date(earlier.at).toISOString();
  if (overall(earlier.tables, earlier.chain) !== earlier.hash) {
    return [
      {
        what: `the checkpoint of ${at} given does not hash to its own hash: it was edited`,
        expected: 1,
        actual: 0,
        rows: ['checkpoint'],
      },
    ];
  }
  const now = await takeCheckpoint(db, earlier.at);
  const out: CheckpointDifference[] = [];
  if (earlier.chain !== undefined && earlier.chain.seq > 0) {
    const hash = await linkHashAt(db, earlier.chain.seq);
    if (hash !== earlier.chain.hash) {
      out.push({
        what: `ledger hash chain: link ${earlier.chain.seq} no longer has the hash the checkpoint of ${at} recorded (${earlier.chain.hash}): the chain was rewritten up to there`,
        expected: 1,
        actual: 0,
        rows: [`bank_entries:chain_seq=${earlier.chain.seq}`, 'bank_chain:1'],
      });
    }
  }
  for (const table of CHECKPOINT_TABLES) {
    const before = earlier.tables[table];
    const after = now.tables[table]!;
    if (before === undefined || before.hash === after.hash) continue;
    out.push({
      what: `${table}: the rows written by ${at} changed since that checkpoint (${before.rows} rows then, ${after.rows} now; value then and now)`,
      expected: before.value,
      actual: after.value,
      rows: [`${table}:written-by=${earlier.at}`],
    });
  }
  return out;
}

function digest(rows: { key: string; columns: unknown[]; value: number }[]): {
  rows: number;
  value: number;
  hash: string;
} {
  // Sorted here, not in SQL: PostgreSQL's collation may order text unlike SQLite's bytes.
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const h = createHash('sha256');
  let value = 0;
  for (const r of rows) {
    h.update(JSON.stringify(r.columns));
    h.update('\n');
    value += r.value;
  }
  return { rows: rows.length, value, hash: h.digest('hex') };
}

function overall(tables: Checkpoint['tables'], chain?: { seq: number; hash: string }): string {
  const h = createHash('sha256');
  if (chain !== undefined) h.update(`chain:${chain.seq}:${chain.hash}\n`);
  for (const table of CHECKPOINT_TABLES satisfies readonly CheckpointTable[]) {
    const t = tables[table];
    h.update(`${table}:${t?.rows ?? 0}:${t?.value ?? 0}:${t?.hash ?? ''}\n`);
  }
  return h.digest('hex');
}
