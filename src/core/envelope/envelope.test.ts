/**
 * Envelopes: round trips, every tampered field, wrong parties, garbage, replays, each on both HPKE
 * backends; the process's choice of backend. Interop between the backends and the RFC 9180 vectors are
 * in `backends.test.ts`.
 */
import { base64urlnopad } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, equalBytes, utf8 } from '../bytes.js';
import { type ErrorName, isLancashError } from '../errors.js';
import { measureEnvelopes } from './bench.js';
import {
  type EncryptionKeyPair,
  type Envelope,
  envelopeAad,
  envelopeJson,
  envelopeSuite,
  generateEncryptionKeyPair,
  type HpkeBackendName,
  hpkeBackend,
  keyPairFromPrivate,
  MAX_ENVELOPE_PAYLOAD,
  open,
  ReplayGuard,
  type SealOptions,
  seal,
  setEnvelopeBackend,
} from './index.js';

const alice = await keyPairFromPrivate(new Uint8Array(32).fill(1));
const bob = await keyPairFromPrivate(new Uint8Array(32).fill(2));
const carol = await keyPairFromPrivate(new Uint8Array(32).fill(3));
const payload = utf8('ten euros, in notes');
const BACKENDS: HpkeBackendName[] = ['portable', 'native'];

/** The kind of lancash error `p` rejects with; fails on success or any other exception. */
async function refusal(p: Promise<unknown>): Promise<ErrorName> {
  try {
    await p;
  } catch (e) {
    if (isLancashError(e)) return e.kind;
    throw new Error(`unexpected exception: ${String(e)}`);
  }
  throw new Error('expected a refusal, got a result');
}

/** Flips one bit of a base64url field, keeping it canonical base64url of the same length. */
function flip(b64: string, byte = 0): string {
  const bytes = base64urlnopad.decode(b64);
  bytes[byte]! ^= 1;
  return base64urlnopad.encode(bytes);
}

