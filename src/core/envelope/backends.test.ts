/**
 * The two HPKE backends side by side: what one seals the other opens, and refuses once tampered with,
 * on random payloads; both reproduce RFC 9180 Appendix A.2.3 step by step (AuthDecap, KeySchedule) and
 * whole, and refuse low-order keys. `@hpke/core` (WebCrypto) is the independent reference: each backend
 * opens what it sealed and the other way round. The portable one runs with no `crypto.subtle` at all.
 */
import { execFile } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, type SenderContextParams } from '@hpke/core';
import { base64urlnopad } from '@scure/base';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bytesToHex, hex, utf8 } from '../bytes.js';
import { isLancashError } from '../errors.js';
import { hpkeBackend, loadNativeHpke } from './backend.js';
import type { HpkeBackend, HpkeBackendName } from './hpke.js';
import { type EncryptionKeyPair, envelopeSuite, keyPairFromPrivate } from './index.js';
import { publicKeyOf } from './keys.js';
import { buildNativeHpke } from './native.js';
import { portableHpke } from './portable.js';
import type { SuiteHpke } from './rfc9180.js';

const native = loadNativeHpke();
it('loads the native backend (node:crypto with X25519 and ChaCha20-Poly1305)', () => {
  expect(native, 'node:crypto must provide the native HPKE backend for these tests').toBeDefined();
});
const BACKENDS: HpkeBackendName[] = ['portable', 'native'];
const STEPWISE: Record<HpkeBackendName, SuiteHpke> = {
  portable: portableHpke(),
  native: buildNativeHpke(nodeCrypto),
};

/** RFC 9180 SealAuth/OpenAuth by `@hpke/core` (WebCrypto), the reference the backends are held to. */
function referenceHpke(): Pick<HpkeBackend, 'sealAuth' | 'openAuth'> {
  const suite = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Chacha20Poly1305(),
  });
  const pair = async (p: EncryptionKeyPair) => ({
    privateKey: await suite.kem.deserializePrivateKey(p.privateKey),
    publicKey: await suite.kem.deserializePublicKey(p.publicKey),
  });
  return {
    async sealAuth({ pkR, sender, info, aad, pt, ikmE }) {
      const recipientPublicKey = await suite.kem.deserializePublicKey(pkR);
      const params: SenderContextParams = { recipientPublicKey, senderKey: await pair(sender), info };
      // `ekm` is @hpke/core's testing hook; it runs DeriveKeyPair (RFC 9180 §7.1.3) on the bytes.
      if (ikmE !== undefined) params.ekm = ikmE;
      const sealed = await suite.seal(params, pt, aad);
      return { enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) };
    },
    async openAuth({ enc, recipient, pkS, info, aad, ct }) {
      const recipientKey = await pair(recipient);
      const senderPublicKey = await suite.kem.deserializePublicKey(pkS);
      return new Uint8Array(await suite.open({ recipientKey, enc, senderPublicKey, info }, ct, aad));
    },
  };
}
const reference = referenceHpke();

/** The hex fields of `rfc9180-a23.json` this file uses. */
interface AuthVector {
  info: string;
  ikmE: string;
  pkRm: string;
  skRm: string;
  pkSm: string;
  skSm: string;
  enc: string;
  shared_secret: string;
  key: string;
  base_nonce: string;
  encryption: { pt: string; aad: string; nonce: string; ct: string };
}
const v = JSON.parse(readFileSync(new URL('./rfc9180-a23.json', import.meta.url), 'utf8')) as AuthVector;
const R: EncryptionKeyPair = { publicKey: hex(v.pkRm, 'pkRm', 32), privateKey: hex(v.skRm, 'skRm', 32) };
const S: EncryptionKeyPair = { publicKey: hex(v.pkSm, 'pkSm', 32), privateKey: hex(v.skSm, 'skSm', 32) };
const info = hex(v.info, 'info');
const { pt, aad } = { pt: hex(v.encryption.pt, 'pt'), aad: hex(v.encryption.aad, 'aad') };

