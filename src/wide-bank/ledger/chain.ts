/**
 * The ledger's hash chain (migration 013, docs/wide-bank.md "The ledger's hash chain"): each posting
 * is one link, hash = SHA-256 of the previous link's hash, the link's number and its entries in a
 * canonical form. Shared by the ledger, which writes the links, and the audit, which recomputes them.
 */
import { createHash } from 'node:crypto';

/** The hash before the first link (as migration 013 seeds the head). */
export const CHAIN_GENESIS = '0'.repeat(64);

/** The columns of an entry that its link's hash covers. */
export interface ChainedEntry {
  id: string;
  tx_id: string;
  account_id: string;
  amount: number;
  kind: string;
  ref: string;
  created_at: number;
}

/** A link's entries in the canonical form its hash covers: sorted by id, each as an array of its columns. */
export type LinkRow = [string, string, string, number, string, string, number];

export function linkRows(entries: readonly ChainedEntry[]): LinkRow[] {
  return [...entries]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((e) => [e.id, e.tx_id, e.account_id, Number(e.amount), e.kind, e.ref, Number(e.created_at)]);
}

/**
 * SHA-256 hex of the UTF-8 text `["<prev>",<seq>,<JSON of linkRows>]` (no spaces): the ledger's
 * PostgreSQL statement that appends a link (`appendLinkInServer`) builds the same text in SQL.
 */
export function linkHash(prev: string, seq: number, entries: readonly ChainedEntry[]): string {
  return createHash('sha256')
    .update(JSON.stringify([prev, seq, linkRows(entries)]))
    .digest('hex');
}
