/**
 * NUT-20 signed mint quotes: the spec's vectors (`../shared/vectors/nut20.json`, the earlier message
 * form) and the current `Cashu_MintQuoteSig_v1` vector and key derivation of cashubtc/nuts
 * tests/20-test.md, plus sign/verify round trips and refusals of malformed input.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { mnemonicToSeedSync } from '@scure/bip39';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import type { Curve } from './curve.js';
import { loadNativeCurve } from './native.js';
import { nobleCurve } from './noble.js';
import {
  isMintQuotePubkey,
  legacyMintQuoteMessage,
  mintQuoteKey,
  mintQuoteMessage,
  mintQuotePubkey,
  signMintQuote,
  verifyMintQuote,
} from './nut20.js';

interface MintRequestCase {
  description: string;
  pubkey: string;
  expected_valid: boolean;
  request: { quote: string; outputs: { amount: number; id: string; B_: string }[]; signature: string };
  msg_to_sign_bytes?: number[];
}

function load(): MintRequestCase[] {
  const path = resolve(process.cwd(), '../shared/vectors/nut20.json');
  const cases = (JSON.parse(readFileSync(path, 'utf8')) as { cases: { mint_requests: MintRequestCase[] } })
    .cases.mint_requests;
  if (cases.length === 0) throw new TypeError('nut20.json: no mint_requests');
  return cases;
}

// cashubtc/nuts tests/20-test.md (commit 153352e): the current message form, secret key 0x01.
const V1 = {
  pubkey: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
  quote: '0192d3c0-7e8a-7c3d-8e9f-1a2b3c4d5e6f',
  outputs: [
    { amount: 1, B_: '036d6caac248af96f6afa7f904f550253a0f3ef3f5aa2fe6838a95b216691468e2' },
    { amount: 1, B_: '021f8a566c205633d029094747d2e18f44e05993dda7a5f88f496078205f656e59' },
  ],
  signature:
    '4881093a332ff7c79f3e598ce5b249d64978b47165a0b19c18adf0ced0246228e61e702f0abaf1bf27b92be4336bdbabacfbe4c914076386b3c66fdcd0b3480e',
  message:
    '43617368755f4d696e7451756f74655369675f76310000002430313932643363302d376538612d376333642d386539662d316132623363346435653666000000010100000021036d6caac248af96f6afa7f904f550253a0f3ef3f5aa2fe6838a95b216691468e2000000010100000021021f8a566c205633d029094747d2e18f44e05993dda7a5f88f496078205f656e59',
  digest: 'c164fd384879f74ab6ea2e7cf13d90ed42e6df9d5de607eeb5c9cc7d36fb1c21',
};

const DERIVATION = {
  mnemonic: 'half depart obvious quality work element tank gorilla view sugar picture humble',
  pubkeys: [
    '03062837166e56114b59a4d1fd3a5a812bf7aadc1dde758428cf943d80acd41539',
    '02b47d9d41725f5ce6f08c874835cef25376cb1e95f6cb073fef52ca8fd986cf15',
    '029acbd3a46fd75bc05ba0226d0b4d909b2fb6e96c80544a094a1a3567737e44d3',
    '0373e4a42fbe0a4e18aadb57cf500b655f2446b4071ee579121d2ed8905bcc49c2',
    '02b8709bfce17c10f1864f5218844533ae60930d52089669b317d8b5f474eec071',
  ],
};

/** The verifiers: noble's own BIP-340, and `bip340.ts` on each curve backend (native when it loads). */
const native = loadNativeCurve();
const VERIFIERS: [string, Curve | undefined][] = [
  ['noble schnorr', undefined],
  ['noble curve', nobleCurve],
  ...(native ? [['native curve', native] as [string, Curve]] : []),
];

describe.each(VERIFIERS)('NUT-20 verification with %s', (_name, curve) => {
  for (const c of load()) {
    it(`earlier message form: ${c.description}`, () => {
      const { quote, outputs, signature } = c.request;
      expect(verifyMintQuote(c.pubkey, quote, outputs, signature, curve)).toBe(c.expected_valid);
    });
  }

  it('current message form (Cashu_MintQuoteSig_v1)', () => {
    expect(verifyMintQuote(V1.pubkey, V1.quote, V1.outputs, V1.signature, curve)).toBe(true);
    expect(verifyMintQuote(V1.pubkey, `${V1.quote}x`, V1.outputs, V1.signature, curve)).toBe(false);
  });

  it('a signature verifies for its quote and outputs only; malformed input answers false', () => {
    const key = mintQuoteKey(mnemonicToSeedSync(DERIVATION.mnemonic), 3);
    const pubkey = mintQuotePubkey(key);
    const sig = signMintQuote(key, 'q1', V1.outputs);
    expect(verifyMintQuote(pubkey, 'q1', V1.outputs, sig, curve)).toBe(true);
    expect(verifyMintQuote(pubkey, 'q1', [V1.outputs[1]!, V1.outputs[0]!], sig, curve)).toBe(false);
    expect(verifyMintQuote(pubkey, 'q1', V1.outputs, 'ff'.repeat(64), curve)).toBe(false);
    expect(verifyMintQuote(`02${'0'.repeat(63)}5`, 'q1', V1.outputs, sig, curve)).toBe(false);
    expect(verifyMintQuote(pubkey, 'q1', V1.outputs, 'zz', curve)).toBe(false);
  });
});