// RFC 7748 / Curve25519 points of small order (u = 0, 1 and the two of order 8), each refused by §7.1.4.
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
].map((u) => hex(u, 'u', 32));

describe('RFC 9180 Appendix A.2.3 (auth mode, X25519, HKDF-SHA256, ChaCha20-Poly1305)', () => {
  it('has key pairs that belong together', () => {
    expect(bytesToHex(publicKeyOf(R.privateKey))).toBe(v.pkRm);
    expect(bytesToHex(publicKeyOf(S.privateKey))).toBe(v.pkSm);
  });

  it.each(BACKENDS)('%s: AuthDecap gives shared_secret, KeySchedule gives key and base_nonce', (name) => {
    const shared_secret = STEPWISE[name].authDecap(hex(v.enc, 'enc', 32), R, S.publicKey);
    expect(bytesToHex(shared_secret)).toBe(v.shared_secret);
    const { key, base_nonce } = STEPWISE[name].keySchedule(shared_secret, info);
    expect(bytesToHex(key)).toBe(v.key);
    expect(bytesToHex(base_nonce)).toBe(v.base_nonce);
    // RFC 9180 §5.2: sequence number 0 uses base_nonce itself.
    expect(v.encryption.nonce).toBe(v.base_nonce);
  });

  const named = [...BACKENDS.map((n) => [n, hpkeBackend(n)] as const), ['@hpke/core', reference] as const];
  it.each(named)(
    '%s: SealAuth from ikmE gives enc and the first ct; OpenAuth gives pt',
    async (_, backend) => {
      const sealed = await backend.sealAuth({
        pkR: R.publicKey,
        sender: S,
        info,
        aad,
        pt,
        ikmE: hex(v.ikmE, 'ikmE'),
      });
      expect(bytesToHex(sealed.enc)).toBe(v.enc);
      expect(bytesToHex(sealed.ct)).toBe(v.encryption.ct);
      const opened = await backend.openAuth({
        enc: sealed.enc,
        recipient: R,
        pkS: S.publicKey,
        info,
        aad,
        ct: sealed.ct,
      });
      expect(bytesToHex(opened)).toBe(v.encryption.pt);
    },
  );

  it.each(BACKENDS)('%s: refuses low-order keys as pkR, enc and pkS', async (name) => {
    const backend = hpkeBackend(name);
    const ct = hex(v.encryption.ct, 'ct');
    const enc = hex(v.enc, 'enc', 32);
    for (const u of LOW_ORDER) {
      await expect(backend.sealAuth({ pkR: u, sender: S, info, aad, pt })).rejects.toThrow();
      await expect(
        backend.openAuth({ enc: u, recipient: R, pkS: S.publicKey, info, aad, ct }),
      ).rejects.toThrow();
      await expect(backend.openAuth({ enc, recipient: R, pkS: u, info, aad, ct })).rejects.toThrow();
      // A refused static DH is not kept: the same key is refused again, sealing and opening.
      await expect(backend.sealAuth({ pkR: u, sender: S, info, aad, pt })).rejects.toThrow();
      await expect(backend.openAuth({ enc, recipient: R, pkS: u, info, aad, ct })).rejects.toThrow();
    }
  });
});

