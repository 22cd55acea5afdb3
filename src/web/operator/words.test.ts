/** The console's sentences: the balance line, parked jobs, payroll, audit differences, terminal keys. */
import { describe, expect, it } from 'vitest';
import { encodeAddress } from '../../core/address/index.js';
import { reasonOf } from '../ui/messages.js';
import type { ParkedJob, Summary } from './api.js';
import {
  abandonedSentence,
  abandonSentence,
  balanceSentence,
  canAbandon,
  differenceSentence,
  parkedSentence,
  payrollProgress,
  payrollSentence,
  refusedJobSentence,
  retrySentence,
  shortAddress,
  terminalKey,
} from './words.js';

const reason = (code: number, detail: string) => `[${code}] ${detail}.`;

describe('balanceSentence', () => {
  const none: Summary['jobs'] = [{ kind: 'transfer', state: 'done', count: 7, oldestAt: 1 }];
  const two: Summary['jobs'] = [
    ...none,
    { kind: 'transfer', state: 'issuing', count: 1, oldestAt: 1 },
    { kind: 'payroll', state: 'delivering', count: 1, oldestAt: 1 },
  ];
  it('says balanced when the reserve equals the local money', () => {
    expect(
      balanceSentence({ unit: 'eur', reserve: 4500, outstanding: 4500, inFlight: 0, jobs: none }),
    ).toEqual({
      text: 'Reserve 45.00 EUR = local money outstanding 45.00 EUR: balanced',
      balanced: true,
    });
  });
  it('counts the local input fees collected as backed by the reserve (docs/gateway.md, "Fees")', () => {
    expect(
      balanceSentence({ unit: 'eur', reserve: 4503, outstanding: 4500, fees: 3, inFlight: 0, jobs: none }),
    ).toEqual({
      text: 'Reserve 45.03 EUR = local money outstanding 45.00 EUR + fees collected 0.03 EUR: balanced',
      balanced: true,
    });
    const short = balanceSentence({
      unit: 'eur',
      reserve: 4500,
      outstanding: 4500,
      fees: 3,
      inFlight: 0,
      jobs: none,
    });
    expect(short.balanced).toBe(false);
    expect(short.text).toMatch(/holds 0\.03 EUR less/);
  });
  it('names the difference and the value and number of jobs in flight', () => {
    const s = balanceSentence({ unit: 'eur', reserve: 5000, outstanding: 4500, inFlight: 700, jobs: two });
    expect(s.balanced).toBe(false);
    expect(s.text).toBe(
      'Reserve 50.00 EUR, local money outstanding 45.00 EUR: the reserve holds 5.00 EUR more, with 7.00 EUR in 2 jobs in flight; it settles when they end.',
    );
  });
  it('asks for the audit when the reserve is short and nothing is in flight', () => {
    const s = balanceSentence({ unit: 'eur', reserve: 4000, outstanding: 4500, inFlight: 0, jobs: none });
    expect(s.text).toMatch(/holds 5\.00 EUR less, with no job in flight: run the audit now\.$/);
  });
  it('says the reserve is unknown when the bank did not answer', () => {
    const s = balanceSentence({
      unit: 'jpy',
      reserve: null,
      outstanding: 1200,
      inFlight: 300,
      jobs: [{ kind: 'payout', state: 'issuing', count: 1, oldestAt: 1 }],
    });
    expect(s.balanced).toBeNull();
    expect(s.text).toMatch(
      /not known right now; local money outstanding 1200 JPY \(300 JPY in 1 job in flight\)/,
    );
  });
});

describe('terminalKey', () => {
  const publicKey = new Uint8Array(32).map((_, i) => i);
  const hex = Array.from(publicKey, (b) => b.toString(16).padStart(2, '0')).join('');
  it('decodes a lan1 address to its key', () => {
    expect(terminalKey(` ${encodeAddress({ network: 'lan', publicKey })} `)).toEqual({
      key: hex,
      network: 'lan',
    });
  });
  it('takes a key as it is, in lower case', () => {
    expect(terminalKey(hex.toUpperCase())).toEqual({ key: hex });
  });
  it('refuses anything else as an invalid address', () => {
    expect(() => terminalKey('lan1nonsense')).toThrow(expect.objectContaining({ kind: 'AddressInvalid' }));
  });
});

const parked: ParkedJob = {
  transferId: 't1',
  direction: 'wan-to-lan',
  state: 'delivering',
  amount: 2000,
  createdAt: 1,
  updatedAt: 2,
  kind: 'payroll',
  destination: 'lan1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq',
  delivery: 'payment',
  route: 'mailbox:lan',
  parkedAt: 3,
  attempts: 4,
  lastError: 'inbox full',
};

