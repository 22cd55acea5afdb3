/** NUT-11 support as read from NUT-06: listed or not, asked once, a no asked again later. */
import { describe, expect, it } from 'vitest';
import { listsP2pk, type MintInfoNuts, P2pkSupport } from './mint-info.js';

describe('NUT-11 support from /v1/info', () => {
  it('reads nuts["11"].supported === true, and nothing else, as support', () => {
    expect(listsP2pk({ nuts: { '11': { supported: true } } })).toBe(true);
    for (const entry of [{ supported: false }, { supported: 'true' }, {}, null, true, undefined]) {
      expect(listsP2pk({ nuts: { '11': entry } })).toBe(false);
    }
    expect(listsP2pk({ nuts: { '12': { supported: true } } })).toBe(false);
    expect(listsP2pk({})).toBe(false);
  });

  it('keeps a yes, asks a no or a failure again only after the retry time, one question at a time', async () => {
    let now = 0;
    let asked = 0;
    let answer: () => Promise<MintInfoNuts> = () => Promise.reject(new Error('unreachable'));
    const support = new P2pkSupport(
      () => {
        asked++;
        return answer();
      },
      () => now,
      1000,
    );
    expect(await Promise.all([support.supported(), support.supported()])).toEqual([false, false]);
    expect(asked).toBe(1);
    answer = async () => ({ nuts: { '11': { supported: true } } });
    now = 999;
    expect(await support.supported()).toBe(false);
    expect(asked).toBe(1);
    now = 1000;
    expect(await support.supported()).toBe(true);
    answer = async () => ({});
    now = 10_000;
    expect(await support.supported()).toBe(true);
    expect(asked).toBe(2);
  });
});