describe('native backend and Node 20 key generation', () => {
  it('seals fresh ephemeral keys without node:crypto key generation (it can deadlock under GC)', async () => {
    // A keygen job collected while a JWK export of its key holds the key's mutex hangs the process.
    const called: string[] = [];
    const guarded = new Proxy(nodeCrypto, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && /^generateKey/.test(prop)) called.push(prop);
        return Reflect.get(target, prop, receiver);
      },
    });
    const native = buildNativeHpke(guarded);
    const [a, b] = await Promise.all([
      keyPairFromPrivate(new Uint8Array(32).fill(0x33)),
      keyPairFromPrivate(new Uint8Array(32).fill(0x44)),
    ]);
    const args = { pkR: b.publicKey, sender: a, info: utf8('i'), aad: utf8('a'), pt: utf8('pt') };
    const one = await native.sealAuth(args);
    const two = await native.sealAuth(args);
    expect(bytesToHex(one.enc)).not.toBe(bytesToHex(two.enc));
    for (const sealed of [one, two]) {
      const opened = await hpkeBackend('portable').openAuth({
        ...sealed,
        recipient: b,
        pkS: a.publicKey,
        info: args.info,
        aad: args.aad,
      });
      expect(opened).toEqual(args.pt);
    }
    expect(called).toEqual([]);
  });

  it('keeps sealing under heavy GC (the keygen pattern hangs within a few thousand seals)', async () => {
    // A tiny young generation collects during nearly every export, where the deadlock struck.
    const native = new URL('./backend.ts', import.meta.url).href;
    const script = `
      const { loadNativeHpke } = await import(${JSON.stringify(native)});
      const hpke = loadNativeHpke();
      const sk = new Uint8Array(32).fill(7);
      const { keyPairFromPrivate } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
      const a = await keyPairFromPrivate(sk);
      const e = new Uint8Array(0);
      let garbage = [];
      for (let i = 0; i < 5000; i++) {
        await hpke.sealAuth({ pkR: a.publicKey, sender: a, info: e, aad: e, pt: e });
        garbage.push({ i, s: 'x'.repeat(50) });
        if (garbage.length > 1000) garbage = [];
      }
      console.log('sealed', hpke.name);
    `;
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 40_000 },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : ((error.code as number) ?? null), stdout, stderr }),
      );
    });
    expect(out.stderr).toBe('');
    expect(out).toMatchObject({ code: 0, stdout: 'sealed native\n' });
  }, 60_000);
});

