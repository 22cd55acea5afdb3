/** NUT-00 token vectors, round-trip properties and malformed input for the token codec. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { base64urlnopad } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hex } from '../bytes.js';
import { type CborMap, type CborValue, encode as cborEncode } from '../cbor/index.js';
import { type ErrorName, isLancashError } from '../errors.js';
import type { Proof } from '../protocol/cashu.js';
import { decodeToken, decodeTokenRaw, encodeTokenV4, encodeTokenV4Raw, type Token } from './index.js';

interface V4ProofJson {
  a: number;
  s: string;
  c: string;
}
interface V4Json {
  t: { i: string; p: V4ProofJson[] }[];
  d?: string;
  m: string;
  u: string;
}
interface Nut00Vectors {
  cases: {
    token_v3_serialization: {
      token: { token: { mint: string; proofs: Proof[] }[]; unit: string; memo: string };
      serialized: string;
    }[];
    token_v3_invalid: { serialized: string; reason: string }[];
    token_v3_valid_deserialization: { description: string; serialized: string }[];
    token_v4_serialization: { description: string; token: V4Json; serialized: string }[];
    token_v4_raw_binary: { description: string; token: V4Json; raw_hex: string }[];
  };
}

const vectors = JSON.parse(
  readFileSync(resolve(process.cwd(), '../shared/vectors/nut00.json'), 'utf8'),
) as Nut00Vectors;
const { cases } = vectors;

/** The flat token a V4 vector describes. */
function fromV4Json(t: V4Json): Token {
  const token: Token = {
    mint: t.m,
    unit: t.u,
    proofs: t.t.flatMap((g) => g.p.map((p) => ({ amount: p.a, id: g.i, secret: p.s, C: p.c }))),
  };
  if (t.d !== undefined) token.memo = t.d;
  return token;
}

const unpadded = (s: string) => s.replace(/=+$/, '');

/** Runs `f` and returns the lancash error it throws; fails the test on success or on any other exception. */
function refusal(f: () => unknown, kinds: ErrorName[] = ['InvalidToken', 'InvalidInput']): string {
  try {
    f();
  } catch (e) {
    if (!isLancashError(e) || !kinds.includes(e.kind)) throw new Error(`unexpected exception: ${String(e)}`);
    return e.kind;
  }
  throw new Error('expected a refusal, got a result');
}

describe('NUT-00 vectors', () => {
  it('decodes the V3 serialisation example to its JSON', () => {
    for (const c of cases.token_v3_serialization) {
      const [entry] = c.token.token;
      expect(decodeToken(c.serialized)).toEqual({
        mint: entry!.mint,
        unit: c.token.unit,
        memo: c.token.memo,
        proofs: entry!.proofs,
      });
    }
  });

  it('decodes the valid V3 strings, padded and unpadded', () => {
    expect(cases.token_v3_valid_deserialization.length).toBe(3);
    const decoded = cases.token_v3_valid_deserialization.map((c) => decodeToken(c.serialized));
    expect(decoded[1]).toEqual(decoded[2]);
    expect(decoded[1]!.memo).toBe('Thank you very much.');
    expect(decoded[0]!.proofs).toEqual(decoded[1]!.proofs);
  });

  it('refuses the invalid V3 strings with InvalidToken', () => {
    expect(cases.token_v3_invalid.length).toBe(2);
    for (const c of cases.token_v3_invalid)
      expect(refusal(() => decodeToken(c.serialized))).toBe('InvalidToken');
  });

  it('round-trips every V4 example byte for byte', () => {
    expect(cases.token_v4_serialization.length).toBe(2);
    for (const c of cases.token_v4_serialization) {
      const token = decodeToken(c.serialized);
      expect(token).toEqual(fromV4Json(c.token));
      expect(encodeTokenV4(token)).toBe(unpadded(c.serialized));
      expect(encodeTokenV4(fromV4Json(c.token))).toBe(unpadded(c.serialized));
    }
  });

  it('round-trips the crawB binary example byte for byte', () => {
    for (const c of cases.token_v4_raw_binary) {
      const raw = hex(c.raw_hex, 'raw_hex');
      expect(decodeTokenRaw(raw)).toEqual(fromV4Json(c.token));
      expect(bytesToHex(encodeTokenV4Raw(fromV4Json(c.token)))).toBe(c.raw_hex);
    }
  });
});

