/** The wallet page's words: amounts typed, sends stated before, history and outcomes after. */
import { describe, expect, it } from 'vitest';
import { encodeAddress } from '../../core/address/index.js';
import { ERRORS } from '../../core/errors.js';
import { encodeTokenV4 } from '../../core/token/index.js';
import type { Operation } from '../../wallet/index.js';
import {
  cancelOutcome,
  checkRecipient,
  historyLine,
  historyLines,
  planSend,
  previewToken,
  readAmount,
  receivedSentence,
  sendOutcome,
  shortAddress,
} from './words.js';

const key = new Uint8Array(32).fill(7);
const lan = encodeAddress({ network: 'lan', publicKey: key });
const wan = encodeAddress({ network: 'wan', publicKey: key });

function op(o: Partial<Operation>): Operation {
  return {
    id: 'op1',
    kind: 'send',
    state: 'done',
    direction: 'out',
    amount: 250,
    createdAt: 1,
    updatedAt: 1,
    data: {},
    ...o,
  };
}

describe('readAmount', () => {
  it('reads major units into minor units', () => {
    expect(readAmount('2.5', 'eur')).toEqual({ ok: true, value: 250 });
    expect(readAmount('12.50 EUR', 'eur')).toEqual({ ok: true, value: 1250 });
    expect(readAmount('1250', 'jpy')).toEqual({ ok: true, value: 1250 });
  });

  it('says what is wrong and how to type it', () => {
    expect(readAmount('', 'eur')).toEqual({ ok: false, message: 'Type an amount, like 12.50.' });
    const r = readAmount('1,5', 'eur');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(
      /^That amount cannot be used: .*Type the amount in digits, like 12\.50\.$/,
    );
    expect(readAmount('0', 'eur').ok).toBe(false);
    expect(readAmount('5 USD', 'eur').ok).toBe(false);
  });
});

describe('planSend', () => {
  const wallet = { network: 'lan' as const, unit: 'eur', gateway: 'http://gw' };

  it('states a payment on the same network', () => {
    const p = planSend(wallet, ` ${lan} `, 250);
    expect(p).toEqual({
      ok: true,
      value: {
        network: 'lan',
        viaGateway: false,
        sentence: `Send 2.50 EUR to ${shortAddress(lan)} on the LAN (inside the organisation), straight to their inbox.`,
      },
    });
  });

  it("states a payment to the other network through the organisation's gateway", () => {
    const p = planSend(wallet, wan, 250);
    expect(p.ok && p.value.sentence).toBe(
      `Send 2.50 EUR to ${shortAddress(wan)} on the WAN, converted by your organisation's gateway.`,
    );
    expect(p.ok && p.value.viaGateway).toBe(true);
  });

  it('checks the recipient alone (before the amount is known)', () => {
    expect(checkRecipient(wallet, ` ${wan}`)).toEqual({
      ok: true,
      value: { address: wan, network: 'wan', viaGateway: true },
    });
    expect(checkRecipient({ network: 'wan', unit: 'eur' }, wan).ok).toBe(true);
  });

  it('refuses the other network without a gateway, and a bad address, in words', () => {
    const p = planSend({ network: 'lan', unit: 'eur' }, wan, 250);
    expect(!p.ok && p.message).toMatch(/no gateway.*Settings/);
    const bad = planSend(wallet, `${lan.slice(0, -1)}q`, 250);
    expect(!bad.ok && bad.message).toMatch(/^That is not a valid address\./);
    expect(planSend(wallet, '', 250).ok).toBe(false);
  });
});

