/** The web's error sentences: every error says what happened and what to do next. */
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorName, LancashError } from '../../core/errors.js';
import { parseMoney } from '../../core/money-format.js';
import { errorSentence, explainError, refusalSentence } from './messages.js';

describe('explainError', () => {
  it('names both amounts with the unit when the balance is too low', () => {
    const e = new LancashError('InsufficientFunds', { requested: 1250, available: 300, unit: 'eur' });
    expect(explainError(e)).toEqual({
      what: 'Your balance is too low: you asked for 12.50 EUR and 3.00 EUR can be spent now.',
      next: 'Send a smaller amount, or receive money first.',
    });
  });

  it('keeps the reason of a malformed amount, without the argument name', () => {
    let thrown: unknown;
    try {
      parseMoney('1.234', 'eur');
    } catch (e) {
      thrown = e;
    }
    const { what } = explainError(thrown);
    expect(what).toBe('That amount cannot be used: EUR has 2 decimals, got "1.234".');
  });

  it('says a server did not answer for a network failure, and that nothing was sent', () => {
    expect(
      explainError(new LancashError('PeerUnreachable', { url: 'http://x', reason: 'down' })).next,
    ).toMatch(/^Nothing was sent and nothing changed\./);
    expect(explainError(new TypeError('Failed to fetch')).what).toBe('The server did not answer.');
  });

  it('gives every registered error a sentence and a next step (no empty words)', () => {
    for (const name of Object.keys(ERRORS) as ErrorName[]) {
      const e = new LancashError(name, {} as never, `${name} detail`);
      const { what, next } = explainError(e);
      expect(what.length, name).toBeGreaterThan(5);
      expect(next.length, name).toBeGreaterThan(5);
      expect(errorSentence(e)).toBe(`${what} ${next}`);
    }
  });

  it('tells a sender refused by a busy mailbox to wait, not to ask the recipient', () => {
    const e = new LancashError('MailboxBusy', { retryAfterSeconds: 1 });
    expect(explainError(e)).toEqual({
      what: 'The mailbox is busy with many requests right now.',
      next: 'Wait a few seconds and try again. Your money stayed with you.',
    });
  });

  it('explains a page bug without blaming the server', () => {
    expect(explainError(new Error('x is undefined')).what).toBe('Something went wrong in the page.');
  });
});

describe('refusalSentence', () => {
  it('words a gateway refusal by its code and says the money came back', () => {
    expect(refusalSentence({ code: ERRORS.MailboxFull.code, detail: 'inbox full' })).toBe(
      'The recipient’s inbox is full. Your money came back to your balance.',
    );
  });

  it('keeps the detail of an unknown code', () => {
    expect(refusalSentence({ code: 1, detail: 'the bank said no.' })).toBe(
      'the bank said no. Your money came back to your balance.',
    );
    expect(refusalSentence(undefined)).toBe('No reason was given. Your money came back to your balance.');
  });
});