describe('NUT-20 vectors', () => {
  for (const c of load()) {
    it(`earlier message form: ${c.description}`, () => {
      const { quote, outputs, signature } = c.request;
      if (c.msg_to_sign_bytes) {
        expect([...legacyMintQuoteMessage(quote, outputs)]).toEqual(c.msg_to_sign_bytes);
      }
      expect(verifyMintQuote(c.pubkey, quote, outputs, signature)).toBe(c.expected_valid);
    });
  }

  it('current message form (Cashu_MintQuoteSig_v1): message, digest and signature', () => {
    const msg = mintQuoteMessage(V1.quote, V1.outputs);
    expect(bytesToHex(msg)).toBe(V1.message);
    expect(bytesToHex(sha256(msg))).toBe(V1.digest);
    expect(verifyMintQuote(V1.pubkey, V1.quote, V1.outputs, V1.signature)).toBe(true);
    const key = new Uint8Array(32);
    key[31] = 1;
    expect(mintQuotePubkey(key)).toBe(V1.pubkey);
  });

  it("derives the quote keys m/129373'/20'/0'/0'/{counter} from a seed", () => {
    const seed = mnemonicToSeedSync(DERIVATION.mnemonic);
    const got = DERIVATION.pubkeys.map((_, i) => mintQuotePubkey(mintQuoteKey(seed, i)));
    expect(got).toEqual(DERIVATION.pubkeys);
  });
});

describe('NUT-20 sign and verify', () => {
  const seed = mnemonicToSeedSync(DERIVATION.mnemonic);
  const key = mintQuoteKey(seed, 7);
  const pubkey = mintQuotePubkey(key);
  const outputs = [
    { amount: 256, B_: V1.outputs[0]!.B_ },
    { amount: 0, B_: V1.outputs[1]!.B_ },
  ];

  it('a signature verifies for its quote and outputs only', () => {
    const sig = signMintQuote(key, 'q1', outputs);
    expect(verifyMintQuote(pubkey, 'q1', outputs, sig)).toBe(true);
    expect(verifyMintQuote(pubkey, 'q2', outputs, sig)).toBe(false);
    expect(verifyMintQuote(pubkey, 'q1', [outputs[1]!, outputs[0]!], sig)).toBe(false);
    expect(verifyMintQuote(pubkey, 'q1', [{ ...outputs[0]!, amount: 512 }, outputs[1]!], sig)).toBe(false);
    expect(verifyMintQuote(mintQuotePubkey(mintQuoteKey(seed, 8)), 'q1', outputs, sig)).toBe(false);
  });

  it('amounts are minimal big-endian bytes (256 → 0x0100, 0 → empty)', () => {
    const msg = bytesToHex(mintQuoteMessage('q', outputs));
    expect(msg).toContain(`000000020100000000210${outputs[0]!.B_.slice(1)}`);
    expect(msg).toContain(`0000000000000021${outputs[1]!.B_}`);
  });

  it('malformed signatures, keys and points answer false, never throw', () => {
    const sig = signMintQuote(key, 'q1', outputs);
    expect(verifyMintQuote(pubkey, 'q1', outputs, 'zz')).toBe(false);
    expect(verifyMintQuote(pubkey, 'q1', outputs, sig.slice(2))).toBe(false);
    expect(verifyMintQuote(pubkey, 'q1', outputs, 'ff'.repeat(64))).toBe(false);
    expect(verifyMintQuote('02'.padEnd(66, 'f'), 'q1', outputs, sig)).toBe(false);
    expect(verifyMintQuote('nothex', 'q1', outputs, sig)).toBe(false);
    expect(verifyMintQuote(pubkey, 'q1', [{ amount: 1, B_: 'xyz' }], sig)).toBe(false);
  });
});

describe('NUT-20 quote pubkeys', () => {
  it('accepts compressed points only', () => {
    expect(isMintQuotePubkey(V1.pubkey)).toBe(true);
    expect(isMintQuotePubkey(V1.pubkey.toUpperCase())).toBe(true);
    expect(isMintQuotePubkey(`04${V1.pubkey.slice(2)}`)).toBe(false);
    // x = 5 is not on secp256k1.
    expect(isMintQuotePubkey(`02${'0'.repeat(63)}5`)).toBe(false);
    expect(isMintQuotePubkey(V1.pubkey.slice(0, 64))).toBe(false);
    expect(isMintQuotePubkey('')).toBe(false);
  });
});
