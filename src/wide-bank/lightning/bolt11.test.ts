/**
 * BOLT #11 codec: the spec's own example invoices decode to the spec's values and its invalid ones
 * are refused; our invoices round-trip (property test) and are read identically by two independent
 * decoders (light-bolt11-decoder, and cashu-ts' amount parser), with a signature that recovers the
 * signing node's key.
 */
import * as cashu from '@cashu/cashu-ts';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32 } from '@scure/base';
import fc from 'fast-check';
import { decode as independentDecode } from 'light-bolt11-decoder';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, utf8 } from '../../core/bytes.js';
import { isLancashError } from '../../core/errors.js';
import { decodeBolt11, encodeBolt11 } from './bolt11.js';

/**
 * Example invoices of BOLT #11 ("Examples", lightning/bolts `11-payment-encoding.md`, CC-BY 4.0),
 * all signed by the spec's example node key.
 */
const SPEC_NODE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad';
const SPEC = {
  pico: 'lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9qn07ytgrxxzad9hc4xt3mawjjt8znfv8xzscs7007v9gh9j569lencxa8xeujzkxs0uamak9aln6ez02uunw6rd2ht2sqe4hz8thcdagpleym0j',
  coffee:
    'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq67gye39hfg3zd8rgc80k32tvy9xk2xunwm5lzexnvpx6fd77en8qaq424dxgt56cag2dpt359k3ssyhetktkpqh24jqnjyw6uqd08sgptq44qu',
  ignoredFields:
    'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq2qrqqqfppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqpp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhpnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqspnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnp5qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnpkqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq2jxxfsnucm4jf4zwtznpaxphce606fvhvje5x7d4gw7n73994hgs7nteqvenq8a4ml8aqtchv5d9pf7l558889hp4yyrqv6a7zpq9fgpskqhza',
};
/** BOLT #11 "Examples of Invalid Invoices", by what is wrong with them. */
const SPEC_INVALID = {
  checksum:
    'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt',
  noSeparator:
    'pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny',
  mixedCase:
    'LNBC2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny',
  unrecoverable:
    'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaxtrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspk28uwq',
  tooShort:
    'lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6na6hlh',
  multiplier:
    'lnbc2500x1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpujr6jxr9gq9pv6g46y7d20jfkegkg4gljz2ea2a3m9lmvvr95tq2s0kvu70u3axgelz3kyvtp2ywwt0y8hkx2869zq5dll9nelr83zzqqpgl2zg',
  subMillisatoshi:
    'lnbc2500000001p1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu7hqtk93pkf7sw55rdv4k9z2vj050rxdr6za9ekfs3nlt5lr89jqpdmxsmlj9urqumg0h9wzpqecw7th56tdms40p2ny9q4ddvjsedzcplva53s',
};

const key = (byte: number) => new Uint8Array(32).fill(byte);

/** cashu-ts' own BOLT11 amount reader: exported at run time, left out of its public types. */
const { bolt11AmountMsat } = cashu as unknown as { bolt11AmountMsat: (request: string) => bigint | null };

/** A bit string → bytes, zero-padded at the end (written differently from the codec on purpose). */
function bitsToBytes(bits: string): Uint8Array {
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
  return Uint8Array.from(padded.match(/.{8}/g) ?? [], (b) => Number.parseInt(b, 2));
}

function refusal(request: unknown): string {
  try {
    decodeBolt11(request as string);
  } catch (err) {
    if (isLancashError(err, 'InvalidInput')) {
      expect(err.info.argument).toBe('request');
      return err.message;
    }
    throw err;
  }
  throw new Error(`accepted ${String(request).slice(0, 30)}…`);
}

describe('BOLT #11 decode: the spec examples', () => {
  it('reads amounts, fields and the payee of the valid examples', () => {
    const pico = decodeBolt11(SPEC.pico);
    expect(pico).toMatchObject({
      network: 'bc',
      amountMsat: 967878534n, // 9678785340 pico-bitcoin
      timestamp: 1572468703,
      paymentHash: '462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f',
      expirySeconds: 604800,
      minFinalCltvExpiry: 10,
      payee: SPEC_NODE,
    });
    expect(pico.description).toMatch(/^Blockstream Store: 88\.85 USD/);
    const coffee = decodeBolt11(SPEC.coffee);
    expect(coffee).toMatchObject({
      amountMsat: 2_500_000_000n, // 25 milli-bitcoin
      timestamp: 1496314658,
      description: 'coffee beans',
      paymentSecret: '11'.repeat(32),
      expirySeconds: 3600, // defaults when x and c are absent
      minFinalCltvExpiry: 18,
      payee: SPEC_NODE,
    });
    // The same invoice in upper case, and with fields of wrong length that a reader must skip.
    expect(decodeBolt11(SPEC.coffee.toUpperCase())).toEqual(coffee);
    expect(decodeBolt11(SPEC.ignoredFields)).toMatchObject({ ...coffee, payee: SPEC_NODE });
    expect(decodeBolt11(`lightning:${SPEC.coffee}`)).toEqual(coffee);
  });

  it('refuses the invalid examples with InvalidInput naming the request and the reason', () => {
    expect(refusal(SPEC_INVALID.checksum)).toMatch(/checksum/);
    expect(refusal(SPEC_INVALID.noSeparator)).toMatch(/checksum/);
    expect(refusal(SPEC_INVALID.mixedCase)).toMatch(/checksum/);
    expect(refusal(SPEC_INVALID.unrecoverable)).toMatch(/signature/);
    expect(refusal(SPEC_INVALID.tooShort)).toMatch(/timestamp and a signature/);
    expect(refusal(SPEC_INVALID.multiplier)).toMatch(/prefix/);
    expect(refusal(SPEC_INVALID.subMillisatoshi)).toMatch(/pico-bitcoin amount ending in 0/);
  });

  it('refuses other malformed requests', () => {
    const words = (n: number) => Array.from({ length: n }, () => 0);
    expect(refusal(42)).toMatch(/string/);
    expect(refusal('x'.repeat(8000))).toMatch(/at most/);
    expect(refusal('')).toMatch(/checksum/);
    expect(refusal(bech32.encode('lntx', words(120), false))).toMatch(/prefix/); // unknown network
    expect(refusal(bech32.encode('lnbc010n', words(120), false))).toMatch(/prefix/); // leading zero
    expect(refusal(bech32.encode('lnbc', words(111), false))).toMatch(/payment hash/); // no p field
    // A tagged field that claims more data than there is.
    expect(refusal(bech32.encode('lnbc', [...words(7), 1, 1, 20, ...words(104)], false))).toMatch(
      /tagged fields/,
    );
    const sigWords = bech32.toWords(new Uint8Array(65).fill(7)); // recovery id 7
    expect(refusal(bech32.encode('lnbc', [...words(7), ...sigWords], false))).toMatch(/recovery id/);
  });
});