describe('keys', () => {
  it('derives the RFC 7748 §6.1 public keys', async () => {
    const a = await keyPairFromPrivate(
      Uint8Array.from(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex')),
    );
    expect(bytesToHex(a.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  });

  it('generates distinct pairs and refuses keys of the wrong size', async () => {
    const [x, y] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
    expect(x.publicKey).toHaveLength(32);
    expect(bytesToHex(x.privateKey)).not.toBe(bytesToHex(y.privateKey));
    expect(await refusal(keyPairFromPrivate(new Uint8Array(31)))).toBe('InvalidInput');
  });
});

describe.each(BACKENDS)('%s backend', (backend) => {
  const { seal, open, sealJson, openJson } = envelopeSuite(backend);
  const sealed = (over: Partial<SealOptions> = {}) =>
    seal({ type: 'notes', transferId: 'tx-1', sender: alice, recipient: bob.publicKey, payload, ...over });

  describe('seal and open', () => {
    it('round-trips and names the sender', async () => {
      const envelope = await sealed();
      expect(envelope).toMatchObject({
        v: 1,
        type: 'notes',
        transferId: 'tx-1',
        sender: bytesToHex(alice.publicKey),
      });
      const opened = await open({
        envelope,
        recipient: bob,
        expectedSender: alice.publicKey,
        expectedType: 'notes',
      });
      expect(opened).toEqual({ type: 'notes', transferId: 'tx-1', sender: alice.publicKey, payload });
      // The JSON text form opens too, and two seals of the same payload differ (fresh ephemeral key).
      expect((await open({ envelope: JSON.stringify(envelope), recipient: bob })).payload).toEqual(payload);
      expect((await sealed()).enc).not.toBe(envelope.enc);
    });

    it('round-trips random payloads, types and transfer ids', async () => {
      const ids = fc.string({ minLength: 1, maxLength: 128, unit: fc.constantFrom(...'abcXYZ019_-') });
      const types = fc.string({ minLength: 1, maxLength: 64, unit: fc.constantFrom(...'abz.:-09') });
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), types, ids, async (p, type, transferId) => {
          const envelope = await seal({
            type,
            transferId,
            sender: alice,
            recipient: bob.publicKey,
            payload: p,
          });
          const opened = await open({ envelope: JSON.parse(JSON.stringify(envelope)), recipient: bob });
          expect(opened).toEqual({ type, transferId, sender: alice.publicKey, payload: p });
        }),
        { numRuns: 40 },
      );
    });

    it('round-trips JSON payloads', async () => {
      const value = { notes: [{ amount: 8 }], memo: 'lunch €' };
      const envelope = await sealJson({
        type: 'notes',
        transferId: 'j1',
        sender: alice,
        recipient: bob.publicKey,
        payload: value,
      });
      expect((await openJson({ envelope, recipient: bob })).payload).toEqual(value);
      const notJson = await sealed({ payload: new Uint8Array([0xff]) });
      expect(await refusal(openJson({ envelope: notJson, recipient: bob }))).toBe('EnvelopeMalformed');
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const bad of [undefined, 1n, circular]) {
        expect(
          await refusal(
            sealJson({ type: 't', transferId: 'j', sender: alice, recipient: bob.publicKey, payload: bad }),
          ),
        ).toBe('InvalidInput');
      }
    });

    it('refuses every tampered field', async () => {
      const envelope = await sealed();
      const tampered: Envelope[] = [
        { ...envelope, ct: flip(envelope.ct) },
        { ...envelope, ct: flip(envelope.ct, base64urlnopad.decode(envelope.ct).length - 1) },
        { ...envelope, enc: flip(envelope.enc) },
        { ...envelope, enc: flip(envelope.enc, 31) },
        { ...envelope, type: 'notez' },
        { ...envelope, transferId: 'tx-2' },
        { ...envelope, sender: bytesToHex(carol.publicKey) },
        { ...envelope, ct: base64urlnopad.encode(base64urlnopad.decode(envelope.ct).subarray(0, 30)) },
      ];
      for (const t of tampered)
        expect(await refusal(open({ envelope: t, recipient: bob }))).toBe('EnvelopeOpenFailed');
    });

    it('binds each header field in the AAD without ambiguity', () => {
      // The exact bytes are wire format: envelopes already sealed must keep opening.
      expect(
        bytesToHex(
          envelopeAad(
            'gateway.payment',
            new Uint8Array(32).fill(0xaa),
            new Uint8Array(32).fill(0xbb),
            'T-1_x',
          ),
        ),
      ).toBe(
        '00136c616e636173682d656e76656c6f70652d7631000f676174657761792e7061796d656e740020' +
          'aa'.repeat(32) +
          '0020' +
          'bb'.repeat(32) +
          '0005542d315f78',
      );
      const k = alice.publicKey;
      expect(bytesToHex(envelopeAad('ab', k, k, 'c'))).not.toBe(bytesToHex(envelopeAad('a', k, k, 'bc')));
      expect(bytesToHex(envelopeAad('t', alice.publicKey, bob.publicKey, 'x'))).not.toBe(
        bytesToHex(envelopeAad('t', bob.publicKey, alice.publicKey, 'x')),
      );
    });

    it('refuses an envelope sealed to another key', async () => {
      const envelope = await sealed();
      expect(await refusal(open({ envelope, recipient: carol }))).toBe('EnvelopeWrongRecipient');
      // Rewriting the recipient field to ours does not help: the AAD and the KEM context bind it.
      const redirected = { ...envelope, recipient: bytesToHex(carol.publicKey) };
      expect(await refusal(open({ envelope: redirected, recipient: carol }))).toBe('EnvelopeOpenFailed');
    });

    it('refuses an unexpected sender or type', async () => {
      const envelope = await sealed();
      expect(await refusal(open({ envelope, recipient: bob, expectedSender: carol.publicKey }))).toBe(
        'EnvelopeOpenFailed',
      );
      expect(await refusal(open({ envelope, recipient: bob, expectedType: 'receipt' }))).toBe(
        'EnvelopeOpenFailed',
      );
    });

    it('refuses garbage, truncated JSON and wrong shapes as malformed', async () => {
      const envelope = await sealed();
      const text = JSON.stringify(envelope);
      const bad: unknown[] = [
        'not json',
        '',
        text.slice(0, text.length - 1),
        text.slice(0, 40),
        null,
        42,
        [],
        new Uint8Array(10),
        { ...envelope, v: 2 },
        { ...envelope, extra: 1 },
        { ...envelope, transferId: '' },
        { ...envelope, transferId: 'a'.repeat(129) },
        { ...envelope, transferId: 'a b' },
        { ...envelope, type: '' },
        { ...envelope, sender: bytesToHex(alice.publicKey).toUpperCase() },
        { ...envelope, enc: `${envelope.enc}A` },
        { ...envelope, enc: envelope.enc.replace(/.$/, '_') },
        { ...envelope, ct: `${envelope.ct}=` },
        { ...envelope, ct: 'A'.repeat(1_048_577) },
        'x'.repeat(1_060_000),
      ];
      for (const b of bad)
        expect(await refusal(open({ envelope: b, recipient: bob }))).toBe('EnvelopeMalformed');
    });

    it('never throws a raw exception on random JSON', async () => {
      const envelope = await sealed();
      const mutated = fc.oneof(
        fc.jsonValue(),
        fc.string(),
        fc
          .record({ field: fc.constantFrom(...Object.keys(envelope)), value: fc.jsonValue() })
          .map(({ field, value }) => ({
            ...envelope,
            [field]: value,
          })),
      );
      await fc.assert(
        fc.asyncProperty(mutated, async (m) => {
          await refusal(open({ envelope: m, recipient: bob }));
        }),
        { numRuns: 300 },
      );
    });

    it('refuses bad seal arguments', async () => {
      expect(await refusal(sealed({ transferId: 'has space' }))).toBe('InvalidInput');
      expect(await refusal(sealed({ type: '' }))).toBe('InvalidInput');
      expect(await refusal(sealed({ recipient: new Uint8Array(31) }))).toBe('InvalidInput');
      expect(await refusal(sealed({ payload: 'text' as unknown as Uint8Array }))).toBe('InvalidInput');
      expect(await refusal(sealed({ payload: new Uint8Array(MAX_ENVELOPE_PAYLOAD + 1) }))).toBe(
        'PayloadTooLarge',
      );
      const mismatched: EncryptionKeyPair = { publicKey: carol.publicKey, privateKey: alice.privateKey };
      expect(await refusal(sealed({ sender: mismatched }))).toBe('InvalidInput');
      // RFC 9180 §7.1.4: a low-order point (here 0) gives an all-zero shared secret and must be refused.
      expect(await refusal(sealed({ recipient: new Uint8Array(32) }))).toBe('InvalidInput');
    });

    it('seals the largest payload and opens it', async () => {
      const big = new Uint8Array(MAX_ENVELOPE_PAYLOAD).fill(7);
      const envelope = await sealed({ payload: big });
      // equalBytes, not toEqual: vitest's deep equality takes seconds on 768 KiB.
      expect(equalBytes((await open({ envelope, recipient: bob })).payload, big)).toBe(true);
    });
  });

  describe('ReplayGuard', () => {
    it('refuses a transfer id seen from the same sender, through open', async () => {
      const guard = new ReplayGuard();
      const envelope = await sealed();
      await open({ envelope, recipient: bob, replayGuard: guard });
      expect(await refusal(open({ envelope, recipient: bob, replayGuard: guard }))).toBe('EnvelopeReplayed');
      // A fresh seal with the same transfer id is a replay too; another sender's id is not.
      expect(await refusal(open({ envelope: await sealed(), recipient: bob, replayGuard: guard }))).toBe(
        'EnvelopeReplayed',
      );
      await open({ envelope: await sealed({ sender: carol }), recipient: bob, replayGuard: guard });
      expect(guard.size).toBe(2);
    });

    it('records nothing for an envelope that does not open', async () => {
      const guard = new ReplayGuard();
      const envelope = await sealed();
      await refusal(
        open({ envelope: { ...envelope, ct: flip(envelope.ct) }, recipient: bob, replayGuard: guard }),
      );
      expect(guard.size).toBe(0);
      await open({ envelope, recipient: bob, replayGuard: guard });
    });
  });
});

