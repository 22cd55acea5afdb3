/**
 * The two Ed25519 backends of the bank's receipts side by side: both reproduce RFC 8032 §7.1, sign the
 * same bytes and verify each other's signatures on random keys and messages, refuse any change, refuse
 * a malleated S (S + L, RFC 8032 §5.1.7) and unusable keys without throwing; the native one does not
 * keep signing with an old key when the caller's array now holds another.
 */
import * as nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hex } from '../bytes.js';
import { isLancashError } from '../errors.js';
import { buildNativeEd25519, type Ed25519BackendName, ed25519Backend } from './ed25519.js';

const NAMES: Ed25519BackendName[] = ['portable', 'native'];

/** RFC 8032 §7.1 TEST 1–3: secret key, public key, message, signature. */
const RFC8032 = [
  [
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ],
  [
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ],
  [
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  ],
] as const;

/** RFC 8032 §5.1: the group order L. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** The signature with S replaced by S + L (S is little-endian in the last 32 bytes). */
function malleated(sig: Uint8Array): Uint8Array {
  const S = BigInt(`0x${bytesToHex(sig.slice(32).reverse())}`) + L;
  const out = sig.slice();
  out.set(hex(S.toString(16).padStart(64, '0'), 'S', 32).reverse(), 32);
  return out;
}

const publicKeyOf = (sk: Uint8Array): Uint8Array => {
  const jwk = nodeCrypto
    .createPublicKey(
      nodeCrypto.createPrivateKey({
        key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(sk).toString('base64url'), x: '' },
        format: 'jwk',
      }),
    )
    .export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
};

it('loads the native backend (node:crypto has Ed25519)', () => {
  expect(ed25519Backend('native').name).toBe('native');
  expect(ed25519Backend().name).toBe('native');
});

describe.each(NAMES)('%s Ed25519', (name) => {
  const b = ed25519Backend(name);

  it('reproduces RFC 8032 §7.1 TEST 1–3', () => {
    for (const [sk, pk, msg, sig] of RFC8032) {
      const message = msg === '' ? new Uint8Array(0) : hex(msg, 'msg');
      expect(bytesToHex(b.sign(message, hex(sk, 'sk', 32)))).toBe(sig);
      expect(b.verify(hex(sig, 'sig', 64), message, hex(pk, 'pk', 32))).toBe(true);
      expect(b.verify(hex(sig, 'sig', 64), new Uint8Array([1, ...message]), hex(pk, 'pk', 32))).toBe(false);
    }
  });

  it('refuses a malleated S (S + L) and unusable keys, without throwing', () => {
    const [sk, pk, msg, sig] = RFC8032[1];
    expect(b.verify(malleated(hex(sig, 'sig', 64)), hex(msg, 'msg'), hex(pk, 'pk', 32))).toBe(false);
    expect(b.verify(hex(sig, 'sig', 64), hex(msg, 'msg'), new Uint8Array(31))).toBe(false);
    expect(b.verify(hex(sig, 'sig', 64).slice(1), hex(msg, 'msg'), hex(pk, 'pk', 32))).toBe(false);
    // 2^255 − 1 as y is not a canonical field element (RFC 8032 §5.1.3).
    expect(b.verify(hex(sig, 'sig', 64), hex(msg, 'msg'), new Uint8Array(32).fill(0xff))).toBe(false);
    expect(bytesToHex(b.sign(hex(msg, 'msg'), hex(sk, 'sk', 32)))).toBe(sig);
  });
});

describe('the backends agree', () => {
  const portable = ed25519Backend('portable');
  const native = ed25519Backend('native');

  it('on random keys and messages: same signature, each verifies the other, a flipped bit fails both', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(),
        (sk, message, flip) => {
          const pk = publicKeyOf(sk);
          const sig = native.sign(message, sk);
          expect(bytesToHex(portable.sign(message, sk))).toBe(bytesToHex(sig));
          expect(native.verify(sig, message, pk) && portable.verify(sig, message, pk)).toBe(true);
          const bad = sig.slice();
          bad[flip % 64]! ^= 1 << (flip % 8);
          expect(native.verify(bad, message, pk)).toBe(false);
          expect(portable.verify(bad, message, pk)).toBe(false);
          expect(native.verify(malleated(sig), message, pk)).toBe(false);
          expect(portable.verify(malleated(sig), message, pk)).toBe(false);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('on random 32-byte strings as public keys (about half are not points): the same answer', () => {
    const [, , msg, sig] = RFC8032[2];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (pk) => {
        const s = hex(sig, 'sig', 64);
        expect(native.verify(s, hex(msg, 'msg'), pk)).toBe(portable.verify(s, hex(msg, 'msg'), pk));
      }),
      { numRuns: 200 },
    );
  });
});

describe('native backend', () => {
  it('signs with the key the array holds now, not the one it held before', () => {
    const b = buildNativeEd25519(nodeCrypto);
    const sk = hex(RFC8032[0][0], 'sk', 32);
    const first = bytesToHex(b.sign(new Uint8Array(0), sk));
    sk.set(hex(RFC8032[1][0], 'sk', 32));
    expect(first).toBe(RFC8032[0][3]);
    expect(bytesToHex(b.sign(hex('72', 'msg'), sk))).toBe(RFC8032[1][3]);
  });

  it('refuses a secret key of the wrong length with a typed error', () => {
    const b = buildNativeEd25519(nodeCrypto);
    try {
      b.sign(new Uint8Array(0), new Uint8Array(31));
      expect.unreachable();
    } catch (e) {
      expect(isLancashError(e, 'InvalidInput')).toBe(true);
    }
  });

  it('names the backends there are', () => {
    expect(() => ed25519Backend('wasm' as Ed25519BackendName)).toThrow(/no Ed25519 backend "wasm"/);
  });
});