describe('decodeToken input forms', () => {
  const v4 = cases.token_v4_serialization[0]!.serialized;
  const expected = fromV4Json(cases.token_v4_serialization[0]!.token);

  it('accepts the cashu: URI scheme, padding, plain base64 and surrounding whitespace', () => {
    const body = unpadded(v4.slice('cashuB'.length));
    const plain = body.replaceAll('-', '+').replaceAll('_', '/');
    for (const s of [`cashu:${v4}`, `CASHU:${v4}`, `cashuB${body}`, `cashuB${plain}=`, ` ${v4}\n`]) {
      expect(decodeToken(s)).toEqual(expected);
    }
  });

  it('strips trailing slashes from the mint URL (NUT-00)', () => {
    const token = { ...expected, mint: 'http://localhost:3338//' };
    expect(decodeToken(encodeTokenV4(token)).mint).toBe('http://localhost:3338');
  });

  it('keeps DLEQ and witness through V4', () => {
    const proof: Proof = {
      ...expected.proofs[0]!,
      dleq: { e: 'aa'.repeat(32), s: 'bb'.repeat(32), r: 'cc'.repeat(32) },
      witness: '{"signatures":[]}',
    };
    const token = { ...expected, proofs: [proof] };
    expect(decodeToken(encodeTokenV4(token))).toEqual(token);
  });

  it('resolves short V2 keyset ids only through the resolver', () => {
    const full = `01${'ab'.repeat(32)}`;
    const short = full.slice(0, 16);
    const token = { ...expected, proofs: [{ ...expected.proofs[0]!, id: full }] };
    // Rewrite the encoded full id into its 8-byte short form, as NUT-00 allows wallets to do.
    const cbor = base64urlnopad.decode(encodeTokenV4(token).slice(6));
    const at = bytesToHex(cbor).indexOf(`5821${full}`) / 2;
    expect(at).toBeGreaterThan(0);
    const shortened = new Uint8Array([
      ...cbor.subarray(0, at),
      0x48,
      ...hex(short, 'short'),
      ...cbor.subarray(at + 35),
    ]);
    const s = `cashuB${base64urlnopad.encode(shortened)}`;
    expect(refusal(() => decodeToken(s))).toBe('InvalidToken');
    expect(decodeToken(s, { resolveShortKeysetId: (id) => (id === short ? full : undefined) })).toEqual(
      token,
    );
    expect(refusal(() => decodeToken(s, { resolveShortKeysetId: () => `01${'cd'.repeat(32)}` }))).toBe(
      'InvalidToken',
    );
  });

  it('merges V3 entries of one mint and refuses several mints', () => {
    const proofs = cases.token_v3_serialization[0]!.token.token[0]!.proofs;
    const v3 = (token: unknown) =>
      `cashuA${base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(token)))}`;
    const one = {
      token: [
        { mint: 'https://a.example', proofs: [proofs[0]] },
        { mint: 'https://a.example/', proofs: [proofs[1]] },
      ],
    };
    expect(decodeToken(v3(one))).toEqual({ mint: 'https://a.example', unit: 'sat', proofs });
    const two = {
      token: [
        { mint: 'https://a.example', proofs: [proofs[0]] },
        { mint: 'https://b.example', proofs: [proofs[1]] },
      ],
    };
    expect(refusal(() => decodeToken(v3(two)))).toBe('InvalidToken');
  });
});

// ---------------------------------------------------------------------------------------------

/** Any text but NUL, which every decoder refuses (`core/unicode.ts`: PostgreSQL cannot store it). */
const text = (c: { minLength?: number; maxLength: number }) =>
  fc.string({ ...c, unit: 'grapheme' }).filter((s) => !s.includes('\0'));
const hexOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(bytesToHex);
const arbProof: fc.Arbitrary<Proof> = fc
  .record(
    {
      amount: fc.integer({ min: 1, max: 2 ** 31 }),
      id: fc.oneof(
        hexOf(7).map((h) => `00${h}`),
        hexOf(32).map((h) => `01${h}`),
      ),
      secret: text({ minLength: 1, maxLength: 80 }),
      C: fc.tuple(fc.constantFrom('02', '03'), hexOf(32)).map(([p, x]) => p + x),
      dleq: fc.record({ e: hexOf(32), s: hexOf(32), r: hexOf(32) }),
      witness: text({ maxLength: 100 }),
    },
    { requiredKeys: ['amount', 'id', 'secret', 'C'] },
  )
  .filter((p) => p.secret.length <= 1024);
const arbToken: fc.Arbitrary<Token> = fc.record(
  {
    mint: fc
      .tuple(fc.constantFrom('http', 'https'), fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 })))
      .map(([s, d, port]) => `${s}://${d}${port === null ? '' : `:${port}`}`),
    unit: fc.constantFrom('sat', 'eur', 'usd', 'msat'),
    memo: text({ maxLength: 60 }),
    proofs: fc.array(arbProof, { minLength: 1, maxLength: 8 }),
  },
  { requiredKeys: ['mint', 'unit', 'proofs'] },
);

