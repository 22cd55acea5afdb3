/**
 * Invariant 2 of docs/design.md §6, recomputed from the gateway's database and the wide bank's: local money
 * outstanding (+ pending in jobs) = the reserve account's balance ± value in flight, exactly, in minor
 * units (docs/gateway.md, "Invariant 2"). With
 *   L = local value signed − local value spent (pending notes still count),
 *   R = the reserve account's balance at the wide bank,
 * it checks
 *   R = L + F − job 1 issued at the bank, not settled here   + job 2 credited at the bank, not generated here
 *         + payroll claimed at the bank, not generated here − payout withdrawn at the bank, not settled here
 *         + surplus,
 * where F is the local mint's NUT-02 input fees collected (its swaps', and those of the local notes
 * finished job 1s and payouts erased): value out of circulation whose backing stays in the reserve as
 * the organisation's income (docs/gateway.md, "Fees"),
 * where "at the bank" is read from the bank's idempotency table (`bank_requests`) under the job's
 * request key, and the surplus is what reached the reserve outside the gateway's books: deposits not
 * (yet) claimed by a payroll, plus any other entry (a stranger's receive into the reserve, minus an
 * operator's direct withdrawal). A negative surplus means money left the reserve that backed local
 * money: a difference.
 *
 * Beyond the sum, every job is checked against both sides by its state (its local notes held, erased
 * or generated; its bank request present or absent and of its amount), every local mint operation that
 * is not a job must move value without creating any (a swap), and every bank request of the gateway's
 * key must belong to a live job. Each difference names its rows.
 *
 * Two ways to read the bank's side: `auditGateway` reads the wide bank's database (the offline
 * `lancash gateway audit`); `auditGatewayOverApi` asks the bank, as the reserve account's holder, for
 * its balance and request log (the operator console's on-demand audit, from inside the gateway, which
 * has no access to the bank's database). The comparison is the same code; the report of the second
 * says what it could not check (`checked`, `notChecked`).
 *
 * The local mint's own rows are checked as the wide bank's are (`mint/audit.ts`): notes pending outside
 * a job 1 or payout, copied signature rows, notes spent beyond those signed, keysets against their ids;
 * a swap balances with its NUT-02 input fee.
 */
import type { Kysely } from 'kysely';
import type { BalanceAnswer, RequestLogPage } from '../core/protocol/bank.js';
import { type MintIntegrity, mintIntegrity, valueByOperation } from '../mint/audit.js';
import { totals as mintTotals } from '../mint/repository.js';
import type { Store } from '../store/index.js';
import type { Database } from '../store/schema.js';
import { accountByHolderKey } from '../wide-bank/ledger/repository.js';
import { entriesOf, requestsOf } from '../wide-bank/reserve/repository.js';
import { reserveRequestKey } from '../wide-bank/reserve/service.js';
import { GatewayKeys } from './keys.js';
import { finishedAgainstRows, pastTheCallAgainstRows } from './reconcile/repository.js';

export interface GatewayAuditDifference {
  what: string;
  expected: number;
  actual: number;
  /** The rows that differ: `gateway_jobs:<id>`, `mint_signatures:operation=<op>`, `bank_requests:<key>`, … */
  rows: string[];
}

/** A job whose bank side took effect and whose local side has not yet: its value is in flight. */
export interface InFlight {
  job: string;
  kind: 'job1' | 'job2' | 'payroll' | 'payout';
  state: string;
  /** Signed: what the job adds to the reserve beyond the local money (+), or takes from it (−). */
  correction: number;
  bankRow: string;
}

export interface GatewayAudit {
  balanced: boolean;
  differences: GatewayAuditDifference[];
  /** The jobs in flight, named. */
  inFlight: InFlight[];
  /** What could not be checked (e.g. the keysets, when the seed is sealed and no secrets key was given). */
  notChecked?: string[];
  totals: {
    /** The gateway's key, which is the reserve account's holder key; null on a database no gateway ran on. */
    gatewayKey: string | null;
    reserveAccount: string | null;
    local: { signed: number; spent: number; pending: number; outstanding: number };
    reserve: number;
    inFlight: { job1: number; job2: number; payroll: number; payout: number };
    surplus: { unclaimedDeposits: number; other: number };
    /**
     * NUT-02 input fees the local mint kept (docs/gateway.md, "Fees"): on swaps, and on the local notes
     * of finished job 1s and payouts; their backing stays in the reserve as the organisation's income.
     */
    fees: { swaps: number; conversions: number; collected: number };
    /** L + fees collected ± in flight + surplus: what the reserve must hold. */
    expectedReserve: number;
    jobs: number;
  };
}