describe('parked jobs', () => {
  it('say what waits and where it goes', () => {
    expect(parkedSentence(parked, 'eur')).toBe(
      'The payment of 20.00 EUR to lan1qqqqqqqq…qqqqqq waits: no inbox accepted it in time (4 attempts). It goes through the LAN mailbox.',
    );
  });
  it('retrying a payment says it cannot be paid twice', () => {
    expect(retrySentence(parked, 'eur')).toMatch(
      /^Try again to deliver the payment of 20\.00 EUR to .*cannot be paid twice/,
    );
  });
  it('retrying a notice says it moves no money', () => {
    const notice = { ...parked, state: 'refused' as const, delivery: 'notice' as const, replyTo: 'wan1abc' };
    expect(retrySentence(notice, 'eur')).toMatch(
      /notice about this 20\.00 EUR job to wan1abc\. A notice moves no money/,
    );
    expect(parkedSentence(notice, 'eur')).toMatch(
      /^The notice to wan1abc that this 20\.00 EUR payroll was refused waits/,
    );
  });
  it('only a notice may be abandoned; abandoning says the sender is not told and no money moves', () => {
    const notice = {
      ...parked,
      kind: 'transfer' as const,
      state: 'refused' as const,
      delivery: 'notice' as const,
      replyTo: 'wan1abc',
    };
    expect([canAbandon(parked), canAbandon(notice)]).toEqual([false, true]);
    expect(abandonSentence(notice, 'eur')).toBe(
      "Stop trying to tell wan1abc that this 20.00 EUR WAN → LAN transfer was refused: the sender is not told again by the gateway. No money moves: the job is finished and its money settled already. The job leaves this list and stays in the terminal's history.",
    );
    expect(abandonedSentence(notice, 'eur')).toBe(
      'Abandoned: the notice about the 20.00 EUR WAN → LAN transfer will not be sent, so its sender is not told. No money moved.',
    );
  });
});

describe('payroll', () => {
  const o = { unit: 'eur', to: 'lan1short', ref: 'nov' };
  it('states what will happen before it happens', () => {
    expect(payrollSentence({ amount: 2000, ...o })).toBe(
      'Issue 20.00 EUR of local money to lan1short, against a deposit of 20.00 EUR already in the reserve under ref nov. If the bank holds no such deposit, it refuses and nothing is issued.',
    );
  });
  it('follows the job to its end, with the reason of a refusal', () => {
    expect(payrollProgress({ state: 'done', amount: 2000 }, o, reason)).toMatch(
      /^Done: 20\.00 EUR of local money reached/,
    );
    expect(
      payrollProgress(
        { state: 'refused', amount: 2000, refusal: { code: 72002, detail: 'no deposit' } },
        o,
        reason,
      ),
    ).toBe('Refused: [72002] no deposit. Nothing was issued.');
  });
  it('a refused job in the list says what happened to the money', () => {
    expect(refusedJobSentence({ kind: 'payout', code: 73002, reason: 'short' }, reason)).toBe(
      '[73002] short. The notes were released back to the terminal; nothing left the reserve.',
    );
  });
});

describe('differenceSentence', () => {
  it('puts amounts in money with the difference', () => {
    expect(
      differenceSentence(
        { what: 'reserve balance against local money', expected: 4500, actual: 4000, rows: [] },
        'eur',
      ),
    ).toBe('Reserve balance against local money: expected 45.00 EUR, found 40.00 EUR (5.00 EUR less).');
  });
  it('says present or absent for a bank request', () => {
    expect(
      differenceSentence({ what: 'job2 abc: request at the bank', expected: 1, actual: 0, rows: [] }, 'eur'),
    ).toBe('Job2 abc: request at the bank: it should be there, and it is not.');
  });
});

describe('shortAddress', () => {
  it('keeps a short one whole', () => {
    expect(shortAddress('lan1abc')).toBe('lan1abc');
  });
});

describe('reasonOf (ui/messages.ts), the console’s refusal reasons', () => {
  it('names what the operator does about a payroll without a deposit', () => {
    expect(reasonOf(72002, 'no deposit nov into account acct_1')).toBe(
      "The reserve holds no deposit under that reference (no deposit nov into account acct_1). Ask the bank's operator to make the deposit, then issue again with the same reference.",
    );
  });
  it('says a payout found the reserve short', () => {
    expect(reasonOf(73002, 'balance too low')).toBe(
      'The reserve at the bank holds too little for this payout.',
    );
  });
  it('keeps the detail of a code it does not know', () => {
    expect(reasonOf(99999, 'something odd.')).toBe('something odd.');
  });
});
