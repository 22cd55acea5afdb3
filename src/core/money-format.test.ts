/** Money as people type and read it: round trips (properties) and the refusals that name the problem. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLancashError } from './errors.js';
import { MAX_TOTAL } from './money.js';
import { currencyDecimals, formatMajor, formatMoney, parseMoney } from './money-format.js';

const unit = fc.constantFrom('eur', 'EUR', 'usd', 'jpy', 'kwd', 'sat', 'xyz');
const minor = fc.integer({ min: 1, max: MAX_TOTAL });

/** The message of the error `fn` throws (a LancashError `InvalidAmount`), or a failed test. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isLancashError(e) && e.kind === 'InvalidAmount') return e.message;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('formatMoney / parseMoney', () => {
  it('the currency decimals: EUR and USD 2, JPY 0, KWD 3, an unknown unit 2', () => {
    expect(['eur', 'USD', 'jpy', 'KWD', 'sat', 'xyz'].map(currencyDecimals)).toEqual([2, 2, 0, 3, 0, 2]);
    expect(formatMoney(2150, 'eur')).toBe('21.50 EUR');
    expect(formatMoney(5, 'eur')).toBe('0.05 EUR');
    expect(formatMoney(0, 'eur')).toBe('0.00 EUR');
    expect(formatMoney(2150, 'jpy')).toBe('2150 JPY');
    expect(formatMoney(2150, 'kwd')).toBe('2.150 KWD');
    expect(formatMajor(-250, 'eur')).toBe('-2.50');
  });

  it('reads what people type', () => {
    for (const [text, want] of [
      ['12.50', 1250],
      ['12.5', 1250],
      ['12', 1200],
      ['0.01', 1],
      ['12.50 EUR', 1250],
      ['12.50 eur', 1250],
      [' 1.00 ', 100],
    ] as const) {
      expect(parseMoney(text, 'eur')).toBe(want);
    }
    expect(parseMoney('1250', 'jpy')).toBe(1250);
    expect(parseMoney('1.5', 'kwd')).toBe(1500);
    expect(parseMoney('0', 'eur', { allowZero: true })).toBe(0);
  });

  it('formats then parses back to the same minor units, in every currency', () => {
    fc.assert(
      fc.property(minor, unit, (m, u) => {
        expect(parseMoney(formatMoney(m, u), u)).toBe(m);
      }),
    );
    fc.assert(
      fc.property(minor, unit, (m, u) => {
        expect(parseMoney(formatMajor(m, u), u)).toBe(m);
      }),
    );
  });

  it('parses then formats to the canonical text (trailing zeros filled in)', () => {
    const typed = fc
      .tuple(fc.integer({ min: 0, max: 10 ** 9 }), fc.integer({ min: 1, max: 99 }))
      .map(([whole, cents]) => ({ text: `${whole}.${cents}`, whole, cents }));
    fc.assert(
      fc.property(typed, ({ text, whole, cents }) => {
        const frac = String(cents).length === 1 ? `${cents}0` : String(cents);
        expect(formatMoney(parseMoney(text, 'eur'), 'eur')).toBe(`${whole}.${frac} EUR`);
      }),
    );
  });

  it('never accepts more decimals than the currency has', () => {
    fc.assert(
      fc.property(unit, fc.integer({ min: 1, max: 10 ** 6 }), fc.integer({ min: 1, max: 9 }), (u, w, d) => {
        const text = `${w}.${'0'.repeat(currencyDecimals(u))}${d}`;
        expect(refusal(() => parseMoney(text, u))).toMatch(/decimals/);
      }),
    );
  });

  it('refuses, naming the real problem', () => {
    const why = (text: string, u = 'eur') => refusal(() => parseMoney(text, u, { argument: '--amount' }));
    expect(why('1.505')).toBe('--amount: EUR has 2 decimals, got "1.505"');
    expect(why('1.5', 'jpy')).toMatch(/JPY has no decimals/);
    expect(why('-1')).toMatch(/cannot be negative/);
    expect(why('-0.50 EUR')).toMatch(/cannot be negative/);
    expect(why('1e3')).toMatch(/plain digits .*without an exponent/);
    expect(why('1.5E2')).toMatch(/without an exponent/);
    expect(why('1,234.50')).toMatch(/without thousands separators/);
    expect(why('1 234')).toMatch(/without thousands separators/);
    expect(why("1'234.50")).toMatch(/without thousands separators/);
    expect(why('12 50')).toMatch(/expected an amount like 12\.50/);
    expect(why('12.50 USD')).toMatch(/holds EUR/);
    expect(why('0')).toMatch(/more than 0\.00 EUR/);
    expect(why('0.00')).toMatch(/more than 0\.00 EUR/);
    for (const junk of ['ten', '', '.5', '5.', '0x10', '1.2.3', '12,50', 'EUR', '+1', 'NaN', 'Infinity'])
      expect(why(junk)).toMatch(/^--amount: /);
    expect(why('99999999999999999')).toBe(
      '--amount: "99999999999999999" is above the limit of 11258999068426.24 EUR',
    );
    expect(why('11258999068426.25')).toMatch(/above the limit of 11258999068426\.24 EUR/);
    expect(parseMoney('11258999068426.24', 'eur')).toBe(MAX_TOTAL);
    expect(refusal(() => parseMoney('1000000000000000000000', 'jpy'))).toMatch(/above the limit/);
  });
});
