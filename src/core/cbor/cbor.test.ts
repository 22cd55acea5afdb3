/** The strict CBOR codec: RFC 8949 Appendix A examples, Cashu vectors, refusals with offsets, round trips. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hex } from '../bytes.js';
import { isLancashError } from '../errors.js';
import { CBOR_DEFAULT_MAX_DEPTH, type CborMap, type CborValue, decode, encode } from './index.js';

const fromHex = (h: string) => hex(h, 'cbor');

/** Runs `f` and returns the `CborInvalid` detail it throws; fails the test on success or on any other exception. */
function cborRefusal(f: () => unknown): { offset: number; reason: string } {
  try {
    f();
  } catch (e) {
    if (isLancashError(e, 'CborInvalid')) return e.info;
    throw new Error(`unexpected exception: ${String(e)}`);
  }
  throw new Error('expected a refusal, got a result');
}

/** Runs `f` and returns the argument path of the `InvalidInput` it throws. */
function inputRefusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isLancashError(e, 'InvalidInput')) return e.info.argument;
    throw new Error(`unexpected exception: ${String(e)}`);
  }
  throw new Error('expected a refusal, got a result');
}

const map = (entries: [string, CborValue][]): CborMap => Object.fromEntries(entries);

// RFC 8949 Appendix A: the examples inside the subset, both ways, byte for byte.
const EXAMPLES: [CborValue, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
  [-1, '20'],
  [-10, '29'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [-Number.MAX_SAFE_INTEGER, '3b001ffffffffffffe'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [undefined, 'f7'],
  [new Uint8Array(), '40'],
  [fromHex('01020304'), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  ['\ufeff', '63efbbbf'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [{}, 'a0'],
  [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  [['a', { b: 'c' }], '826161a161626163'],
  [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
  [
    map([
      ['b', 1],
      ['a', 2],
    ]),
    'a2616201616102',
  ],
];

describe('RFC 8949 examples', () => {
  it('encodes and decodes each example byte for byte', () => {
    for (const [value, h] of EXAMPLES) {
      expect(bytesToHex(encode(value))).toBe(h);
      expect(decode(fromHex(h))).toEqual(value);
      expect(bytesToHex(encode(decode(fromHex(h))))).toBe(h);
    }
  });

  it('decodes maps as prototype-free objects whose keys stay data', () => {
    const m = decode(fromHex('a26b636f6e7374727563746f7201666861734f776e02')) as CborMap;
    expect(Object.getPrototypeOf(m)).toBeNull();
    expect(Object.keys(m)).toEqual(['constructor', 'hasOwn']);
    expect(m.constructor).toBe(1);
  });

  it('keeps a byte string apart from the input buffer', () => {
    const input = fromHex('4401020304');
    const out = decode(input) as Uint8Array;
    input[1] = 9;
    expect(bytesToHex(out)).toBe('01020304');
  });
});

describe('Cashu vectors', () => {
  const vectors = (name: string) =>
    JSON.parse(readFileSync(resolve(process.cwd(), `../shared/vectors/${name}`), 'utf8')) as {
      cases: Record<string, Record<string, unknown>[]>;
    };

  it('decodes every NUT-00 V4 token and re-encodes it byte for byte', () => {
    const { cases } = vectors('nut00.json');
    const bodies = [
      ...cases.token_v4_serialization!.map((c) => Buffer.from(String(c.serialized).slice(6), 'base64url')),
      ...cases.token_v4_raw_binary!.map((c) => fromHex(String(c.raw_hex).slice(10))),
    ];
    expect(bodies.length).toBe(3);
    for (const b of bodies) expect(bytesToHex(encode(decode(new Uint8Array(b))))).toBe(bytesToHex(b));
  });

  it('decodes every NUT-18 payment request to its JSON and re-encodes it byte for byte', () => {
    const requests = vectors('nut18.json').cases.payment_requests!;
    expect(requests.length).toBe(6);
    for (const c of requests) {
      const body = new Uint8Array(Buffer.from(String(c.encoded).slice('creqA'.length), 'base64url'));
      const request = decode(body);
      // The "Basic" vector's string encodes another request than its JSON (see the vector's notes).
      if (c.source_inconsistency === undefined) expect(request).toEqual(c.request);
      expect(bytesToHex(encode(request))).toBe(bytesToHex(body));
    }
    // NUT-18 "Complete": the transport's `g` is CBOR undefined, kept as an own key.
    const complete = requests.find((c) => c.name === 'Complete Payment Request')!;
    const decoded = decode(new Uint8Array(Buffer.from(String(complete.encoded).slice(5), 'base64url')));
    const transport = ((decoded as CborMap).t as CborMap[])[0]!;
    expect(Object.keys(transport)).toEqual(['t', 'a', 'g']);
    expect(transport.g).toBeUndefined();
  });
});

describe('decode refuses with the byte offset', () => {
  const refused: [string, string, number][] = [
    // RFC 8949 Appendix A examples outside the subset.
    ['1bffffffffffffffff', '2^53', 0],
    ['1b0020000000000000', '2^53', 0],
    ['3b001fffffffffffff', 'below', 0],
    ['3bffffffffffffffff', '2^53', 0],
    ['c249010000000000000000', 'tags', 0],
    ['c074323031332d30332d32315432303a30343a30305a', 'tags', 0],
    ['d74401020304', 'tags', 0],
    ['f90000', 'floating', 0],
    ['f93c00', 'floating', 0],
    ['fa47c35000', 'floating', 0],
    ['fb3ff199999999999a', 'floating', 0],
    ['f0', 'simple value', 0],
    ['f8ff', 'simple value', 0],
    ['5f42010243030405ff', 'indefinite', 0],
    ['7f657374726561646d696e67ff', 'indefinite', 0],
    ['9fff', 'indefinite', 0],
    ['bf61610161629f0203ffff', 'indefinite', 0],
    ['ff', 'break', 0],
    // RFC 8949 §4.2.1: non-shortest heads.
    ['1817', 'non-shortest', 0],
    ['190080', 'non-shortest', 0],
    ['1a0000ffff', 'non-shortest', 0],
    ['1b00000000ffffffff', 'non-shortest', 0],
    ['380a', 'non-shortest', 0],
    ['580161', 'non-shortest', 0],
    ['780161', 'non-shortest', 0],
    ['82019800', 'non-shortest', 2],
    ['a161619800', 'non-shortest', 3],
    // Reserved additional information.
    ['1c', 'reserved', 0],
    ['5d', 'reserved', 0],
    ['fe', 'simple value', 0],
    // Truncation, trailing bytes, impossible counts.
    ['', 'truncated', 0],
    ['19', 'truncated', 0],
    ['1a0102', 'truncated', 0],
    ['4401', 'truncated', 0],
    ['830102', 'cannot fit', 0],
    ['821901', 'truncated', 1],
    ['a16161', 'truncated', 3],
    ['9b001fffffffffffff', 'cannot fit', 0],
    ['bb001fffffffffffff0000', 'cannot fit', 0],
    ['5b001fffffffffffff00', 'truncated', 0],
    ['0000', 'trailing', 1],
    ['8001', 'trailing', 1],
    // UTF-8 (RFC 3629): stray continuation, overlong form, encoded surrogate, beyond U+10FFFF.
    ['6180', 'UTF-8', 0],
    ['62c0af', 'UTF-8', 0],
    ['8263e282ac63eda080', 'UTF-8', 5],
    ['64f4908080', 'UTF-8', 0],
    // Maps: text keys only, no duplicates, no "__proto__".
    ['a10102', 'not a text string', 1],
    ['a14161', 'not a text string', 1],
    ['a2616101616102', 'duplicate', 4],
    ['a1695f5f70726f746f5f5f01', '__proto__', 1],
  ];

  it('refuses each malformed or out-of-subset input at the right byte', () => {
    for (const [h, reason, offset] of refused) {
      const got = cborRefusal(() => decode(fromHex(h)));
      expect({ h, reason: got.reason.includes(reason), offset: got.offset }).toEqual({
        h,
        reason: true,
        offset,
      });
    }
  });

  it('names the offset in the message', () => {
    try {
      decode(fromHex('8201f90000'));
    } catch (e) {
      expect(isLancashError(e, 'CborInvalid') && e.message).toBe(
        'CBOR at byte 2: floating-point numbers are not accepted',
      );
      return;
    }
    throw new Error('expected a refusal');
  });

  it('refuses every proper prefix of a valid encoding', () => {
    const b = encode({
      t: [{ i: fromHex('00ad268c4d1f5826'), p: [{ a: 1, s: 'x', c: new Uint8Array(33) }] }],
    });
    for (let n = 0; n < b.length; n++) cborRefusal(() => decode(b.subarray(0, n)));
  });

  it('refuses nesting deeper than maxDepth, and more than maxItems items', () => {
    const nested = (n: number) => new Uint8Array([...new Array(n - 1).fill(0x81), 0x80]);
    expect(decode(nested(CBOR_DEFAULT_MAX_DEPTH))).toBeDefined();
    expect(cborRefusal(() => decode(nested(CBOR_DEFAULT_MAX_DEPTH + 1)))).toEqual({
      offset: CBOR_DEFAULT_MAX_DEPTH,
      reason: `nesting deeper than ${CBOR_DEFAULT_MAX_DEPTH}`,
    });
    expect(cborRefusal(() => decode(new Uint8Array(100_000).fill(0x81))).offset).toBe(16);
    expect(decode(nested(3), { maxDepth: 3 })).toEqual([[[]]]);
    expect(cborRefusal(() => decode(nested(3), { maxDepth: 2 })).offset).toBe(2);
    // A map nests like an array: {"a": {"a": {}}}.
    expect(cborRefusal(() => decode(fromHex('a16161a16161a0'), { maxDepth: 2 })).offset).toBe(6);

    expect(decode(fromHex('820000'), { maxItems: 3 })).toEqual([0, 0]);
    expect(cborRefusal(() => decode(fromHex('83000000'), { maxItems: 3 })).offset).toBe(3);
    expect(decode(fromHex('a1616100'), { maxItems: 3 })).toEqual({ a: 0 });
    const many = new Uint8Array([0x9a, 0x00, 0x01, 0x86, 0xa1, ...new Array(100_001).fill(0)]);
    expect(cborRefusal(() => decode(many)).reason).toBe('more than 100000 data items');
  });
});

describe('encode refuses what decode would refuse, naming the path', () => {
  it('refuses values outside the subset', () => {
    const cyclic: CborMap = {};
    cyclic.self = cyclic;
    const proto = JSON.parse('{"__proto__": 1}') as CborMap;
    const cases: [unknown, string][] = [
      [1.5, 'value'],
      [Number.NaN, 'value'],
      [Number.POSITIVE_INFINITY, 'value'],
      [2 ** 53, 'value'],
      [-(2 ** 53), 'value'],
      [1n, 'value'],
      [Symbol('x'), 'value'],
      [() => 1, 'value'],
      [new Date(0), 'value'],
      [new Map(), 'value'],
      [{ a: [1, 1.5] }, 'value.a[1]'],
      [{ a: { b: '\ud800' } }, 'value.a.b'],
      [['ok', '\udc00x'], 'value[1]'],
      [{ a: proto }, 'value.a'],
      [cyclic, `value${'.self'.repeat(CBOR_DEFAULT_MAX_DEPTH)}`],
    ];
    for (const [v, path] of cases) expect(inputRefusal(() => encode(v as CborValue))).toBe(path);
    expect(inputRefusal(() => encode([[[]]], { maxDepth: 2 }))).toBe('value[0][0]');
  });

  it('encodes -0 as 0 and a prototype-free object as a map', () => {
    expect(bytesToHex(encode(-0))).toBe('00');
    const m: CborMap = Object.create(null);
    m.a = 1;
    expect(bytesToHex(encode(m))).toBe('a1616101');
  });
});

describe('properties', () => {
  const { value: arbValue } = fc.letrec<{ value: CborValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 6, depthIdentifier: 'cbor' },
      fc.maxSafeInteger(),
      fc.integer(),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.boolean(),
      fc.constantFrom(null, undefined),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(tie('value'), { maxLength: 6, depthIdentifier: 'cbor' }),
      fc.dictionary(
        fc.string({ unit: 'binary', maxLength: 8 }).filter((k) => k !== '__proto__'),
        tie('value'),
        { maxKeys: 6, depthIdentifier: 'cbor' },
      ),
    ),
  }));

  it('decode(encode(v)) equals v, and encoding it again gives the same bytes', () => {
    fc.assert(
      fc.property(arbValue, (v) => {
        const b = encode(v);
        const back = decode(b);
        expect(back).toEqual(v);
        expect(bytesToHex(encode(back))).toBe(bytesToHex(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes either decode to a value of the same encoded length or are refused with CborInvalid', () => {
    // Integer-like map keys are the one exception to byte-for-byte identity: JavaScript lists them first.
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      arbValue.chain((v) => {
        const b = encode(v);
        return fc
          .tuple(fc.nat(Math.max(0, b.length - 1)), fc.integer({ min: 0, max: 255 }))
          .map(([at, x]) => {
            const changed = b.slice();
            if (changed.length > 0) changed[at] = x;
            return changed;
          });
      }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        let v: CborValue;
        try {
          v = decode(b);
        } catch (e) {
          if (!isLancashError(e, 'CborInvalid')) throw e;
          return;
        }
        const again = encode(v);
        expect(again.length).toBe(b.length);
        expect(decode(again)).toEqual(v);
      }),
      { numRuns: 3000 },
    );
  });
});