/** V4 groups proofs by keyset id in first-seen order; this is the order a decoded token has. */
function grouped(t: Token): Token {
  const ids = [...new Set(t.proofs.map((p) => p.id))];
  return { ...t, proofs: ids.flatMap((id) => t.proofs.filter((p) => p.id === id)) };
}

describe('round trips', () => {
  it('decode(encode(token)) is the token, grouped by keyset id', () => {
    fc.assert(
      fc.property(arbToken, (t) => {
        const s = encodeTokenV4(t);
        expect(decodeToken(s)).toEqual(grouped(t));
        expect(decodeTokenRaw(encodeTokenV4Raw(t))).toEqual(grouped(t));
        expect(encodeTokenV4(decodeToken(s))).toBe(s);
      }),
    );
  });
});

describe('malformed input is refused with a typed error', () => {
  const good = fromV4Json(cases.token_v4_serialization[0]!.token);
  const v4Proof: CborMap = { a: 1, s: 'x', c: hex(good.proofs[0]!.C, 'C') };
  const v4Cbor = (proof: CborMap, root: CborMap = {}) =>
    cborEncode({
      t: [{ i: hex('00ad268c4d1f5826', 'i'), p: [proof] }],
      m: 'http://localhost:3338',
      u: 'sat',
      ...root,
    });
  const v4With = (proof: CborMap, root: CborMap = {}) =>
    `cashuB${base64urlnopad.encode(v4Cbor(proof, root))}`;
  /** A V4 token whose proof amount is the raw CBOR `item`, which the codec itself would not write. */
  const v4WithRawAmount = (item: string) => {
    const marker = 'cafebabe';
    const h = bytesToHex(v4Cbor({ ...v4Proof, a: hex(marker, 'marker') }));
    expect(h).toContain(`44${marker}`);
    return `cashuB${base64urlnopad.encode(hex(h.replace(`44${marker}`, item), 'token'))}`;
  };

  it('refuses amounts that are strings, negative, zero or beyond the schema', () => {
    for (const a of ['1', -1, 0, 2 ** 31 + 1, 2 ** 53 - 1, null, true]) {
      expect(refusal(() => decodeToken(v4With({ ...v4Proof, a })))).toBe('InvalidInput');
    }
    expect(decodeToken(v4With(v4Proof)).proofs[0]!.amount).toBe(1);
  });

  it('refuses amounts the CBOR subset cannot hold: floats, 2^64 − 1, bignums, non-shortest', () => {
    expect(decodeToken(v4WithRawAmount('01')).proofs[0]!.amount).toBe(1);
    for (const item of [
      'f93e00',
      'fb3ff8000000000000',
      '1bffffffffffffffff',
      'c249010000000000000000',
      '1801',
    ]) {
      expect(refusal(() => decodeToken(v4WithRawAmount(item)))).toBe('InvalidToken');
    }
  });

  it('refuses bad points, keyset ids, secrets and field types', () => {
    const bad: [CborMap, CborMap?][] = [
      [{ ...v4Proof, c: new Uint8Array(33) }],
      [{ ...v4Proof, c: hex(`04${'11'.repeat(32)}`, 'c') }],
      [{ ...v4Proof, c: good.proofs[0]!.C }],
      [{ ...v4Proof, s: '' }],
      [{ ...v4Proof, s: 'x'.repeat(1025) }],
      [{ ...v4Proof, s: 7 }],
      [{ ...v4Proof, w: 7 }],
      [{ ...v4Proof, d: { e: new Uint8Array(32), s: new Uint8Array(32) } }],
      [{ ...v4Proof, d: 'dleq' }],
      [v4Proof, { m: 'ftp://mint' }],
      [v4Proof, { m: '' }],
      [v4Proof, { m: 'not a url' }],
      [v4Proof, { u: '' }],
      [v4Proof, { u: 5 }],
      [v4Proof, { d: 5 }],
      [v4Proof, { t: [] }],
      [v4Proof, { t: [{ i: hex('00ad268c4d1f5826', 'i'), p: [] }] }],
      [v4Proof, { t: [{ i: 'text id', p: [v4Proof] }] }],
      [v4Proof, { t: [{ i: new Uint8Array([0x02, 1, 2, 3, 4, 5, 6, 7]), p: [v4Proof] }] }],
    ];
    for (const [proof, root] of bad) refusal(() => decodeToken(v4With(proof, root)));
  });

  it('refuses wrong prefixes and versions', () => {
    const body = encodeTokenV4(good).slice(6);
    for (const s of [
      body,
      `cashub${body}`,
      `cashuC${body}`,
      `cashu${body}`,
      `casshuB${body}`,
      '',
      'cashuB',
      'cashuA',
      'cashu:',
    ]) {
      expect(refusal(() => decodeToken(s))).toBe('InvalidToken');
    }
    for (const v of [undefined, null, 5, {}, new Uint8Array(3)])
      expect(refusal(() => decodeToken(v))).toBe('InvalidToken');
    expect(refusal(() => decodeTokenRaw(new TextEncoder().encode(`crawA${body}`)))).toBe('InvalidToken');
    expect(refusal(() => decodeTokenRaw('crawB'))).toBe('InvalidToken');
  });

  it('refuses every truncation of a valid token', () => {
    const raw = encodeTokenV4Raw(good);
    for (let n = 0; n < raw.length; n++) refusal(() => decodeTokenRaw(raw.subarray(0, n)));
    const s = encodeTokenV4(good);
    for (let n = 0; n < s.length - 1; n++) refusal(() => decodeToken(s.slice(0, n)));
  });

  it('refuses maps with non-text or duplicate keys', () => {
    // The root map of a good token, given a fourth entry; an unknown text key would be ignored (NUT-00).
    const root = bytesToHex(v4Cbor(v4Proof));
    expect(root.startsWith('a3')).toBe(true);
    const crawB = (entry: string) => hex(`6372617742a4${root.slice(2)}${entry}`, 'raw');
    expect(decodeTokenRaw(crawB('617863797a7a')).proofs[0]!.amount).toBe(1); // "x": "yzz"
    expect(refusal(() => decodeTokenRaw(crawB('0102')))).toBe('InvalidToken'); // 1: 2
    expect(refusal(() => decodeTokenRaw(crawB('617563736174')))).toBe('InvalidToken'); // "u": "sat" again
  });

  it('refuses oversized, deeply nested and trailing-garbage CBOR', () => {
    expect(refusal(() => decodeToken(`cashuB${'A'.repeat(1_048_577)}`))).toBe('InvalidToken');
    expect(refusal(() => decodeToken(`cashuB${'='.repeat(100_000)}x`))).toBe('InvalidToken');
    const deep = new Uint8Array(100_000).fill(0x81);
    expect(refusal(() => decodeToken(`cashuB${base64urlnopad.encode(deep)}`))).toBe('InvalidToken');
    const raw = encodeTokenV4Raw(good);
    expect(refusal(() => decodeTokenRaw(new Uint8Array([...raw, 0])))).toBe('InvalidToken');
  });

  it('refuses invalid input on encode too', () => {
    expect(refusal(() => encodeTokenV4({ ...good, proofs: [] }))).toBe('InvalidToken');
    expect(refusal(() => encodeTokenV4({ ...good, mint: 'mailto:x' }))).toBe('InvalidToken');
    const p = good.proofs[0]!;
    expect(refusal(() => encodeTokenV4({ ...good, proofs: [{ ...p, amount: 0 }] }))).toBe('InvalidInput');
    expect(refusal(() => encodeTokenV4({ ...good, proofs: [{ ...p, C: 'zz' }] }))).toBe('InvalidInput');
  });

  it('never throws a raw exception on random strings, random base64 or random CBOR', () => {
    const anything = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => `cashuB${base64urlnopad.encode(b)}`),
      fc.uint8Array({ maxLength: 300 }).map((b) => `cashuA${base64urlnopad.encode(b)}`),
      fc
        .jsonValue()
        .map((j) => `cashuA${base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(j)))}`),
    );
    fc.assert(
      fc.property(anything, (s) => void refusal(() => decodeToken(s))),
      { numRuns: 500 },
    );
  });

  /** Decoding either succeeds or refuses with a lancash error; nothing else may escape. */
  const decodesOrRefuses = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!isLancashError(e)) throw e;
    }
  };

  it('never throws a raw exception when one byte of a valid token changes', () => {
    const raw = encodeTokenV4Raw(good);
    fc.assert(
      fc.property(fc.nat(raw.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const changed = raw.slice();
        changed[at]! ^= x;
        decodesOrRefuses(() => decodeTokenRaw(changed));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws a raw exception when a field of a valid token holds any other CBOR value', () => {
    const value: fc.Arbitrary<CborValue> = fc.oneof(
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.string({ maxLength: 40 }),
      fc.boolean(),
      fc.constantFrom(null, undefined),
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom<CborValue>([], {}, [1, 'a'], { i: 'x' }, [{ a: 1 }]),
    );
    const rootKey = fc.constantFrom('t', 'm', 'u', 'd', '');
    const proofKey = fc.constantFrom('a', 's', 'c', 'd', 'w', '');
    fc.assert(
      fc.property(rootKey, proofKey, value, value, (rk, pk, rv, pv) => {
        decodesOrRefuses(() => decodeToken(v4With({ ...v4Proof, [pk]: pv }, { [rk]: rv })));
      }),
      { numRuns: 500 },
    );
  });
});