describe('native backend: imported public keys', () => {
  /**
   * A native backend on node:crypto that counts the JWK imports of each public key, by its `x`, and
   * the X25519 operations.
   */
  function counting(cacheSize?: number) {
    const imports = new Map<string, number>();
    let dhs = 0;
    const counted = new Proxy(nodeCrypto, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'diffieHellman') {
          return (arg: Parameters<typeof nodeCrypto.diffieHellman>[0]) => {
            dhs++;
            return nodeCrypto.diffieHellman(arg);
          };
        }
        if (prop !== 'createPublicKey') return value;
        return (arg: Parameters<typeof nodeCrypto.createPublicKey>[0]) => {
          const key =
            typeof arg === 'object' && 'format' in arg && arg.format === 'jwk' ? arg.key : undefined;
          const x = typeof key === 'object' && !Buffer.isBuffer(key) ? key.x : undefined;
          if (x !== undefined) imports.set(x, (imports.get(x) ?? 0) + 1);
          return nodeCrypto.createPublicKey(arg);
        };
      },
    });
    const x = (pk: Uint8Array) => Buffer.from(pk).toString('base64url');
    return {
      hpke: buildNativeHpke(counted, cacheSize),
      imported: (pk: Uint8Array) => imports.get(x(pk)) ?? 0,
      dhs: () => dhs,
    };
  }
  const pairs = async () => {
    const [s, a, b, c] = await Promise.all(
      [0x51, 0x52, 0x53, 0x54].map((b) => keyPairFromPrivate(new Uint8Array(32).fill(b))),
    );
    if (s === undefined || a === undefined || b === undefined || c === undefined) throw new Error('pairs');
    return [s, a, b, c] as const;
  };
  const e = utf8('');

  it('imports a recurring recipient and sender once, every enc afresh, and still opens', async () => {
    const [s, r] = await pairs();
    const { hpke, imported } = counting();
    const sealed = [];
    for (let i = 0; i < 3; i++)
      sealed.push(await hpke.sealAuth({ pkR: r.publicKey, sender: s, info: e, aad: e, pt: utf8(`m${i}`) }));
    expect(imported(r.publicKey)).toBe(1);
    for (const [i, { enc, ct }] of sealed.entries()) {
      expect(await hpke.openAuth({ enc, recipient: r, pkS: s.publicKey, info: e, aad: e, ct })).toEqual(
        utf8(`m${i}`),
      );
      expect(imported(enc)).toBe(1); // fresh each seal, never cached
    }
    expect(imported(s.publicKey)).toBe(1);
    expect(new Set(sealed.map((x) => bytesToHex(x.enc))).size).toBe(3);
  });

  it('keeps at most its bound of keys, evicting the least recently used', async () => {
    const [s, a, b, c] = await pairs();
    const { hpke, imported } = counting(2);
    const seal = (r: EncryptionKeyPair) =>
      hpke.sealAuth({ pkR: r.publicKey, sender: s, info: e, aad: e, pt: e });
    const steps: [EncryptionKeyPair, number][] = [
      [a, 1],
      [b, 1],
      [a, 1], // a hit, now the most recently used
      [c, 1], // evicts b, not a
      [a, 1],
      [b, 2],
    ];
    for (const [r, expected] of steps) {
      await seal(r);
      expect(imported(r.publicKey)).toBe(expected);
    }
    expect(imported(c.publicKey)).toBe(1);
  });

  it("computes a pair's static DH with a recurring peer once, sealing and opening", async () => {
    const [s, r] = await pairs();
    const { hpke, dhs } = counting();
    const sealed = [];
    for (let i = 0; i < 3; i++)
      sealed.push(await hpke.sealAuth({ pkR: r.publicKey, sender: s, info: e, aad: e, pt: utf8(`m${i}`) }));
    expect(dhs()).toBe(3 + 1); // DH(skE, pkR) each seal, DH(skS, pkR) once
    for (const [i, { enc, ct }] of sealed.entries()) {
      expect(await hpke.openAuth({ enc, recipient: r, pkS: s.publicKey, info: e, aad: e, ct })).toEqual(
        utf8(`m${i}`),
      );
    }
    expect(dhs()).toBe(4 + 3 + 1); // DH(skR, enc) each open, DH(skR, pkS) once
    // Another sender to the same recipient is another static DH, and still authenticates as itself.
    const [, , other] = await pairs();
    const { enc, ct } = await hpke.sealAuth({ pkR: r.publicKey, sender: other, info: e, aad: e, pt: e });
    await expect(
      hpke.openAuth({ enc, recipient: r, pkS: s.publicKey, info: e, aad: e, ct }),
    ).rejects.toThrow();
    expect(await hpke.openAuth({ enc, recipient: r, pkS: other.publicKey, info: e, aad: e, ct })).toEqual(e);
  });

  it('keeps at most its bound of static DH outputs per pair, evicting the least recently used', async () => {
    const [s, a, b, c] = await pairs();
    const { hpke, dhs } = counting(2);
    const steps: [EncryptionKeyPair, number][] = [
      [a, 2],
      [b, 2],
      [a, 1], // a hit, now the most recently used
      [c, 2], // evicts b, not a
      [a, 1],
      [b, 2],
    ];
    for (const [r, expected] of steps) {
      const before = dhs();
      await hpke.sealAuth({ pkR: r.publicKey, sender: s, info: e, aad: e, pt: e });
      expect(dhs() - before).toBe(expected);
    }
  });
});

