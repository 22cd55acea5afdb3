/** Terminal addresses: round trips of both versions, typo detection, case, network, lock key and inbox URL checks. */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32, bech32m } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../errors.js';
import {
  type Address,
  type AddressProblem,
  decodeAddress,
  encodeAddress,
  MAX_ADDRESS_CHARS,
} from './index.js';

const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
/** A valid compressed secp256k1 public key (the lock key of a version-1 address). */
const lock = secp256k1.getPublicKey(
  Uint8Array.from({ length: 32 }, (_, i) => i + 1),
  true,
);

/** The `reason` of the AddressInvalid that `f` throws; fails on success or any other exception. */
function problem(f: () => unknown): AddressProblem {
  try {
    f();
  } catch (e) {
    if (isLancashError(e, 'AddressInvalid')) return e.info.reason as AddressProblem;
    throw new Error(`unexpected exception: ${String(e)}`);
  }
  throw new Error('expected AddressInvalid, got an address');
}

/** An address string with arbitrary content, checksummed correctly, for the checks after the checksum. */
function raw(hrp: string, bytes: number[] | Uint8Array): string {
  return bech32m.encode(hrp, bech32m.toWords(Uint8Array.from(bytes)), false);
}

describe('addresses', () => {
  it('round-trips any network, key and inbox', () => {
    const inbox = fc
      .webUrl({ withQueryParameters: true, withFragments: true })
      .filter((u) => new TextEncoder().encode(u).length <= 512 && !/\s/.test(u));
    const arb = fc.record(
      {
        network: fc.constantFrom<Address['network']>('lan', 'wan'),
        publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        lockKey: fc
          .uint8Array({ minLength: 32, maxLength: 32 })
          .filter((k) => secp256k1.utils.isValidSecretKey(k))
          .map((k) => secp256k1.getPublicKey(k, true)),
        inbox,
      },
      { requiredKeys: ['network', 'publicKey'] },
    );
    fc.assert(
      fc.property(arb, (a) => {
        const s = encodeAddress(a);
        expect(s.startsWith(`${a.network}1`)).toBe(true);
        expect(s.length).toBeLessThanOrEqual(MAX_ADDRESS_CHARS);
        expect(decodeAddress(s, a.network)).toEqual(a);
        // Version 1 exactly when a lock key is carried.
        expect(bech32m.fromWords(bech32m.decode(s as `${string}1${string}`, false).words)[0]).toBe(
          a.lockKey === undefined ? 0 : 1,
        );
      }),
    );
  });

  it('reads version 0 (no lock key) and version 1 (a lock key), with and without an inbox', () => {
    const url = 'https://x.example/in';
    const v0 = raw('wan', [0, ...key]);
    expect(decodeAddress(v0)).toEqual({ network: 'wan', publicKey: key });
    expect(decodeAddress(raw('wan', [0, ...key, ...new TextEncoder().encode(url)]))).toEqual({
      network: 'wan',
      publicKey: key,
      inbox: url,
    });
    const v1 = raw('lan', [1, ...key, ...lock]);
    expect(decodeAddress(v1)).toEqual({ network: 'lan', publicKey: key, lockKey: lock });
    expect(decodeAddress(raw('lan', [1, ...key, ...lock, ...new TextEncoder().encode(url)]))).toEqual({
      network: 'lan',
      publicKey: key,
      lockKey: lock,
      inbox: url,
    });
    expect(encodeAddress({ network: 'lan', publicKey: key, lockKey: lock })).toBe(v1);
    expect(encodeAddress({ network: 'wan', publicKey: key })).toBe(v0);
  });

  it('refuses a version-1 lock key that is short, not compressed or not on the curve', () => {
    expect(problem(() => decodeAddress(raw('lan', [1, ...key, ...lock.subarray(1)])))).toBe('length');
    expect(problem(() => decodeAddress(raw('lan', [1, ...key])))).toBe('length');
    const uncompressed = [4, ...lock.subarray(1)];
    expect(problem(() => decodeAddress(raw('lan', [1, ...key, ...uncompressed])))).toBe('key');
    // x = 5 is not the x of any secp256k1 point (5³ + 7 = 132 is no square mod p).
    const offCurve = [2, ...new Uint8Array(31), 5];
    expect(problem(() => decodeAddress(raw('lan', [1, ...key, ...offCurve])))).toBe('key');
    const zero = [2, ...new Uint8Array(32)];
    expect(problem(() => decodeAddress(raw('lan', [1, ...key, ...zero])))).toBe('key');
    // A version-0 key followed by 33 bytes is an inbox that is not a URL, never a lock key.
    expect(problem(() => decodeAddress(raw('lan', [0, ...key, ...lock])))).toBe('url');
  });

  it('takes the longest inbox with a lock key (the longest address) and an all-uppercase string', () => {
    const inbox = `https://inbox.example/${'a'.repeat(512 - 'https://inbox.example/'.length)}`;
    const s = encodeAddress({ network: 'wan', publicKey: key, lockKey: lock, inbox });
    expect(s.length).toBe(MAX_ADDRESS_CHARS);
    expect(decodeAddress(s)).toEqual({ network: 'wan', publicKey: key, lockKey: lock, inbox });
    expect(decodeAddress(s.toUpperCase())).toEqual({ network: 'wan', publicKey: key, lockKey: lock, inbox });
    const v0 = encodeAddress({ network: 'wan', publicKey: key, inbox });
    expect(decodeAddress(v0)).toEqual({ network: 'wan', publicKey: key, inbox });
  });

  it('catches every single-character change', () => {
    const s = encodeAddress({ network: 'lan', publicKey: key, inbox: 'http://10.0.0.7:8080/inbox' });
    const alphabet = 'qpzry9x8gf2tvdw0s3jn54khce6mua7lbio1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L-_. ';
    let tried = 0;
    for (let i = 0; i < s.length; i++) {
      for (const c of alphabet) {
        if (c === s[i]) continue;
        problem(() => decodeAddress(s.slice(0, i) + c + s.slice(i + 1)));
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(s.length * 60);
  });

  it('refuses mixed case', () => {
    const s = encodeAddress({ network: 'lan', publicKey: key });
    expect(problem(() => decodeAddress(`L${s.slice(1)}`))).toBe('case');
    const at = s.search(/[a-z][^a-z]*$/); // the last letter
    expect(problem(() => decodeAddress(s.slice(0, at) + s.charAt(at).toUpperCase() + s.slice(at + 1)))).toBe(
      'case',
    );
  });

  it('gives every caller its own copy of a decoded address', () => {
    const s = encodeAddress({ network: 'lan', publicKey: key, lockKey: lock, inbox: 'http://10.0.0.2/in' });
    const first = decodeAddress(s);
    first.publicKey.fill(0);
    first.lockKey?.fill(0);
    expect(decodeAddress(s)).toEqual({
      network: 'lan',
      publicKey: key,
      lockKey: lock,
      inbox: 'http://10.0.0.2/in',
    });
  });

  it('refuses the other network when one is expected', () => {
    const s = encodeAddress({ network: 'wan', publicKey: key });
    expect(decodeAddress(s).network).toBe('wan');
    expect(decodeAddress(s, 'wan').network).toBe('wan');
    expect(problem(() => decodeAddress(s, 'lan'))).toBe('network');
  });

  it('names the problem: prefix, checksum, version, length, url', () => {
    const body = [0, ...key];
    const url = [...new TextEncoder().encode('https://x.example/in')];
    expect(problem(() => decodeAddress(raw('btc', body)))).toBe('prefix');
    expect(problem(() => decodeAddress('lanqqqq'))).toBe('prefix');
    expect(problem(() => decodeAddress(42))).toBe('prefix');
    expect(problem(() => decodeAddress(bech32.encode('lan', bech32.toWords(Uint8Array.from(body)))))).toBe(
      'checksum',
    );
    expect(problem(() => decodeAddress(raw('lan', [2, ...key, ...lock])))).toBe('version');
    expect(problem(() => decodeAddress(raw('lan', [255, ...key])))).toBe('version');
    expect(problem(() => decodeAddress(raw('lan', [])))).toBe('version');
    expect(problem(() => decodeAddress(raw('lan', [0, ...key.subarray(1)])))).toBe('length');
    expect(problem(() => decodeAddress('x'.repeat(MAX_ADDRESS_CHARS + 1)))).toBe('length');
    expect(decodeAddress(raw('lan', [...body, ...url])).inbox).toBe('https://x.example/in');
    const badUrls = [
      'ftp://x.example/in',
      'not a url',
      'javascript:alert(1)',
      ' https://x.example',
      'https://x.example/\n',
    ];
    for (const u of badUrls) {
      expect(problem(() => decodeAddress(raw('lan', [...body, ...new TextEncoder().encode(u)])))).toBe('url');
    }
    expect(problem(() => decodeAddress(raw('lan', [...body, 0xff, 0xfe])))).toBe('url');
    // An inbox over 512 bytes makes the string longer than any valid address.
    expect(
      problem(() => decodeAddress(raw('lan', [1, ...key, ...lock, ...url, ...new Array(500).fill(0x61)]))),
    ).toBe('length');
    // Without a lock key, an inbox over 512 bytes still fits the length bound and is refused as a URL.
    expect(problem(() => decodeAddress(raw('lan', [...body, ...url, ...new Array(500).fill(0x61)])))).toBe(
      'url',
    );
  });

  it('refuses to encode a bad key, network or inbox', () => {
    const bad: Address[] = [
      { network: 'lan', publicKey: key.subarray(1) },
      { network: 'lan' as 'wan', publicKey: 'ab' as unknown as Uint8Array },
      { network: 'btc' as 'lan', publicKey: key },
      { network: 'lan', publicKey: key, inbox: '' },
      { network: 'lan', publicKey: key, inbox: 'ftp://x' },
      { network: 'lan', publicKey: key, inbox: `https://x/${'é'.repeat(300)}` },
      { network: 'lan', publicKey: key, lockKey: lock.subarray(1) },
      { network: 'lan', publicKey: key, lockKey: Uint8Array.from([4, ...lock.subarray(1)]) },
      { network: 'lan', publicKey: key, lockKey: Uint8Array.from([2, ...new Uint8Array(31), 5]) },
    ];
    for (const a of bad)
      expect(() => encodeAddress(a)).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
  });
});
