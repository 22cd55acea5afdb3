/**
 * Mint keyset derivation (deterministic, v2 id, public keys = k·G) and the NUT-01 keys parser on inputs
 * the spec vectors do not cover, for both backends; NUT-13 input checks.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import { isLancashError } from '../errors.js';
import { deriveKeyset } from './keyset.js';
import { loadNativeCurve } from './native.js';
import { nobleCurve } from './noble.js';
import { keysetIdV1, keysetIdV2, parseKeys } from './nut02.js';
import { deriveSecret, deriveSecretV1, deriveSecretV2, keysetIdInt } from './nut13.js';
import { toScalar } from './scalar.js';

const native = loadNativeCurve();
it('loads the native backend (libsecp256k1)', () => {
  expect(native, 'the secp256k1 native binding must load for these tests').toBeDefined();
});

function kindOf(op: () => unknown): string | undefined {
  try {
    op();
  } catch (error) {
    return isLancashError(error) ? error.kind : `not a LancashError: ${String(error)}`;
  }
  return undefined;
}

const seed = new Uint8Array(32).map((_, i) => i);
const publish = (keys: ReadonlyMap<number, Uint8Array>): Record<string, string> =>
  Object.fromEntries([...keys].map(([amount, K]) => [String(amount), bytesToHex(K)]));

describe.each([nobleCurve, native!])('keysets on the $name backend', (curve) => {
  const keyset = deriveKeyset(curve, { seed, derivationIndex: 0, unit: 'sat', maxOrder: 8 });

  it('derives 2^0 … 2^(maxOrder−1) with K = k·G and a v2 id', () => {
    expect([...keyset.privateKeys.keys()]).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    for (const [amount, k] of keyset.privateKeys) {
      toScalar(k, 'k');
      expect(bytesToHex(keyset.publicKeys.get(amount)!)).toBe(bytesToHex(curve.mulG(k)));
    }
    expect(keyset.id).toBe(keysetIdV2(keyset.publicKeys, 'sat'));
    expect(keyset.id).toMatch(/^01[0-9a-f]{64}$/);
    expect(new Set([...keyset.privateKeys.values()].map(bytesToHex)).size).toBe(8);
    expect({ active: keyset.active, inputFeePpk: keyset.inputFeePpk, unit: keyset.unit }).toEqual({
      active: true,
      inputFeePpk: 0,
      unit: 'sat',
    });
  });

  it('is deterministic and the same on both backends; index, unit, fee and seed change the id', () => {
    const again = deriveKeyset(nobleCurve, { seed, derivationIndex: 0, unit: 'sat', maxOrder: 8 });
    expect(again.id).toBe(keyset.id);
    const ids = [
      deriveKeyset(curve, { seed, derivationIndex: 1, unit: 'sat', maxOrder: 8 }).id,
      deriveKeyset(curve, { seed, derivationIndex: 0, unit: 'eur', maxOrder: 8 }).id,
      deriveKeyset(curve, { seed, derivationIndex: 0, unit: 'sat', maxOrder: 8, inputFeePpk: 100 }).id,
      deriveKeyset(curve, { seed: seed.map((b) => b ^ 1), derivationIndex: 0, unit: 'sat', maxOrder: 8 }).id,
    ];
    expect(new Set([keyset.id, ...ids]).size).toBe(5);
  });

  it('defaults to 32 denominations, up to 2^31', () => {
    const full = deriveKeyset(curve, { seed, derivationIndex: 3, unit: 'eur' });
    expect(full.publicKeys.size).toBe(32);
    expect([...full.publicKeys.keys()].at(-1)).toBe(2 ** 31);
  });

  it('refuses a short seed, a bad index, unit, order or fee', () => {
    const base = { seed, derivationIndex: 0, unit: 'sat' };
    expect(kindOf(() => deriveKeyset(curve, { ...base, seed: new Uint8Array(16) }))).toBe('InvalidInput');
    expect(kindOf(() => deriveKeyset(curve, { ...base, derivationIndex: -1 }))).toBe('InvalidInput');
    expect(kindOf(() => deriveKeyset(curve, { ...base, unit: 'sat|x' }))).toBe('InvalidInput');
    expect(kindOf(() => deriveKeyset(curve, { ...base, unit: '' }))).toBe('InvalidInput');
    expect(kindOf(() => deriveKeyset(curve, { ...base, maxOrder: 65 }))).toBe('InvalidInput');
    expect(kindOf(() => deriveKeyset(curve, { ...base, inputFeePpk: 0.5 }))).toBe('InvalidInput');
  });

  it('parseKeys round-trips published keys, in amount order, and the ids follow', () => {
    const published = publish(keyset.publicKeys);
    const reversed = Object.fromEntries(Object.entries(published).reverse());
    const parsed = parseKeys(reversed, curve);
    expect([...parsed.keys()]).toEqual([...keyset.publicKeys.keys()]);
    expect(keysetIdV2(parsed, 'sat')).toBe(keyset.id);
    expect(keysetIdV1(parsed)).toMatch(/^00[0-9a-f]{14}$/);
  });

  it.each([
    ['not an object', 'keys'],
    ['an array', []],
    ['null', null],
    ['no keys', {}],
    ['amount 3', { '3': 'K' }],
    ['amount 0', { '0': 'K' }],
    ['amount with a leading zero', { '01': 'K' }],
    ['amount 2^64', { '18446744073709551616': 'K' }],
    ['amount 1.0', { '1.0': 'K' }],
    ['off-curve key', { '1': `02${'00'.repeat(32)}` }],
    ['key not a string', { '1': 7 }],
  ])('parseKeys refuses %s with InvalidKeyset', (_label, value) => {
    const good = bytesToHex(keyset.publicKeys.get(1)!);
    const patched =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).map(([a, K]) => [a, K === 'K' ? good : K]))
        : value;
    expect(kindOf(() => parseKeys(patched, curve))).toBe('InvalidKeyset');
  });
});

describe('NUT-13 inputs', () => {
  const v1 = '009a1f293253e41e';
  const v2 = `01${'ab'.repeat(32)}`;
  it('picks the derivation by keyset id version and refuses others', () => {
    expect(deriveSecret(seed, v1, 0)).toEqual(deriveSecretV1(seed, v1, 0));
    expect(deriveSecret(seed, v2, 0)).toEqual(deriveSecretV2(seed, v2, 0));
    expect(kindOf(() => deriveSecret(seed, `02${'ab'.repeat(32)}`, 0))).toBe('InvalidInput');
    expect(kindOf(() => deriveSecretV1(seed, v2, 0))).toBe('InvalidHex');
    expect(kindOf(() => deriveSecretV2(seed, v1, 0))).toBe('InvalidHex');
    expect(kindOf(() => deriveSecretV2(seed, `00${'ab'.repeat(32)}`, 0))).toBe('InvalidInput');
  });

  it('refuses bad counters and seeds', () => {
    expect(kindOf(() => deriveSecretV1(seed, v1, 2 ** 31))).toBe('InvalidInput');
    expect(kindOf(() => deriveSecretV2(seed, v2, -1))).toBe('InvalidInput');
    expect(kindOf(() => deriveSecretV2(seed, v2, 1.5))).toBe('InvalidInput');
    expect(kindOf(() => deriveSecretV2(new Uint8Array(8), v2, 0))).toBe('InvalidInput');
  });

  it('counters give distinct secrets; v2 ids map to an integer by their first 8 bytes', () => {
    expect(deriveSecretV2(seed, v2, 1).secret).not.toBe(deriveSecretV2(seed, v2, 0).secret);
    expect(keysetIdInt(v2)).toBe(Number(0x01abababababababn % (2n ** 31n - 1n)));
  });
});
