/** `safeNumber`, `withinSafeRange`: database integers become exact numbers or an error, never a rounded number. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { safeNumber, withinSafeRange } from './integers.js';

function refused(value: bigint | string): boolean {
  try {
    safeNumber(value, 'v');
    return false;
  } catch (err) {
    return isLancashError(err, 'Internal');
  }
}

describe('safeNumber', () => {
  it('property: every safe integer round-trips from bigint and from its decimal text', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(safeNumber(BigInt(n), 'v')).toBe(n);
        expect(safeNumber(String(n), 'v')).toBe(n);
      }),
    );
  });

  it('property: every integer beyond ±(2^53 − 1) is refused', () => {
    const beyond = fc.oneof(
      fc.bigInt({ min: BigInt(Number.MAX_SAFE_INTEGER) + 1n, max: 2n ** 64n }),
      fc.bigInt({ min: -(2n ** 64n), max: BigInt(Number.MIN_SAFE_INTEGER) - 1n }),
    );
    fc.assert(fc.property(beyond, (b) => refused(b) && refused(b.toString())));
  });

  it.each(['1.5', '12.00', 'NaN', '', '1e3', ' 1', '0x10'])('refuses the text %j', (text) => {
    expect(refused(text)).toBe(true);
  });

  it('withinSafeRange: every safe integer passes, every double an int64 beyond it becomes is refused', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => withinSafeRange(n, 'v') === n));
    const beyond = fc.oneof(
      fc.bigInt({ min: BigInt(Number.MAX_SAFE_INTEGER) + 1n, max: 2n ** 63n - 1n }),
      fc.bigInt({ min: -(2n ** 63n), max: BigInt(Number.MIN_SAFE_INTEGER) - 1n }),
    );
    fc.assert(
      fc.property(beyond, (b) => {
        expect(() => withinSafeRange(Number(b), 'v')).toThrow(/2\^53/);
      }),
    );
  });
});