type JobRole = InFlight['kind'];

interface Side {
  /** The local mint's operation of the job. */
  operation: string;
  /** The job's request key at the bank. */
  bankKey: string;
  /** +1: the bank credits the reserve and the gateway generates local notes; −1: it debits and erases. */
  sign: 1 | -1;
  /** The state in which the bank may have acted and the gateway not yet. */
  pending: string;
}

function sideOf(gatewayKey: string, j: AuditJob): { role: JobRole; side: Side } {
  switch (j.kind) {
    case 'payroll':
      return {
        role: 'payroll',
        side: {
          operation: `payroll:${j.id}`,
          bankKey: reserveRequestKey('claim', gatewayKey, j.ref ?? ''),
          sign: 1,
          pending: 'receiving',
        },
      };
    case 'payout':
      return {
        role: 'payout',
        side: {
          operation: `payout:${j.id}`,
          bankKey: reserveRequestKey('withdraw', gatewayKey, j.ref ?? ''),
          sign: -1,
          pending: 'issuing',
        },
      };
    default:
      return j.direction === 'lan-to-wan'
        ? {
            role: 'job1',
            side: {
              operation: `job1:${j.id}`,
              bankKey: `issue:${gatewayKey}:${j.id}`,
              sign: -1,
              pending: 'issuing',
            },
          }
        : {
            role: 'job2',
            side: {
              operation: `job2:${j.id}`,
              bankKey: `receive:${gatewayKey}:${j.id}`,
              sign: 1,
              pending: 'receiving',
            },
          };
  }
}

/** Local money outstanding: value the local mint signed less value spent (pending notes still count). */
export async function localMoney(
  gw: Db,
): Promise<{ signed: number; spent: number; pending: number; outstanding: number }> {
  const mint = await mintTotals(gw);
  return { ...mint, outstanding: mint.signed - mint.spent };
}

/** The gateway's side of the audit, read before the bank's (a bank effect seen without its local one is in flight). */
interface GatewaySide {
  gatewayKey: string | null;
  local: { signed: number; spent: number; pending: number; outstanding: number };
  jobs: AuditJob[];
  ops: Map<string, { signed: number; spent: number; pending: number; fee: number }>;
  integrity: MintIntegrity;
  /** The running count of jobs past their bank call (migration 019) and the rows' count. */
  pastTheCall: { running: number; rows: number };
  /** The running counts of finished jobs per state and kind (migration 020) and the rows' counts. */
  finished: { state: string; kind: string; running: number; rows: number }[];
}

/** The bank's side: the reserve account, what moved on it (by ref), and the gateway key's request keys. */
interface BankSide {
  account: { id: string; balance: number } | undefined;
  entries: { ref: string; kind: string; amount: number; row: string }[];
  requests: Set<string>;
}

async function gatewaySide(store: Store): Promise<GatewaySide> {
  const gw = store.db;
  return {
    local: await localMoney(gw),
    gatewayKey: (await GatewayKeys.publicKeyOf(store)) ?? null,
    jobs: await jobsForAudit(gw),
    ops: await valueByOperation(gw),
    // Only a job 1 or a payout holds local notes pending (their own checks say until when).
    integrity: await mintIntegrity(store, {
      mayHoldPending: (op) => op.startsWith('job1:') || op.startsWith('payout:'),
    }),
    pastTheCall: await pastTheCallAgainstRows(gw),
    finished: await finishedAgainstRows(gw),
  };
}

/** The audit against the wide bank's database (offline: `lancash gateway audit`). */
export async function auditGateway(o: { gatewayStore: Store; wideBankStore: Store }): Promise<GatewayAudit> {
  const side = await gatewaySide(o.gatewayStore);
  const bank = o.wideBankStore.db;
  const row = side.gatewayKey === null ? undefined : await accountByHolderKey(bank, side.gatewayKey);
  const account = row === undefined ? undefined : { id: row.id, balance: Number(row.balance) };
  const entries = account === undefined ? [] : await entriesOf(bank, account.id);
  const requests = account === undefined ? [] : await requestsOf(bank, account.id);
  return compare(side, {
    account,
    entries: entries.map((e) => ({
      ref: e.ref,
      kind: e.kind,
      amount: e.amount,
      row: `bank_entries:${e.id}`,
    })),
    requests: new Set(requests.map((r) => r.key)),
  });
}

