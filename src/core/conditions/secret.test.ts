/**
 * NUT-10 well-known secrets and NUT-11/14 witnesses: what parses, what is refused (with its code)
 * before any crypto, and that the builders' secrets parse back to what was asked for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../errors.js';
import { CONDITION_LIMITS, htlcSecret, p2pkSecret, parseWellKnownSecret, parseWitness } from './secret.js';

const K1 = '0249098aa8b9d2fbec49ff8598feb17b592b986e62319a4fa488a3dc36387157a7';
const K2 = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const K3 = '02142715675faf8da1ecc4d51e0b9e539fa0d52fdd96ed60dbe99adb15d6b05ad9';
const H = 'ec4916dd28fc4c10d78e287ca5d9cc51ee1ae73cbfde08c6b37324cbfaac8bc5';

const secret = (kind: string, body: unknown) => JSON.stringify([kind, body]);

function refused(f: () => unknown, code: 'ConditionMalformed' | 'WitnessMalformed'): string {
  try {
    f();
  } catch (e) {
    if (isLancashError(e, code)) return e.info.reason;
    throw e;
  }
  throw new Error('not refused');
}

describe('parseWellKnownSecret', () => {
  it('answers undefined for plain secrets', () => {
    expect(parseWellKnownSecret('407915bc212be61a77e3e6d2aeb4c727980bda51cd06a6afc29e2861768a7837')).toBe(
      undefined,
    );
    expect(parseWellKnownSecret('[not json')).toBe(undefined);
    expect(parseWellKnownSecret('[1,2]')).toBe(undefined);
  });

  it('parses the NUT-11 complex example with typed tags', () => {
    const s = parseWellKnownSecret(
      secret('P2PK', {
        nonce: 'da62796403af76c80cd6ce9153ed3746',
        data: K1.toUpperCase().replace('0X', ''),
        tags: [
          ['sigflag', 'SIG_ALL'],
          ['n_sigs', '2'],
          ['locktime', '1689418329'],
          ['refund', K2, K3],
          ['pubkeys', K2, K3],
        ],
      }),
    )!;
    expect(s.kind).toBe('P2PK');
    expect(s.data).toBe(K1);
    expect(s.tags).toEqual({
      sigflag: 'SIG_ALL',
      n_sigs: 2,
      locktime: 1689418329,
      refund: [K2, K3],
      pubkeys: [K2, K3],
    });
  });

  it('treats a locktime that is no unix time as a permanent lock (NUT-11)', () => {
    const s = parseWellKnownSecret(secret('P2PK', { nonce: 'n', data: K1, tags: [['locktime', 'soon']] }))!;
    expect(s.tags.locktime).toBe(undefined);
  });

  it.each([
    ['unknown kind', secret('FOO', { nonce: 'n', data: K1 })],
    ['broken JSON of a known kind', '["P2PK",{"nonce":'],
    ['extra element', JSON.stringify(['P2PK', { nonce: 'n', data: K1 }, 1])],
    ['unknown field', secret('P2PK', { nonce: 'n', data: K1, extra: 1 })],
    ['empty nonce', secret('P2PK', { nonce: '', data: K1 })],
    ['data not a key', secret('P2PK', { nonce: 'n', data: H })],
    ['HTLC data not a hash', secret('HTLC', { nonce: 'n', data: K1 })],
    [
      'tag repeated',
      secret('P2PK', {
        nonce: 'n',
        data: K1,
        tags: [
          ['n_sigs', '1'],
          ['n_sigs', '1'],
        ],
      }),
    ],
    ['bad sigflag', secret('P2PK', { nonce: 'n', data: K1, tags: [['sigflag', 'SIG_SOME']] })],
    ['n_sigs zero', secret('P2PK', { nonce: 'n', data: K1, tags: [['n_sigs', '0']] })],
    [
      'n_sigs above keys',
      secret('P2PK', {
        nonce: 'n',
        data: K1,
        tags: [
          ['pubkeys', K2],
          ['n_sigs', '3'],
        ],
      }),
    ],
    [
      'n_sigs_refund without refund',
      secret('P2PK', { nonce: 'n', data: K1, tags: [['n_sigs_refund', '1']] }),
    ],
    ['HTLC n_sigs without pubkeys', secret('HTLC', { nonce: 'n', data: H, tags: [['n_sigs', '1']] })],
    ['key twice by x', secret('P2PK', { nonce: 'n', data: K1, tags: [['pubkeys', `03${K1.slice(2)}`]] })],
    ['bad key', secret('P2PK', { nonce: 'n', data: K1, tags: [['pubkeys', `04${K1.slice(2)}`]] })],
    ['tag of one string', secret('P2PK', { nonce: 'n', data: K1, tags: [['sigflag']] })],
    ['tag not strings', secret('P2PK', { nonce: 'n', data: K1, tags: [['n_sigs', 1]] })],
    [
      'too many tags',
      secret('P2PK', {
        nonce: 'n',
        data: K1,
        tags: Array.from({ length: CONDITION_LIMITS.maxTags + 1 }, () => ['x', 'y']),
      }),
    ],
    ['oversized tag string', secret('P2PK', { nonce: 'n', data: K1, tags: [['x', 'y'.repeat(200)]] })],
    [
      'too many keys',
      secret('P2PK', {
        nonce: 'n',
        data: K1,
        tags: [['pubkeys', ...Array.from({ length: 17 }, (_, i) => `02${i.toString(16).padStart(64, '0')}`)]],
      }),
    ],
  ])('refuses %s', (_name, s) => {
    expect(refused(() => parseWellKnownSecret(s), 'ConditionMalformed')).toBeTruthy();
  });

  it('builders round-trip their options (property)', () => {
    const key = fc.constantFrom(K1, K2, K3);
    fc.assert(
      fc.property(
        key,
        fc.uniqueArray(key, { maxLength: 2 }),
        fc.option(fc.constantFrom('SIG_INPUTS' as const, 'SIG_ALL' as const), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
        fc.uniqueArray(key, { maxLength: 3 }),
        (pubkey, extra, sigflag, locktime, refund) => {
          const pubkeys = extra.filter((k) => k !== pubkey);
          const s = p2pkSecret({
            pubkey,
            pubkeys,
            refund,
            ...(sigflag ? { sigflag } : {}),
            ...(locktime !== undefined ? { locktime } : {}),
            n_sigs: 1 + pubkeys.length,
          });
          const p = parseWellKnownSecret(s)!;
          expect(p).toMatchObject({ kind: 'P2PK', data: pubkey });
          expect(p.tags).toEqual({
            sigflag: sigflag ?? 'SIG_INPUTS',
            n_sigs: 1 + pubkeys.length,
            pubkeys,
            refund,
            ...(locktime !== undefined ? { locktime } : {}),
          });
          expect(p.nonce).toMatch(/^[0-9a-f]{64}$/);
        },
      ),
    );
    const h = parseWellKnownSecret(htlcSecret({ hash: H, pubkeys: [K2], nonce: 'x' }))!;
    expect(h).toMatchObject({ kind: 'HTLC', data: H, nonce: 'x', tags: { pubkeys: [K2] } });
  });

  it('builders refuse what the mints would refuse', () => {
    expect(refused(() => p2pkSecret({ pubkey: K1, n_sigs: 2 }), 'ConditionMalformed')).toMatch(/n_sigs/);
  });

  it('never throws anything but a coded refusal on arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json().map((j) => `["P2PK",${j}]`),
        ),
        (s) => {
          try {
            parseWellKnownSecret(s);
          } catch (e) {
            expect(isLancashError(e, 'ConditionMalformed')).toBe(true);
          }
        },
      ),
    );
  });
});

describe('parseWitness', () => {
  const sig = 'ab'.repeat(64);
  it('parses P2PK and HTLC witnesses', () => {
    expect(parseWitness(JSON.stringify({ signatures: [sig.toUpperCase()] }))).toEqual({ signatures: [sig] });
    expect(parseWitness(JSON.stringify({ preimage: '00'.repeat(32), signatures: [] }))).toEqual({
      signatures: [],
      preimage: '00'.repeat(32),
    });
  });

  it.each([
    ['missing', undefined],
    ['not JSON', '{'],
    ['an array', '[]'],
    ['signatures not an array', '{"signatures":"x"}'],
    ['short signature', JSON.stringify({ signatures: ['ab'] })],
    ['too many signatures', JSON.stringify({ signatures: Array.from({ length: 17 }, () => sig) })],
    ['10^4 signatures', JSON.stringify({ signatures: Array.from({ length: 10_000 }, () => sig) })],
    ['short preimage', JSON.stringify({ preimage: '00', signatures: [] })],
    ['preimage not hex', JSON.stringify({ preimage: 'zz'.repeat(32), signatures: [] })],
  ])('refuses %s', (_name, w) => {
    expect(refused(() => parseWitness(w), 'WitnessMalformed')).toBeTruthy();
  });
});
