/**
 * The soak's verdict: from what the wallets hold, what the bank says came in, the gateway's journal
 * and `lancash audit`, every way the run could have lost, made or stuck money, each as one line.
 * An empty list is a clean run. Pure, so a doctored set of facts shows each check can fail.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/index.js';
import type { WalletFinal } from './messages.js';

export interface JournalFacts {
  /** Jobs the runner still has work on (a state not terminal, or a notice to deliver). */
  active: { id: string; state: string; notice: string }[];
  /** Jobs whose history reached a terminal state more than once (`done` and `refused`, or twice). */
  twiceTerminal: { id: string; terminals: string[] }[];
  /** Jobs by final state. */
  byState: Record<string, number>;
}

export interface AuditFacts {
  balanced: boolean;
  /** What came in from outside, less what was paid out (the negated `funding` account). */
  moneyIn: number;
  /** Wide notes outstanding at the bank, and the local money outstanding at the gateway. */
  wideOutstanding: number;
  localOutstanding: number;
  /** The reserve account's balance. */
  reserve: number;
  differences: string[];
}

export interface SoakFacts {
  wallets: WalletFinal[];
  journal: JournalFacts;
  audit: AuditFacts;
  /** Payroll the runner asked for and the gateway accepted, minor units. */
  payroll: number;
  /** Operations every worker still had open when it gave up settling. */
  unsettled: number;
}

/** Every difference, in plain words; none means nothing was lost, made or left stuck. */
export function checkSoak(f: SoakFacts): string[] {
  const out: string[] = [];
  const sum = (network?: string) =>
    f.wallets
      .filter((w) => network === undefined || w.network === network)
      .reduce((n, w) => n + w.available, 0);
  for (const w of f.wallets) {
    if (w.pending !== 0) out.push(`wallet ${w.address}: ${w.pending} still pending`);
    if (w.open !== 0) out.push(`wallet ${w.address}: ${w.open} operation(s) not ended`);
  }
  if (f.unsettled !== 0) out.push(`${f.unsettled} wallet operation(s) still open when settling gave up`);
  if (sum() !== f.audit.moneyIn) {
    out.push(
      `wallets hold ${sum()}, but ${f.audit.moneyIn} came in (funding): ${sum() - f.audit.moneyIn} off`,
    );
  }
  if (sum('wan') !== f.audit.wideOutstanding) {
    out.push(
      `WAN wallets hold ${sum('wan')}, the bank has ${f.audit.wideOutstanding} wide notes outstanding`,
    );
  }
  if (sum('lan') !== f.audit.localOutstanding) {
    out.push(
      `LAN wallets hold ${sum('lan')}, the gateway has ${f.audit.localOutstanding} local money outstanding`,
    );
  }
  if (f.audit.reserve !== f.audit.localOutstanding) {
    out.push(
      `the reserve holds ${f.audit.reserve}, the local money outstanding is ${f.audit.localOutstanding}`,
    );
  }
  if (!f.audit.balanced) out.push('lancash audit: not balanced');
  out.push(...f.audit.differences.map((d) => `lancash audit: ${d}`));
  for (const j of f.journal.active) out.push(`gateway job ${j.id}: still ${j.state} (notice ${j.notice})`);
  for (const j of f.journal.twiceTerminal)
    out.push(`gateway job ${j.id}: ended twice (${j.terminals.join(', ')})`);
  if (f.payroll > f.audit.moneyIn)
    out.push(`payroll of ${f.payroll} accepted, only ${f.audit.moneyIn} came in`);
  return out;
}

/** The gateway journal's part of the facts, read from its database. */
export async function readJournal(db: Kysely<Database>): Promise<JournalFacts> {
  const active = await db
    .selectFrom('gateway_jobs')
    .select(['id', 'state', 'notice'])
    .where('active', '=', 1)
    .orderBy('id')
    .execute();
  const events = await db
    .selectFrom('gateway_job_events')
    .select(['job_id', 'to_state'])
    .where('to_state', 'in', ['done', 'refused'])
    .orderBy('job_id')
    .orderBy('seq')
    .execute();
  const terminals = new Map<string, string[]>();
  for (const e of events) terminals.set(e.job_id, [...(terminals.get(e.job_id) ?? []), e.to_state]);
  const byStateRows = await db
    .selectFrom('gateway_jobs')
    .select(['state', sql<number>`count(*)`.as('n')])
    .groupBy('state')
    .execute();
  return {
    active: active.map((r) => ({ id: r.id, state: r.state, notice: r.notice })),
    twiceTerminal: [...terminals].filter(([, t]) => t.length > 1).map(([id, t]) => ({ id, terminals: t })),
    byState: Object.fromEntries(byStateRows.map((r) => [r.state, Number(r.n)])),
  };
}

/** The audit's part of the facts, from `lancash audit`'s JSON report. */
export function auditFacts(report: unknown): AuditFacts {
  const r = report as {
    balanced?: boolean;
    wideBank?: { totals?: { funding?: number; notesOutstanding?: number }; differences?: { what: string }[] };
    gateway?: {
      totals?: { local?: { outstanding?: number }; reserve?: number };
      differences?: { what: string; rows?: string[] }[];
    };
  };
  const differences = [...(r.wideBank?.differences ?? []), ...(r.gateway?.differences ?? [])].map((d) =>
    JSON.stringify(d),
  );
  return {
    balanced: r.balanced === true && r.gateway !== undefined,
    moneyIn: -(r.wideBank?.totals?.funding ?? 0),
    wideOutstanding: r.wideBank?.totals?.notesOutstanding ?? Number.NaN,
    localOutstanding: r.gateway?.totals?.local?.outstanding ?? Number.NaN,
    reserve: r.gateway?.totals?.reserve ?? Number.NaN,
    differences,
  };
}