describe('history and outcomes', () => {
  it('lists newest first with signed amounts, states and shortened counterparties', () => {
    const lines = historyLines(
      [
        op({ id: 'a', createdAt: 1, kind: 'receive', direction: 'in', counterparty: lan, memo: 'lunch' }),
        op({ id: 'b', createdAt: 3, kind: 'gateway', counterparty: wan, state: 'following' }),
        op({ id: 'c', createdAt: 2, kind: 'token', state: 'failed', counterparty: 'http://m' }),
      ],
      'eur',
    );
    expect(lines.map((l) => l.id)).toEqual(['b', 'c', 'a']);
    expect(lines[0]).toMatchObject({
      what: `Sent to ${shortAddress(wan)} through the gateway`,
      amount: '−2.50 EUR',
      state: 'with the gateway',
    });
    expect(lines[1]).toMatchObject({ what: 'Token made', state: 'taken back' });
    expect(lines[2]).toMatchObject({
      what: `Received from ${shortAddress(lan)} — “lunch”`,
      amount: '+2.50 EUR',
    });
  });

  it('says why a transfer was refused and that the money came back', () => {
    const refused = op({
      kind: 'gateway',
      state: 'failed',
      counterparty: wan,
      data: { transfer: { state: 'refused', refusal: { code: ERRORS.InboxNotAllowed.code, detail: 'no' } } },
    });
    const out = sendOutcome(refused, 'eur');
    expect(out.ok).toBe(false);
    expect(out.text).toBe(
      '2.50 EUR was not sent. The gateway does not deliver to that address’s inbox. Your money came back to your balance. Check the address and try again.',
    );
    expect(historyLines([refused], 'eur')[0]?.note).toMatch(/came back/);
  });

  it('offers to take back an open token or payment, not a transfer the gateway has', () => {
    const [token, following, done] = historyLines(
      [
        op({ id: 't', createdAt: 3, kind: 'token', state: 'issued' }),
        op({ id: 'g', createdAt: 2, kind: 'gateway', state: 'following' }),
        op({ id: 'd', createdAt: 1, state: 'done' }),
      ],
      'eur',
    );
    expect([token?.cancellable, following?.cancellable, done?.cancellable]).toEqual([true, false, false]);
    expect(cancelOutcome(op({ kind: 'token', state: 'failed' }), 'eur')).toEqual({
      ok: true,
      text: 'The token was taken back: 2.50 EUR is in your balance again.',
    });
    expect(cancelOutcome(op({ kind: 'token', state: 'done' }), 'eur').ok).toBe(false);
  });

  it('says a send that is still open goes on by itself', () => {
    expect(sendOutcome(op({ state: 'delivering', counterparty: lan }), 'eur').text).toMatch(
      /on its way.*reload/,
    );
    expect(sendOutcome(op({ counterparty: lan }), 'eur')).toEqual({
      ok: true,
      text: `Sent 2.50 EUR to ${shortAddress(lan)}: it is in their inbox.`,
    });
  });

  it('announces money the gateway delivers as what it is: payroll or a WAN payment into the LAN, a member out of it', () => {
    const payroll = op({
      kind: 'receive',
      direction: 'in',
      counterparty: 'gateway (payroll)',
      memo: 'May salary',
    });
    expect(receivedSentence(payroll, 'eur')).toBe(
      'You received 2.50 EUR from your organisation (payroll) — “May salary”.',
    );
    expect(historyLine(payroll, 'eur').what).toBe('Received from your organisation (payroll) — “May salary”');
    expect(
      receivedSentence(op({ kind: 'receive', direction: 'in', counterparty: 'gateway (wan-to-lan)' }), 'eur'),
    ).toBe('You received 2.50 EUR from someone on the WAN, through your organisation’s gateway.');
    expect(
      receivedSentence(op({ kind: 'receive', direction: 'in', counterparty: 'gateway (lan-to-wan)' }), 'eur'),
    ).toBe('You received 2.50 EUR from a member of the organisation, through its gateway (from the LAN).');
  });
});

describe('previewToken', () => {
  const proof = {
    id: '009a1f293253e41e',
    amount: 500,
    secret: 'a'.repeat(64),
    C: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
  };
  const token = (mint: string, unit = 'eur') => encodeTokenV4({ mint, unit, proofs: [proof], memo: 'hi' });
  const wallet = { mint: 'http://127.0.0.1:3000', unit: 'eur' };

  it("shows the amount and mint of this wallet's token", () => {
    const p = previewToken(token('http://127.0.0.1:3000/'), wallet);
    expect(p).toEqual({
      ok: true,
      value: {
        amount: 500,
        mint: 'http://127.0.0.1:3000',
        unit: 'eur',
        memo: 'hi',
        ours: true,
        message: 'This token holds 5.00 EUR of this wallet’s bank.',
      },
    });
  });

  it("refuses another bank's token and another unit in words", () => {
    const other = previewToken(token('http://other:1'), wallet);
    expect(other.ok && other.value.ours).toBe(false);
    expect(other.ok && other.value.message).toMatch(
      /of another bank \(http:\/\/other:1\).*cannot be redeemed here/,
    );
    const usd = previewToken(token('http://127.0.0.1:3000', 'usd'), wallet);
    expect(usd.ok && usd.value.message).toMatch(/holds USD, and this wallet holds EUR/);
  });

  it('says a pasted text is not a token', () => {
    const p = previewToken('hello', wallet);
    expect(!p.ok && p.message).toMatch(/^That is not a valid cashu token\./);
  });
});
