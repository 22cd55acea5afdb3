/**
 * The console's figures and jobs in plain words (docs/web.md, "The operator console"): the balance
 * of the reserve against local money, job kinds and states, parked deliveries, audit differences, and
 * the sentences every money action shows before it happens. Pure, so it is unit-tested.
 */
import { decodeAddress } from '../../core/address/index.js';
import { bytesToHex } from '../../core/bytes.js';
import { formatMoney } from '../../core/money-format.js';
import type { AuditDifference, JobRow, ParkedJob, Summary } from './api.js';

/** A long address cut for a sentence (`lan1qxy3…k4m9d2`); the page shows it whole nearby. */
export function shortAddress(address: string): string {
  return address.length <= 24 ? address : `${address.slice(0, 12)}…${address.slice(-6)}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

const UNFINISHED = new Set(['issuing', 'receiving', 'delivering']);

/** How many jobs are not finished yet, from the summary's counts by kind and state. */
export function jobsInFlight(jobs: Summary['jobs']): number {
  return jobs.reduce((n, j) => n + (UNFINISHED.has(j.state) ? j.count : 0), 0);
}

/**
 * The reserve at the bank against the local money outstanding, as one sentence, and whether it is
 * balanced (null when the reserve is unknown). `inFlight` is the value of the unfinished jobs.
 */
export function balanceSentence(
  s: Pick<Summary, 'unit' | 'reserve' | 'outstanding' | 'inFlight' | 'jobs'> & { fees?: number | undefined },
): {
  text: string;
  balanced: boolean | null;
} {
  const m = (n: number) => formatMoney(n, s.unit);
  const count = jobsInFlight(s.jobs);
  const flying =
    count > 0 ? `${m(s.inFlight)} in ${plural(count, 'job', 'jobs')} in flight` : 'no job in flight';
  if (s.reserve === null) {
    return {
      text: `The wide bank did not answer, so the reserve is not known right now; local money outstanding ${m(s.outstanding)} (${flying}).`,
      balanced: null,
    };
  }
  // The local mint's input fees collected stay in the reserve as the organisation's income.
  const fees = s.fees ?? 0;
  const backed = s.outstanding + fees;
  const owed =
    fees > 0
      ? `local money outstanding ${m(s.outstanding)} + fees collected ${m(fees)}`
      : `local money outstanding ${m(s.outstanding)}`;
  if (s.reserve === backed) {
    const tail = count > 0 ? ` (${flying})` : '';
    return {
      text: `Reserve ${m(s.reserve)} = ${owed}: balanced${tail}`,
      balanced: true,
    };
  }
  const diff = s.reserve - backed;
  const more = diff > 0;
  const why =
    count > 0
      ? `with ${flying}; it settles when they end.`
      : more
        ? 'with no job in flight: a deposit not yet issued as payroll, or money paid into the reserve from outside. Run the audit to see which.'
        : 'with no job in flight: run the audit now.';
  return {
    text: `Reserve ${m(s.reserve)}, ${owed}: the reserve holds ${m(Math.abs(diff))} ${more ? 'more' : 'less'}, ${why}`,
    balanced: false,
  };
}

/** What a job is, by its kind and direction. */
export function kindWords(kind: string, direction?: string): string {
  switch (kind) {
    case 'payroll':
      return 'Payroll';
    case 'payout':
      return 'Payout';
    default:
      return direction === 'lan-to-wan'
        ? 'LAN → WAN transfer'
        : direction === 'wan-to-lan'
          ? 'WAN → LAN transfer'
          : 'Transfer';
  }
}

/** `kindWords` inside a sentence: `payroll`, `WAN → LAN transfer` (the networks keep their capitals). */
export function kindInSentence(kind: string, direction?: string): string {
  const w = kindWords(kind, direction);
  return /^[A-Z][a-z]/.test(w) ? w.charAt(0).toLowerCase() + w.slice(1) : w;
}

/** Where a job stands, in words (the states of docs/gateway.md). */
export function stateWords(state: string, kind?: string): string {
  switch (state) {
    case 'issuing':
      return kind === 'payout'
        ? 'withdrawing from the reserve at the bank'
        : 'getting wide money from the bank';
    case 'receiving':
      return kind === 'payroll' ? 'claiming the deposit at the bank' : 'being credited at the bank';
    case 'delivering':
      return "being delivered to the recipient's inbox";
    case 'done':
      return 'done';
    case 'refused':
      return 'refused';
    default:
      return state;
  }
}

/** A parked job: what waits, for whom, and where it goes (the raw last error is shown apart). */
export function parkedSentence(p: ParkedJob, unit: string): string {
  const attempts = plural(p.attempts, 'attempt', 'attempts');
  const route =
    p.route === 'not allowed'
      ? " The address's own inbox is not on the gateway's allow-list."
      : p.route.startsWith('mailbox:')
        ? ` It goes through the ${p.route.slice(8).toUpperCase()} mailbox.`
        : ` It goes to the inbox at ${p.route}.`;
  const what =
    p.delivery === 'payment'
      ? `The payment of ${formatMoney(p.amount, unit)} to ${shortAddress(p.destination)} waits: no inbox accepted it in time (${attempts}).`
      : `The notice to ${shortAddress(p.replyTo ?? '?')} that this ${formatMoney(p.amount, unit)} ${kindInSentence(p.kind, p.direction)} ${p.state === 'refused' ? 'was refused' : 'is done'} waits (${attempts}).`;
  return `${what}${route}`;
}

/** What "Retry" does to a parked job, said before it is done. */
export function retrySentence(p: ParkedJob, unit: string): string {
  if (p.delivery === 'payment') {
    return (
      `Try again to deliver the payment of ${formatMoney(p.amount, unit)} to ${shortAddress(p.destination)}. ` +
      'The same sealed payment is sent, so it cannot be paid twice; if no inbox takes it before the delivery deadline, it is parked here again.'
    );
  }
  return (
    `Try again to deliver the notice about this ${formatMoney(p.amount, unit)} job to ${shortAddress(p.replyTo ?? '?')}. ` +
    'A notice moves no money; if no inbox takes it before the delivery deadline, it is parked here again.'
  );
}

/** Only a parked notice may be abandoned: a parked payment carries money (the gateway refuses, 74009). */
export function canAbandon(p: Pick<ParkedJob, 'delivery'>): boolean {
  return p.delivery === 'notice';
}

/** What "Abandon" does to a parked notice, said before it is done. */
export function abandonSentence(p: ParkedJob, unit: string): string {
  const outcome = p.state === 'refused' ? 'was refused' : 'is done';
  return (
    `Stop trying to tell ${shortAddress(p.replyTo ?? '?')} that this ${formatMoney(p.amount, unit)} ${kindInSentence(p.kind, p.direction)} ${outcome}: ` +
    'the sender is not told again by the gateway. No money moves: the job is finished and its money settled already. ' +
    "The job leaves this list and stays in the terminal's history."
  );
}

/** What abandoning a parked notice did, said after. */
export function abandonedSentence(p: ParkedJob, unit: string): string {
  return `Abandoned: the notice about the ${formatMoney(p.amount, unit)} ${kindInSentence(p.kind, p.direction)} will not be sent, so its sender is not told. No money moved.`;
}

/** A refused job's reason in words, from its stable code when the console knows it. */
export function refusedJobSentence(
  j: Pick<JobRow, 'kind' | 'code' | 'reason'>,
  reason: (code: number, detail: string) => string,
): string {
  const why =
    j.code !== undefined
      ? reason(j.code, j.reason ?? '')
      : j.reason
        ? `${j.reason}.`
        : 'No reason was recorded.';
  const money =
    j.kind === 'payroll'
      ? 'Nothing was issued.'
      : j.kind === 'payout'
        ? 'The notes were released back to the terminal; nothing left the reserve.'
        : "The sender's money was given back.";
  return `${why} ${money}`;
}

/** What a payroll will do, said before it is sent. */
export function payrollSentence(o: { amount: number; unit: string; to: string; ref: string }): string {
  const m = formatMoney(o.amount, o.unit);
  return (
    `Issue ${m} of local money to ${shortAddress(o.to)}, against a deposit of ${m} already in the reserve under ref ${o.ref}. ` +
    'If the bank holds no such deposit, it refuses and nothing is issued.'
  );
}

/** Where a payroll job stands, for the person who asked for it. */
export function payrollProgress(
  s: { state: string; amount: number; refusal?: { code: number; detail: string } | undefined },
  o: { unit: string; to: string; ref: string },
  reason: (code: number, detail: string) => string,
): string {
  const m = formatMoney(s.amount, o.unit);
  switch (s.state) {
    case 'receiving':
      return `Claiming the deposit under ref ${o.ref} at the wide bank…`;
    case 'delivering':
      return `${m} of local money issued; delivering it to the inbox of ${shortAddress(o.to)}…`;
    case 'done':
      return `Done: ${m} of local money reached the inbox of ${shortAddress(o.to)}. The reserve backs it with the deposit under ref ${o.ref}.`;
    case 'refused':
      return `Refused: ${s.refusal ? reason(s.refusal.code, s.refusal.detail) : 'no reason was given.'} Nothing was issued.`;
    default:
      return s.state;
  }
}

/** A terminal's key (hex) from what the operator typed: a `lan1…`/`wan1…` address or the key itself. */
export function terminalKey(input: string): { key: string; network?: 'lan' | 'wan' } {
  const text = input.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return { key: text.toLowerCase() };
  const a = decodeAddress(text);
  return { key: bytesToHex(a.publicKey), network: a.network };
}

const PRESENCE = /request at the bank/;

/** One audit difference in words, with its amounts in money (or, for a bank request, present or absent). */
export function differenceSentence(d: AuditDifference, unit: string): string {
  const what = d.what.charAt(0).toUpperCase() + d.what.slice(1);
  if (PRESENCE.test(d.what) && [0, 1].includes(d.expected) && [0, 1].includes(d.actual)) {
    return `${what}: it should ${d.expected ? 'be there' : 'not be there'}, and it ${d.actual ? 'is' : 'is not'}.`;
  }
  const diff = d.actual - d.expected;
  return (
    `${what}: expected ${formatMoney(d.expected, unit)}, found ${formatMoney(d.actual, unit)} ` +
    `(${formatMoney(Math.abs(diff), unit)} ${diff > 0 ? 'more' : 'less'}).`
  );
}
