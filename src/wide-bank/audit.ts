/**
 * Invariant 1 of docs/design.md §6, recomputed from the wide bank's database: funded − withdrawn = Σ holder
 * balances + wide notes outstanding. Concretely, every difference found is listed with what was
 * expected and what is there:
 *   - every transaction's entries sum to 0;
 *   - every account's balance equals the sum of its entries, and every entry's account exists;
 *   - no holder balance is below 0;
 *   - `notes_outstanding` equals the mint's value signed − value spent. Notes pending in a melt still
 *     count as outstanding: the ledger moves them to `funding` only when the melt completes, in the same
 *     transaction that marks them spent;
 *   - `funding` + Σ every other balance = 0 (what came in from outside is held somewhere).
 * A row that is in an unbalanced transaction AND on an account whose balance disagrees with its entries
 * is named by its id: that is where a tampered entry shows.
 *
 * Row by row (issue 12 item 4), so that a change that keeps those sums balanced is still named:
 *   - per mint operation, what it moved at the mint against what the ledger booked for it on
 *     `notes_outstanding` (an issue, a receive with its input fee, a bolt11 mint or melt under
 *     `quote:<id>`); NUT-03 `Σ inputs − fee = Σ outputs` is recomputed for each swap from its rows, and
 *     the fee it kept must be booked under the swap's operation (docs/wide-bank.md, "Fees");
 *   - per Lightning quote, its state against its notes: an ISSUED mint quote has signatures of exactly
 *     its amount, an UNPAID or PAID one none (set back to PAID, it could be minted again); a melt quote
 *     holds its inputs pending while PENDING, has them spent once PAID, and holds nothing while UNPAID;
 *   - the mint's own rows (`mint/audit.ts`): notes pending where nothing holds notes pending, copied
 *     signature rows, more notes spent than signed per keyset and amount, keyset rows against their ids
 *     (the fee a keyset was created with).
 * What this proves and what it cannot is in the report itself (`proves`, `cannotProve`). Each report
 * also carries a checkpoint of the rows that can no longer change (`checkpoint/checkpoint.ts`); given
 * an earlier report's checkpoint (`since`), any of those rows changed since is named by its table.
 */
import { mintIntegrity, signaturesToName, valueByOperation } from '../mint/audit.js';
import { totals as mintTotals } from '../mint/repository.js';
import type { Store } from '../store/index.js';
import {
  CHECKPOINT_MARGIN_MS,
  type Checkpoint,
  sinceCheckpoint,
  takeCheckpoint,
} from './checkpoint/checkpoint.js';
import { auditChain } from './ledger/chain-audit.js';
import * as repo from './ledger/repository.js';
import { FUNDING, NOTES_OUTSTANDING } from './ledger/service.js';
import { quoteById, quotesPastUnpaid } from './lightning/repository.js';

export interface AuditDifference {
  /** One of these names what differs. */
  row?: string;
  account?: string;
  tx?: string;
  /** The rows of a row-by-row check: `mint_proofs:<Y>`, `mint_signatures:<B_>`, `lightning_quotes:<id>`, … */
  rows?: string[];
  expected: number;
  actual: number;
  what: string;
}

export interface WideBankAudit {
  balanced: boolean;
  differences: AuditDifference[];
  /** What a balanced report proves about this database. */
  proves: string[];
  /** What it cannot prove, whatever it says. */
  cannotProve: string[];
  /** The frozen rows as of a minute ago: keep it (or its `hash`) where the bank cannot write, give it back with `since`. */
  checkpoint: Checkpoint;
  /** The ledger's hash chain: its links and head, and the entries written before it (outside it). */
  chain: { links: number; head: string; unchained: number };
  totals: {
    funding: number;
    notesOutstanding: number;
    holders: number;
    holderAccounts: number;
    mint: { signed: number; spent: number; pending: number };
  };
}

export interface AuditOptions {
  /** An earlier report's checkpoint: its rows are recomputed and compared. */
  since?: Checkpoint;
  clock?: () => number;
}