describe('backend choice', () => {
  it('uses native on Node; setEnvelopeBackend switches seal and open', async () => {
    expect(hpkeBackend().name).toBe('native');
    try {
      setEnvelopeBackend('portable');
      expect(hpkeBackend().name).toBe('portable');
      const envelope = await seal({
        type: 't',
        transferId: 'c1',
        sender: alice,
        recipient: bob.publicKey,
        payload,
      });
      expect((await open({ envelope, recipient: bob })).payload).toEqual(payload);
    } finally {
      setEnvelopeBackend('native');
    }
    expect(hpkeBackend().name).toBe('native');
  });

  it('refuses an unknown backend name', async () => {
    expect(await refusal((async () => hpkeBackend('wasm' as HpkeBackendName))())).toBe('InvalidInput');
    expect(await refusal((async () => envelopeSuite('wasm' as HpkeBackendName))())).toBe('InvalidInput');
  });
});

describe('measureEnvelopes', () => {
  it('reports a figure for each backend and concurrency', async () => {
    const { results } = await measureEnvelopes(0.2, { concurrency: [1, 4] });
    expect(results.map((r) => `${r.backend}/${r.concurrency}`)).toEqual([
      'portable/1',
      'portable/4',
      'native/1',
      'native/4',
    ]);
    for (const r of results) expect(r.count).toBeGreaterThan(0);
  });
});

describe('envelopeJson', () => {
  it('writes a sealed envelope exactly as JSON.stringify does, and the envelope cannot change after', async () => {
    const suite = envelopeSuite('native');
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom(...'abcXYZ019._:-'), minLength: 1, maxLength: 64 }),
        fc.string({ unit: fc.constantFrom(...'abcXYZ019_-'), minLength: 1, maxLength: 128 }),
        fc.uint8Array({ maxLength: 700 }),
        async (type, transferId, bytes) => {
          const e = await suite.seal({
            type,
            transferId,
            sender: alice,
            recipient: bob.publicKey,
            payload: bytes,
          });
          expect(envelopeJson(e)).toBe(JSON.stringify(e));
          expect(Object.isFrozen(e)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('writes any other envelope by JSON.stringify, so an edited copy is written as edited', async () => {
    const e = await seal({ type: 't', transferId: 'x1', sender: alice, recipient: bob.publicKey, payload });
    const copy: Envelope = { ...e, ct: `${e.ct.slice(0, -4)}AAAA` };
    expect(envelopeJson(copy)).toBe(JSON.stringify(copy));
    expect(JSON.parse(envelopeJson(copy))).toEqual(copy);
    expect(() => Object.assign(e, { ct: copy.ct })).toThrow(TypeError);
  });
});
