/**
 * The audit of the ledger's hash chain (migration 013): every link recomputed from the previous one
 * and its entries, the links numbered without gaps, the head on the last link. A link that does not
 * recompute is named with its entries; the next links are checked from its stored hash, so one edit
 * names one link. What it proves: no entry changed, deleted or added in a link by someone who did not
 * recompute every later hash (and the head). An intruder who recomputes them is caught only against
 * a head kept elsewhere: the checkpoint's `chain` in an earlier report (`checkpoint.ts`).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { CHAIN_GENESIS, linkHash } from './chain.js';
import * as repo from './repository.js';

/** Links read at a time. */
const LINKS_PER_PAGE = 1000;

export interface ChainDifference {
  what: string;
  expected: number;
  actual: number;
  rows: string[];
}

export interface ChainAudit {
  differences: ChainDifference[];
  /** The head as stored: the number of links and the last one's hash. */
  head: { seq: number; hash: string };
  /** Entries written before the chain (outside it). */
  unchained: number;
}

export async function auditChain(db: Kysely<Database>): Promise<ChainAudit> {
  const differences: ChainDifference[] = [];
  const head = (await repo.chainHead(db)) ?? { seq: 0, hash: CHAIN_GENESIS };
  let prev = CHAIN_GENESIS;
  let expectedSeq = 1;
  let last = 0;
  for (let after = 0; ; after += LINKS_PER_PAGE) {
    const rows = await repo.chainedEntries(db, after, LINKS_PER_PAGE);
    const links = new Map<number, repo.EntryRow[]>();
    for (const r of rows) {
      const seq = Number(r.chain_seq);
      const list = links.get(seq) ?? [];
      list.push(r);
      links.set(seq, list);
    }
    for (const [seq, entries] of [...links.entries()].sort((a, b) => a[0] - b[0])) {
      for (; expectedSeq < seq; expectedSeq++) {
        differences.push({
          what: `ledger hash chain: link ${expectedSeq} is missing (its entries were deleted)`,
          expected: 1,
          actual: 0,
          rows: [`bank_entries:chain_seq=${expectedSeq}`],
        });
      }
      const stored = new Set(entries.map((e) => e.chain_hash));
      const hash = linkHash(prev, seq, entries);
      const credits = entries.reduce((s, e) => s + Math.max(0, Number(e.amount)), 0);
      if (stored.size !== 1 || !stored.has(hash)) {
        differences.push({
          what: `ledger hash chain: link ${seq} does not recompute from its entries (an entry of it changed, added or deleted); its entries now credit ${credits}`,
          expected: 1,
          actual: 0,
          rows: entries.map((e) => `bank_entries:${e.id}`),
        });
      }
      // From the stored hash on: one edit names one link, not every later one.
      prev = entries[0]!.chain_hash ?? hash;
      expectedSeq = seq + 1;
      last = seq;
    }
    if (after + LINKS_PER_PAGE >= Math.max(head.seq, last)) break;
  }
  if (head.seq !== last || head.hash !== (last === 0 ? CHAIN_GENESIS : prev)) {
    differences.push({
      what: `ledger hash chain: the head (link ${head.seq}) against the last link (${last})`,
      expected: last,
      actual: head.seq,
      rows: ['bank_chain:1'],
    });
  }
  return { differences, head, unchained: await repo.unchainedEntries(db) };
}

/** The stored hash of link `seq` (undefined when no entry has it). */
export async function linkHashAt(db: Kysely<Database>, seq: number): Promise<string | undefined> {
  const rows = await repo.chainedEntries(db, seq - 1, 1);
  return rows[0]?.chain_hash ?? undefined;
}