/** The on-demand audit from inside the gateway: what it checked, and what only the offline audit can. */
export interface GatewaySideAudit extends GatewayAudit {
  /** Unix ms of the bank's balance read. */
  at: number;
  checked: string[];
  notChecked: string[];
}

/** What `auditGatewayOverApi` needs of the bank: the holder's balance and request log. */
export interface ReserveReader {
  balance(): Promise<BalanceAnswer>;
  requests(after: number, limit: number): Promise<RequestLogPage>;
}

const LOG_PAGE = 1000;

/**
 * The audit with the bank's side read over its API, as the reserve account's holder: the balance and
 * the request log's `last` in one read, then the log up to `last`. What each request moved on the
 * reserve is taken from the log (issue −, receive +, payout −, claim + its deposit); the rest of the
 * balance (unclaimed deposits, strangers' receives, operators' withdrawals) is one remainder: below 0
 * is a difference, as in the full audit, but it cannot be split into its rows here.
 */
export async function auditGatewayOverApi(o: {
  gatewayStore: Store;
  bank: ReserveReader;
}): Promise<GatewaySideAudit> {
  const side = await gatewaySide(o.gatewayStore);
  const balance = await o.bank.balance();
  const key = side.gatewayKey ?? '';
  const requests = new Set<string>();
  const entries: BankSide['entries'] = [];
  for (let after = 0; after < balance.last; ) {
    const page = await o.bank.requests(after, LOG_PAGE);
    const seen = page.requests.filter((r) => r.seq <= balance.last);
    if (seen.length === 0) break;
    for (const r of seen) {
      const bankKey = `${r.kind}:${key}:${r.ref}`;
      requests.add(bankKey);
      const row = `bank_request_log:${r.seq}`;
      if (r.kind === 'claim') entries.push({ ref: r.ref, kind: 'deposit', amount: r.amount, row });
      else
        entries.push({
          ref: bankKey,
          kind: r.kind,
          amount: r.kind === 'receive' ? r.amount : -r.amount,
          row,
        });
    }
    after = seen[seen.length - 1]!.seq;
  }
  const logged = entries.reduce((s, e) => s + e.amount, 0);
  if (balance.balance !== logged) {
    entries.push({
      ref: '(not in the request log)',
      kind: 'other',
      amount: balance.balance - logged,
      row: `bank_accounts:${balance.account}`,
    });
  }
  const report = compare(side, {
    account: { id: balance.account, balance: balance.balance },
    entries,
    requests,
  });
  return {
    ...report,
    at: balance.at,
    notChecked: [
      'the reserve’s individual ledger entries: the surplus (deposits not yet claimed, other entries) is one remainder of the balance, not split into its rows',
      'the wide bank’s own books (invariant 1): run `lancash wide-bank audit` and `lancash gateway audit` with the bank’s database',
      ...(report.notChecked ?? []),
    ],
    checked: [
      'invariant 2: the reserve balance at the wide bank against local money outstanding ± value in flight',
      'every job against the local mint (notes held, erased or generated by its state)',
      'every job against the reserve account’s request log (present, of its amount) and every logged request against a live job',
      'every local mint operation that is no job’s moves value without creating any',
      'the local mint’s rows: notes pending outside a job 1 or payout, copied signature rows, notes spent beyond those signed, keysets against their ids',
    ],
  };
}