describe('BOLT #11 encode', () => {
  const fields = {
    amountMsat: 1_234_000n,
    timestamp: 1_700_000_000,
    paymentHash: key(1),
    paymentSecret: key(2),
    description: 'lancash test',
    nodeKey: key(3),
  };

  it('writes the shortest amount and round-trips every field', () => {
    expect(encodeBolt11(fields)).toMatch(/^lnbc12340n1/);
    expect(encodeBolt11({ ...fields, amountMsat: 100_000_000_000n })).toMatch(/^lnbc11/); // 1 BTC, no multiplier
    expect(encodeBolt11({ ...fields, amountMsat: 1n })).toMatch(/^lnbc10p1/);
    const { amountMsat: _, ...amountless } = fields;
    expect(encodeBolt11(amountless)).toMatch(/^lnbc1p/);
    expect(decodeBolt11(encodeBolt11(amountless)).amountMsat).toBeUndefined();
    expect(encodeBolt11({ ...fields, network: 'bcrt' })).toMatch(/^lnbcrt12340n1/);
    const inv = decodeBolt11(encodeBolt11({ ...fields, expirySeconds: 600, minFinalCltvExpiry: 40 }));
    expect(inv).toEqual({
      network: 'bc',
      amountMsat: 1_234_000n,
      timestamp: 1_700_000_000,
      paymentHash: bytesToHex(key(1)),
      paymentSecret: bytesToHex(key(2)),
      description: 'lancash test',
      expirySeconds: 600,
      minFinalCltvExpiry: 40,
      payee: bytesToHex(secp256k1.getPublicKey(key(3))),
    });
  });

  it('refuses a description longer than a field holds, and a zero amount', () => {
    expect(() => encodeBolt11({ ...fields, description: 'é'.repeat(320) })).toThrow(/description/);
    expect(() => encodeBolt11({ ...fields, amountMsat: 0n })).toThrow(/positive/);
  });

  it('round-trips any amount, description, expiry and key (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 60n }),
        fc.string({ unit: 'grapheme', maxLength: 100 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 2 ** 34 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (amountMsat, description, expirySeconds, timestamp, hash) => {
          const inv = decodeBolt11(
            encodeBolt11({ ...fields, amountMsat, description, expirySeconds, timestamp, paymentHash: hash }),
          );
          expect(inv).toMatchObject({ amountMsat, description, expirySeconds, timestamp });
          expect(inv.paymentHash).toBe(bytesToHex(hash));
          expect(inv.payee).toBe(bytesToHex(secp256k1.getPublicKey(key(3))));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is read the same by independent decoders, with a signature by the node key', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 50n }),
        fc.string({ maxLength: 60 }),
        (amountMsat, description) => {
          const request = encodeBolt11({ ...fields, amountMsat, description });
          const got = Object.fromEntries(
            independentDecode(request).sections.map((s) => [s.name, 'value' in s ? s.value : s.letters]),
          );
          expect(got.amount).toBe(String(amountMsat));
          expect(got.timestamp).toBe(fields.timestamp);
          expect(got.payment_hash).toBe(bytesToHex(fields.paymentHash));
          expect(got.payment_secret).toBe(bytesToHex(fields.paymentSecret));
          expect(got.description).toBe(description);
          expect(got.expiry).toBe(3600);
          expect(got.min_final_cltv_expiry).toBe(18);
          expect(got.feature_bits).toMatchObject({ var_onion_optin: 'required', payment_secret: 'required' });
          expect(bolt11AmountMsat(request)).toBe(amountMsat);
          // Recompute the signed data from the letters the independent decoder reports.
          const separator = request.lastIndexOf('1');
          const dataWords = bech32.decode(request as `${string}1${string}`, false).words.slice(0, -104);
          const signed = concatBytes(
            utf8(request.slice(0, separator)),
            bitsToBytes(dataWords.map((w) => w.toString(2).padStart(5, '0')).join('')),
          );
          const sig = Buffer.from(String(got.signature), 'hex'); // r ‖ s ‖ recovery id
          const recovered = concatBytes(sig.subarray(64), sig.subarray(0, 64));
          const payee = secp256k1.recoverPublicKey(recovered, sha256(signed), { prehash: false });
          expect(bytesToHex(payee)).toBe(bytesToHex(secp256k1.getPublicKey(key(3))));
        },
      ),
      { numRuns: 40 },
    );
  });
});
