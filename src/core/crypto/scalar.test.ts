/** Scalar helpers: range checks at the edges, encoding round trips, rejection sampling with a fixed rng. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import { isLancashError } from '../errors.js';
import { addMod, bytesToNumber, mulMod, N, numberToBytes32, randomScalar, toScalar } from './scalar.js';

function errorOf(op: () => unknown): unknown {
  try {
    op();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('toScalar', () => {
  it('accepts 1 and n − 1, as bytes and as bigint', () => {
    for (const k of [1n, 2n, N - 1n]) {
      expect(bytesToNumber(toScalar(k, 'k'))).toBe(k);
      expect(bytesToNumber(toScalar(numberToBytes32(k), 'k'))).toBe(k);
    }
  });

  it.each([
    ['0', 0n, 'zero'],
    ['n', N, 'not below the group order n'],
    ['n + 1', N + 1n, 'not below the group order n'],
    ['2^256 − 1', (1n << 256n) - 1n, 'not below the group order n'],
    ['−1', -1n, 'negative'],
  ])('refuses %s with InvalidScalar naming the argument', (_label, k, reason) => {
    const error = errorOf(() => toScalar(k, 'blinding factor'));
    expect(isLancashError(error, 'InvalidScalar') && error.info).toEqual({
      argument: 'blinding factor',
      reason,
    });
    if (k >= 0n && k < 1n << 256n) {
      const fromBytes = errorOf(() => toScalar(numberToBytes32(k), 'r'));
      expect(isLancashError(fromBytes, 'InvalidScalar') && fromBytes.info).toEqual({ argument: 'r', reason });
    }
  });

  it('refuses bytes of the wrong length', () => {
    for (const length of [0, 31, 33, 64]) {
      expect(
        isLancashError(
          errorOf(() => toScalar(new Uint8Array(length).fill(1), 'k')),
          'InvalidScalar',
        ),
      ).toBe(true);
    }
  });

  it('agrees with the bigint comparison on random and near-n values', () => {
    const near = fc.bigInt({ min: -3n, max: 3n }).map((d) => N + d);
    const any = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
    fc.assert(
      fc.property(fc.oneof(near, any, fc.bigInt({ min: 0n, max: 3n })), (k) => {
        const valid = k > 0n && k < N;
        expect(errorOf(() => toScalar(numberToBytes32(k), 'k')) === undefined).toBe(valid);
      }),
      { numRuns: 500 },
    );
  });
});

describe('numberToBytes32 / bytesToNumber', () => {
  it('round-trip every value in [0, 2^256)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (n) => {
        const b = numberToBytes32(n);
        expect(b.length).toBe(32);
        expect(bytesToNumber(b)).toBe(n);
      }),
    );
  });

  it('read and write big-endian, as the hex text of the same bytes does, at any length and offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.nat(9), (bytes, offset) => {
        const view = new Uint8Array(bytes.length + offset).subarray(offset);
        view.set(bytes);
        expect(bytesToNumber(view)).toBe(bytes.length === 0 ? 0n : BigInt(`0x${bytesToHex(bytes)}`));
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (n) => {
        expect(bytesToHex(numberToBytes32(n))).toBe(n.toString(16).padStart(64, '0'));
      }),
    );
  });

  it('refuses values outside [0, 2^256)', () => {
    expect(
      isLancashError(
        errorOf(() => numberToBytes32(1n << 256n)),
        'InvalidScalar',
      ),
    ).toBe(true);
    expect(
      isLancashError(
        errorOf(() => numberToBytes32(-1n)),
        'InvalidScalar',
      ),
    ).toBe(true);
  });
});

describe('randomScalar', () => {
  it('skips draws of 0 and ≥ n from the injected rng', () => {
    const draws = [
      new Uint8Array(32),
      numberToBytes32(N),
      new Uint8Array(32).fill(0xff),
      numberToBytes32(42n),
    ];
    const rng = (n: number): Uint8Array => {
      expect(n).toBe(32);
      return draws.shift()!;
    };
    expect(bytesToHex(randomScalar(rng))).toBe(bytesToHex(numberToBytes32(42n)));
    expect(draws).toHaveLength(0);
  });

  it('refuses an rng that returns the wrong length', () => {
    expect(
      isLancashError(
        errorOf(() => randomScalar(() => new Uint8Array(31))),
        'Internal',
      ),
    ).toBe(true);
  });

  it('returns valid, distinct scalars by default', () => {
    const seen = new Set(Array.from({ length: 50 }, () => bytesToHex(toScalar(randomScalar(), 'k'))));
    expect(seen.size).toBe(50);
  });
});

describe('arithmetic mod n', () => {
  it('stays in [0, n)', () => {
    const s = fc.bigInt({ min: 0n, max: N - 1n });
    fc.assert(
      fc.property(s, s, (a, b) => {
        expect(addMod(a, b)).toBe((a + b) % N);
        expect(mulMod(a, b)).toBe((a * b) % N);
      }),
    );
  });
});