/** Invariant 2 and the per-job checks, from both sides (module doc). */
function compare(g: GatewaySide, b: BankSide): GatewayAudit {
  const differences: GatewayAuditDifference[] = [];
  const inFlight: InFlight[] = [];
  const { gatewayKey, jobs, ops, local: mint } = g;
  const { account, requests } = b;
  const L = mint.outstanding;
  const R = account === undefined ? 0 : account.balance;

  /** Σ of the reserve's entries under a ref, and the rows. */
  const byRef = new Map<string, { amount: number; rows: string[]; kind: string }[]>();
  for (const e of b.entries) {
    const list = byRef.get(e.ref) ?? [];
    list.push({ amount: e.amount, rows: [e.row], kind: e.kind });
    byRef.set(e.ref, list);
  }
  const onReserve = (ref: string, kind?: string) =>
    (byRef.get(ref) ?? [])
      .filter((e) => kind === undefined || e.kind === kind)
      .reduce((s, e) => s + e.amount, 0);

  const explained = new Set<string>();
  // Bank keys held by a job that is not refused (a payroll ref may have a refused job and a live one).
  const live = new Set(
    jobs.filter((j) => j.state !== 'refused').map((j) => sideOf(gatewayKey ?? '', j).side.bankKey),
  );
  const totalsInFlight = { job1: 0, job2: 0, payroll: 0, payout: 0 };
  // NUT-02 input fees the local mint kept: value out of circulation whose backing stays in the reserve.
  const fees = { swaps: 0, conversions: 0 };
  for (const j of jobs) {
    const { role, side } = sideOf(gatewayKey ?? '', j);
    const jobRow = `gateway_jobs:${j.id}`;
    const bankRow = `bank_requests:${side.bankKey}`;
    const local = ops.get(side.operation) ?? { signed: 0, spent: 0, pending: 0, fee: 0 };
    ops.delete(side.operation);
    const refused = j.state === 'refused';
    // A refused job's key may be held by a later live job of the same ref: the bank row is that one's.
    const atBank = requests.has(side.bankKey) && !(refused && live.has(side.bankKey));
    // What the bank moved on the reserve for this job (a payroll's is the deposit it claimed).
    const bankAmount = role === 'payroll' ? onReserve(j.ref ?? '', 'deposit') : onReserve(side.bankKey);
    if (role !== 'payroll') explained.add(side.bankKey);
    const localRows = [
      `mint_signatures:operation=${side.operation}`,
      `mint_proofs:operation=${side.operation}`,
    ];
    const differ = (what: string, expected: number, actual: number, rows: string[]) => {
      if (expected !== actual) differences.push({ what: `${role} ${j.id}: ${what}`, expected, actual, rows });
    };

    // The local side by state: held pending (job 1, payout) or nothing generated yet (job 2, payroll)
    // before the bank's answer; erased or generated after it; untouched once refused.
    const before = j.state === side.pending;
    if (side.sign < 0) {
      // The notes held or erased are the job's amount plus the local input fee their sender paid.
      const held = j.amount + local.fee;
      differ('local notes held pending', before ? held : 0, local.pending, [jobRow, ...localRows]);
      differ('local notes erased', before || refused ? 0 : held, local.spent, [jobRow, ...localRows]);
      // Erased: the fee stays in the reserve as the organisation's income ("Fees").
      if (!before && !refused) fees.conversions += local.fee;
    } else {
      differ('local notes generated', before || refused ? 0 : j.amount, local.signed, [jobRow, ...localRows]);
    }
    // The bank side: absent once refused, present (of the job's amount) once the gateway moved on.
    if (refused) {
      differ('request at the bank of a refused job', 0, atBank ? 1 : 0, [jobRow, bankRow]);
    } else if (!before) {
      // Absent: the bank lost a request it answered (its database restored from an older copy?).
      differ('request at the bank', 1, atBank ? 1 : 0, [jobRow, bankRow]);
    }
    if (atBank && !refused) {
      differ('value moved at the bank', side.sign * j.amount, bankAmount, [jobRow, bankRow]);
      if (before) {
        const correction = side.sign * j.amount;
        inFlight.push({ job: j.id, kind: role, state: j.state, correction, bankRow: side.bankKey });
        totalsInFlight[role] += correction;
      }
    }
  }

  // Local mint operations that are no job's: swaps, which move value and create none (less their fee,
  // which stays in the reserve as the organisation's income).
  for (const [op, v] of ops) {
    fees.swaps += v.fee;
    if (v.signed !== v.spent + v.pending - v.fee) {
      differences.push({
        what: `local mint operation ${op}: value signed against value spent less the input fee ${v.fee} (a swap creates no value)`,
        expected: v.spent + v.pending - v.fee,
        actual: v.signed,
        rows: [`mint_signatures:operation=${op}`, `mint_proofs:operation=${op}`],
      });
    }
  }

  // Requests of the gateway's key at the bank that no live job here accounts for.
  if (gatewayKey !== null) {
    const prefixes = ['issue', 'receive', 'claim', 'payout'].map((p) => `${p}:${gatewayKey}:`);
    for (const key of requests) {
      if (!prefixes.some((p) => key.startsWith(p)) || live.has(key)) continue;
      const ref = key.slice(key.indexOf(':', key.indexOf(':') + 1) + 1);
      const amount = key.startsWith('claim:') ? onReserve(ref, 'deposit') : onReserve(key);
      differences.push({
        // The journal lost a job the bank answered: gateway.db restored from an older copy, or another
        // process using this key. `lancash gateway reconcile` rebuilds it (docs/gateway.md).
        what: 'journal behind the wide bank: request of the gateway’s key at the bank with no live job here (run lancash gateway reconcile)',
        expected: 0,
        actual: amount,
        rows: [`bank_requests:${key}`],
      });
    }
  }

  // The surplus: deposits no payroll claimed, and entries that are no job's (strangers' receives,
  // operators' direct withdrawals).
  let unclaimedDeposits = 0;
  let other = 0;
  const outflows: string[] = [];
  for (const [ref, list] of byRef) {
    if (explained.has(ref)) continue;
    for (const e of list) {
      if (e.kind === 'deposit') {
        const claimed = gatewayKey !== null && requests.has(reserveRequestKey('claim', gatewayKey, ref));
        if (!claimed) unclaimedDeposits += e.amount;
      } else {
        other += e.amount;
        if (e.amount < 0) outflows.push(...e.rows);
      }
    }
  }
  const surplus = unclaimedDeposits + other;
  const feesCollected = fees.swaps + fees.conversions;
  // The operator may take the fee income out of the reserve (a direct withdrawal), never more.
  if (surplus + feesCollected < 0) {
    differences.push({
      what: 'reserve surplus below minus the local fees collected: money left the reserve outside payouts while it backed local money',
      expected: -feesCollected,
      actual: surplus,
      rows: outflows,
    });
  }

  const expectedReserve =
    L +
    feesCollected +
    totalsInFlight.job1 +
    totalsInFlight.job2 +
    totalsInFlight.payroll +
    totalsInFlight.payout +
    surplus;
  if (R !== expectedReserve) {
    differences.push({
      what: 'reserve balance against local money outstanding + local fees collected ± in flight + surplus (invariant 2)',
      expected: expectedReserve,
      actual: R,
      rows: [
        ...(account !== undefined ? [`bank_accounts:${account.id}`] : []),
        'mint_signatures',
        'mint_proofs',
        ...differences.flatMap((d) => d.rows.filter((r) => r.startsWith('gateway_jobs:'))),
      ],
    });
  }

  differences.push(...g.integrity.differences);
  if (g.pastTheCall.running !== g.pastTheCall.rows) {
    differences.push({
      what: 'running count of jobs past their bank call (gateway_job_totals) against the journal’s rows: one of them was changed outside the gateway',
      expected: g.pastTheCall.rows,
      actual: g.pastTheCall.running,
      rows: ['gateway_job_totals', 'gateway_jobs:state=delivering,done'],
    });
  }
  for (const f of g.finished) {
    if (f.running === f.rows) continue;
    differences.push({
      what: `running count of ${f.kind} jobs ${f.state} (gateway_job_totals) against the journal’s rows: one of them was changed outside the gateway`,
      expected: f.rows,
      actual: f.running,
      rows: ['gateway_job_totals', `gateway_jobs:state=${f.state},kind=${f.kind}`],
    });
  }

  return {
    balanced: differences.length === 0,
    differences,
    inFlight,
    ...(g.integrity.notChecked.length > 0 ? { notChecked: g.integrity.notChecked } : {}),
    totals: {
      gatewayKey,
      reserveAccount: account?.id ?? null,
      local: { signed: mint.signed, spent: mint.spent, pending: mint.pending, outstanding: L },
      reserve: R,
      inFlight: totalsInFlight,
      surplus: { unclaimedDeposits, other },
      fees: { ...fees, collected: feesCollected },
      expectedReserve,
      jobs: jobs.length,
    },
  };
}

// ---------------------------------------------------------------- SQL (read only)

type Db = Kysely<Database>;

interface AuditJob {
  id: string;
  kind: 'transfer' | 'payroll' | 'payout';
  ref: string | null;
  direction: 'lan-to-wan' | 'wan-to-lan';
  state: string;
  amount: number;
}

async function jobsForAudit(db: Db): Promise<AuditJob[]> {
  const rows = await db
    .selectFrom('gateway_jobs')
    .select(['id', 'kind', 'ref', 'direction', 'state', 'amount'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind ?? 'transfer',
    ref: r.ref ?? null,
    direction: r.direction,
    state: r.state,
    amount: Number(r.amount),
  }));
}