describe('interop', () => {
  const alice = keyPairFromPrivate(new Uint8Array(32).fill(0x11));
  const bob = keyPairFromPrivate(new Uint8Array(32).fill(0x22));
  const directions = [
    [envelopeSuite('native'), envelopeSuite('portable')],
    [envelopeSuite('portable'), envelopeSuite('native')],
  ] as const;

  it('each backend opens what the other sealed, and refuses it with any bit of ct or enc flipped', async () => {
    const [a, b] = await Promise.all([alice, bob]);
    const ids = fc.string({ minLength: 1, maxLength: 32, unit: fc.constantFrom(...'abcXYZ019_-') });
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        ids,
        fc.nat(),
        fc.boolean(),
        async (p, transferId, bit, inEnc) => {
          for (const [from, to] of directions) {
            const envelope = await from.seal({
              type: 'notes',
              transferId,
              sender: a,
              recipient: b.publicKey,
              payload: p,
            });
            const opened = await to.open({ envelope, recipient: b, expectedSender: a.publicKey });
            expect(opened).toEqual({ type: 'notes', transferId, sender: a.publicKey, payload: p });
            const field = inEnc ? 'enc' : 'ct';
            const bytes = base64urlnopad.decode(envelope[field]);
            const at = bit % (bytes.length * 8);
            bytes[at >> 3]! ^= 1 << (at & 7);
            const tampered = { ...envelope, [field]: base64urlnopad.encode(bytes) };
            const refused = await to.open({ envelope: tampered, recipient: b }).then(
              () => 'opened',
              (e: unknown) => (isLancashError(e) ? e.kind : String(e)),
            );
            expect(refused).toBe('EnvelopeOpenFailed');
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('carries a large payload both ways', async () => {
    const [a, b] = await Promise.all([alice, bob]);
    const payload = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
    for (const [from, to] of directions) {
      const envelope = await from.seal({
        type: 'big',
        transferId: 'b1',
        sender: a,
        recipient: b.publicKey,
        payload,
      });
      expect(bytesToHex((await to.open({ envelope, recipient: b })).payload)).toBe(bytesToHex(payload));
    }
  });
});

describe('@hpke/core as the reference', () => {
  it.each(BACKENDS)(
    '%s: opens what @hpke/core sealed and @hpke/core opens what it sealed, any info, aad and pt',
    async (name) => {
      const backend = hpkeBackend(name);
      const [a, b] = await Promise.all([
        keyPairFromPrivate(new Uint8Array(32).fill(0x55)),
        keyPairFromPrivate(new Uint8Array(32).fill(0x66)),
      ]);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 1500 }),
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 64 }),
          fc.nat(),
          async (p, i, ad, bit) => {
            const args = { pkR: b.publicKey, sender: a, info: i, aad: ad, pt: p };
            const fromUs = await backend.sealAuth(args);
            const fromRef = await reference.sealAuth(args);
            const opening = { recipient: b, pkS: a.publicKey, info: i, aad: ad };
            expect(await reference.openAuth({ ...opening, ...fromUs })).toEqual(p);
            expect(await backend.openAuth({ ...opening, ...fromRef })).toEqual(p);
            const ct = fromRef.ct.slice();
            const at = bit % (ct.length * 8);
            ct[at >> 3]! ^= 1 << (at & 7);
            await expect(backend.openAuth({ ...opening, enc: fromRef.enc, ct })).rejects.toThrow();
          },
        ),
        { numRuns: 25 },
      );
    },
  );
});

describe('portable backend on an insecure origin', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('seals and opens with no crypto.subtle, its only randomness from getRandomValues', async () => {
    const [a, b] = await Promise.all([
      keyPairFromPrivate(new Uint8Array(32).fill(0x77)),
      keyPairFromPrivate(new Uint8Array(32).fill(0x88)),
    ]);
    const drawn: number[] = [];
    // What a browser offers over plain http to a LAN address: getRandomValues, and `subtle` undefined.
    vi.stubGlobal('crypto', {
      getRandomValues: (array: Uint8Array): Uint8Array => {
        drawn.push(array.byteLength);
        return nodeCrypto.webcrypto.getRandomValues(array);
      },
    });
    const portable = portableHpke();
    const args = { pkR: b.publicKey, sender: a, info: utf8('i'), aad: utf8('a'), pt: utf8('no subtle') };
    const sealed = await portable.sealAuth(args);
    const opened = await portable.openAuth({
      ...sealed,
      recipient: b,
      pkS: a.publicKey,
      info: args.info,
      aad: args.aad,
    });
    expect(new TextDecoder().decode(opened)).toBe('no subtle');
    // The seal's ephemeral key came from getRandomValues (noble also draws there to blind its
    // fixed-base multiplication).
    expect(drawn[0]).toBe(32);
    // The stub is what it says: the WebCrypto reference cannot seal under it.
    await expect(referenceHpke().sealAuth(args)).rejects.toThrow();
    vi.unstubAllGlobals();
    expect(
      await hpkeBackend('native').openAuth({
        ...sealed,
        recipient: b,
        pkS: a.publicKey,
        info: args.info,
        aad: args.aad,
      }),
    ).toEqual(args.pt);
  });
});
