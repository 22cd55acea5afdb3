/**
 * Invariant 1 of docs/design.md §6, recomputed from the wide bank's database: funded − withdrawn = Σ holder
 * balances + wide notes outstanding. Concretely, every difference found is listed with what was
 * expected and what is there:
 *   - every transaction's entries sum to 0;
 *   - every account's balance equals the sum of its entries;
 *   - no holder balance is below 0;
 *   - `notes_outstanding` equals the mint's value signed − value spent. Notes pending in a melt still
 *     count as outstanding: the ledger moves them to `funding` only when the melt completes, in the same
 *     transaction that marks them spent;
 *   - `funding` + Σ every other balance = 0 (what came in from outside is held somewhere).
 * A row that is in an unbalanced transaction AND on an account whose balance disagrees with its entries
 * is named by its id: that is where a tampered entry shows.
 */
import { totals as mintTotals } from '../mint/repository.js';
import type { Store } from '../store/index.js';
import * as repo from './ledger/repository.js';
import { FUNDING, NOTES_OUTSTANDING } from './ledger/service.js';

export interface AuditDifference {
  /** One of these names what differs. */
  row?: string;
  account?: string;
  tx?: string;
  expected: number;
  actual: number;
  what: string;
}

export interface WideBankAudit {
  balanced: boolean;
  differences: AuditDifference[];
  totals: {
    funding: number;
    notesOutstanding: number;
    holders: number;
    holderAccounts: number;
    mint: { signed: number; spent: number; pending: number };
  };
}

export async function auditWideBank(store: Store): Promise<WideBankAudit> {
  const db = store.db;
  const differences: AuditDifference[] = [];

  const unbalanced = await repo.unbalancedTransactions(db);
  for (const t of unbalanced) {
    differences.push({ tx: t.tx_id, expected: 0, actual: t.total, what: 'entries of the transaction sum' });
  }

  const accounts = await repo.accountsWithEntrySums(db);
  for (const a of accounts) {
    if (a.balance !== a.entries) {
      differences.push({
        account: a.id,
        expected: a.entries,
        actual: a.balance,
        what: 'balance against the sum of its entries',
      });
    }
    if (a.kind === 'holder' && a.balance < 0) {
      differences.push({ account: a.id, expected: 0, actual: a.balance, what: 'holder balance below 0' });
    }
  }

  const byId = new Map(accounts.map((a) => [a.id, a]));
  for (const e of await repo.entriesOfTransactions(
    db,
    unbalanced.map((t) => t.tx_id),
  )) {
    const a = byId.get(e.account_id);
    if (a === undefined || a.balance === a.entries) continue;
    // Had this row alone been changed, its account's entries would exceed the balance by the change.
    differences.push({
      row: e.id,
      tx: e.tx_id,
      account: e.account_id,
      expected: e.amount - (a.entries - a.balance),
      actual: e.amount,
      what: 'bank_entries row in an unbalanced transaction, on an account that disagrees with its entries',
    });
  }

  const mint = await mintTotals(db);
  const notesOutstanding = byId.get(NOTES_OUTSTANDING)?.balance ?? 0;
  const expectedOutstanding = mint.signed - mint.spent;
  if (notesOutstanding !== expectedOutstanding) {
    differences.push({
      account: NOTES_OUTSTANDING,
      expected: expectedOutstanding,
      actual: notesOutstanding,
      what: 'notes outstanding against the mint: value signed − value spent',
    });
  }

  const funding = byId.get(FUNDING)?.balance ?? 0;
  const others = accounts.filter((a) => a.id !== FUNDING).reduce((s, a) => s + a.balance, 0);
  if (funding + others !== 0) {
    differences.push({
      account: FUNDING,
      expected: -others,
      actual: funding,
      what: 'funding against minus every other balance (funded − withdrawn = holders + notes outstanding)',
    });
  }

  const holders = accounts.filter((a) => a.kind === 'holder');
  return {
    balanced: differences.length === 0,
    differences,
    totals: {
      funding,
      notesOutstanding,
      holders: holders.reduce((s, a) => s + a.balance, 0),
      holderAccounts: holders.length,
      mint,
    },
  };
}