export async function auditWideBank(store: Store, o: AuditOptions = {}): Promise<WideBankAudit> {
  const db = store.db;
  const differences: AuditDifference[] = [];
  const checkpoint = await takeCheckpoint(db, (o.clock ?? Date.now)() - CHECKPOINT_MARGIN_MS);

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

  // An entry of an account that does not exist is in no account's sum (PostgreSQL has no foreign key
  // there since migration 039: every writer moves the account it writes for, and this checks it).
  for (const e of await repo.entriesOfNoAccount(db)) {
    differences.push({
      row: e.id,
      tx: e.tx_id,
      account: e.account_id,
      expected: 0,
      actual: e.amount,
      what: 'bank_entries row of an account that does not exist',
    });
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

  const ops = await byOperation(store);
  differences.push(...ops.differences);
  const integrity = await mintIntegrity(store, {
    // Only a melt being paid holds notes pending at the wide bank.
    mayHoldPending: (op) => ops.pendingMelts.has(op),
  });
  differences.push(...integrity.differences);
  const chain = await auditChain(db);
  differences.push(...chain.differences);
  if (o.since !== undefined) differences.push(...(await sinceCheckpoint(db, o.since)));

  const holders = accounts.filter((a) => a.kind === 'holder');
  return {
    balanced: differences.length === 0,
    differences,
    proves: [
      ...PROVES,
      PROVES_CHAIN,
      ...(integrity.notChecked.length === 0 ? PROVES_WITH_SEED : []),
      ...(o.since === undefined
        ? []
        : [
            `the rows that can no longer change, written by ${new Date(o.since.at).toISOString()}, are as they were in the checkpoint ${o.since.hash}`,
          ]),
    ],
    cannotProve: [
      ...CANNOT_PROVE,
      o.since === undefined
        ? 'that no row changed since an earlier audit: give its report (lancash audit --since FILE) to compare its checkpoint'
        : `that no row written after ${new Date(o.since.at).toISOString()} was forged consistently, nor that the checkpoint given is the one that audit printed (keep it where the bank cannot write)`,
      ...integrity.notChecked.map((n) => `not checked: ${n}`),
      ...(chain.unchained > 0
        ? [
            `the ${chain.unchained} ledger entries written before the hash chain (migration 013) are outside it`,
          ]
        : []),
    ],
    checkpoint,
    chain: { links: chain.head.seq, head: chain.head.hash, unchained: chain.unchained },
    totals: {
      funding,
      notesOutstanding,
      holders: holders.reduce((s, a) => s + a.balance, 0),
      holderAccounts: holders.length,
      mint,
    },
  };
}

const PROVES = [
  'invariant 1: funded − withdrawn = Σ holder balances + notes outstanding, every account against its entries, every transaction balanced',
  'every mint operation against the ledger: an issue, a receive, a bolt11 mint or melt moved at the mint exactly what the ledger booked for it on notes_outstanding',
  'every swap balanced by its own rows (NUT-03: Σ inputs − fee = Σ outputs, the fee from the keysets), and the input fee it kept booked to funding under its operation',
  'every Lightning quote against its notes: an ISSUED mint quote signed exactly its amount, a PAID or UNPAID one nothing; a melt quote holds, spends or holds nothing by its state',
  'no note pending outside a melt being paid; no signature row copied (one C_ per row); per keyset and amount, no more notes spent than signed',
];

/** What the ledger's hash chain proves (migration 013). */
const PROVES_CHAIN =
  'every ledger entry in the hash chain is as it was written: no entry changed, added or deleted in a link unless every later link and the head were recomputed';

/** What the checks that need the mint's seed prove (listed as not checked when it cannot be read). */
const PROVES_WITH_SEED = [
  'every keyset row derives its NUT-02 id from the seed: its fee, unit and keys are the ones it was created with',
  'every signature row is the mint’s own signature of its B_ for its amount and keyset (C_ = k·B_, with the keys from the seed)',
];

const CANNOT_PROVE = [
  'a consistent forgery by someone who also recomputes the ledger’s hash chain: rows changed together so that every sum and every per-operation check still holds (e.g. an operator’s deposit raised on both legs, with both balances to match, and every later link rehashed; or, by someone who can read the seed, an issue with genuine new signatures) is seen only against an earlier checkpoint kept outside the bank, and only for rows written before it',
  'that a deleted row existed: a deleted swap (its inputs, its outputs) or a deleted operation with its ledger entries leaves nothing behind, unless an earlier checkpoint covers it',
  'which note a deleted spent note was: only its operation and its value are named (a note cannot be linked to its blind signature)',
  'that the notes outstanding are really held by someone: a lost or burnt note still counts as outstanding',
  'the Lightning backend: that a PAID mint quote’s invoice was really paid, or a melt really paid out',
];

/** Each mint operation against the ledger, and each Lightning quote against its notes (module doc). */
async function byOperation(
  store: Store,
): Promise<{ differences: AuditDifference[]; pendingMelts: Set<string> }> {
  const db = store.db;
  const differences: AuditDifference[] = [];
  const ops = await valueByOperation(db);
  const booked = await repo.sumsByRef(db, NOTES_OUTSTANDING);
  const entryRows = async (ref: string) =>
    (await repo.entryIdsOfRef(db, NOTES_OUTSTANDING, ref)).map((id) => `bank_entries:${id}`);
  const seenRefs = new Set<string>();
  const none = { signed: 0, spent: 0, pending: 0, fee: 0 };

  for (const [op, v] of ops) {
    const kind = op.slice(0, op.indexOf(':'));
    if (!['swap', 'mint', 'melt', 'issue', 'receive'].includes(kind)) {
      differences.push({
        what: `mint operation ${op} of no kind the wide bank makes`,
        expected: 0,
        actual: v.signed - v.spent - v.pending,
        rows: [`mint_signatures:operation=${op}`, `mint_proofs:operation=${op}`],
      });
      continue;
    }
    // Pending notes are still outstanding: the ledger books a melt when it completes.
    const moved = v.signed - v.spent;
    const ref = kind === 'mint' || kind === 'melt' ? `quote:${op.slice(5)}` : op;
    seenRefs.add(ref);
    const expected = booked.get(ref) ?? 0;
    if (kind === 'swap') {
      // NUT-03 from the swap's own rows (the fee from the keysets), then its fee as the ledger booked it.
      if (moved + v.fee !== 0) {
        differences.push({
          what: `swap ${op}: Σ outputs − Σ inputs + fee ${v.fee} (NUT-03: Σ inputs − fee = Σ outputs)`,
          expected: 0,
          actual: moved + v.fee,
          rows: [
            `mint_signatures:operation=${op}`,
            `mint_proofs:operation=${op}`,
            ...(await signaturesToName(db, op, moved + v.fee)),
          ],
        });
      }
      if (expected !== -v.fee) {
        differences.push({
          what: `swap ${op}: the input fee it kept against the ledger’s fee entries on notes_outstanding`,
          expected: -v.fee,
          actual: expected,
          rows: [`mint_proofs:operation=${op}`, ...(await entryRows(ref))],
        });
      }
      continue;
    }
    if (moved === expected) continue;
    differences.push({
      what: `${op}: value signed − value spent at the mint against the ledger’s notes_outstanding entries for ${ref}`,
      expected,
      actual: moved,
      rows: [
        `mint_signatures:operation=${op}`,
        `mint_proofs:operation=${op}`,
        ...(await entryRows(ref)),
        ...(await signaturesToName(db, op, moved - expected)),
      ],
    });
  }
  for (const [ref, amount] of booked) {
    if (seenRefs.has(ref) || amount === 0) continue;
    differences.push({
      what: `ledger entries on notes_outstanding for ${ref}, under which the mint moved no notes`,
      expected: 0,
      actual: amount,
      rows: await entryRows(ref),
    });
  }

  // Quotes: every one past UNPAID, and any other an operation names.
  const quotes = new Map((await quotesPastUnpaid(db)).map((q) => [q.id, q]));
  for (const op of ops.keys()) {
    const id = op.startsWith('mint:') || op.startsWith('melt:') ? op.slice(5) : undefined;
    if (id === undefined || quotes.has(id)) continue;
    const q = await quoteById(db, id);
    if (q !== undefined) quotes.set(id, q);
    else {
      differences.push({
        what: `mint operation ${op} of a Lightning quote that does not exist`,
        expected: 0,
        actual: (ops.get(op) ?? none).signed,
        rows: [`lightning_quotes:${id}`, `mint_signatures:operation=${op}`, `mint_proofs:operation=${op}`],
      });
    }
  }
  const pendingMelts = new Set<string>();
  for (const q of quotes.values()) {
    const op = `${q.kind}:${q.id}`;
    const v = ops.get(op) ?? none;
    const other = ops.get(`${q.kind === 'mint' ? 'melt' : 'mint'}:${q.id}`);
    const rows = [
      `lightning_quotes:${q.id}`,
      `mint_signatures:operation=${op}`,
      `mint_proofs:operation=${op}`,
    ];
    const differ = (what: string, expected: number, actual: number, more: string[] = []) => {
      if (expected !== actual)
        differences.push({
          what: `${q.kind} quote ${q.id} (${q.state}): ${what}`,
          expected,
          actual,
          rows: [...rows, ...more],
        });
    };
    if (other !== undefined)
      differ(`notes under the other kind’s operation`, 0, other.signed + other.spent + other.pending);
    if (q.kind === 'mint') {
      const issued = q.state === 'ISSUED';
      differ(
        issued
          ? 'value signed against the quote’s amount'
          : 'value signed for a quote not ISSUED (it can be minted again)',
        issued ? Number(q.amount) : 0,
        v.signed,
        await entryRows(`quote:${q.id}`),
      );
      differ('notes spent or pending under a mint quote', 0, v.spent + v.pending);
    } else {
      if (q.state === 'PENDING') pendingMelts.add(op);
      const inputs = Number(q.inputs_amount);
      differ('inputs held pending', q.state === 'PENDING' ? inputs : 0, v.pending);
      differ('inputs spent', q.state === 'PAID' ? inputs : 0, v.spent);
      if (q.state !== 'PAID') differ('change signed before the melt was paid', 0, v.signed);
    }
  }
  return { differences, pendingMelts };
}
