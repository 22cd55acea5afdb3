/** Lone surrogates are refused wherever JSON from outside is decoded (issue 8, item 9). */
import { describe, expect, it } from 'vitest';
import { codeOf, refusalOf } from '../test-support/refusals.js';
import { generateEncryptionKeyPair, openJson, sealJson } from './envelope/index.js';
import { isLancashError } from './errors.js';
import { decodeToken, encodeTokenV4 } from './token/index.js';
import { checkWellFormed } from './unicode.js';

const refusal = (f: () => void) => refusalOf(Promise.resolve().then(f));

describe('checkWellFormed', () => {
  it('names the first ill-formed string or key by its path', async () => {
    const value = JSON.parse('{"inputs":[{"secret":"ok"},{"secret":"x\\udfff"}]}');
    const e = await refusal(() => checkWellFormed(value, 'body'));
    expect(e.kind).toBe('InvalidString');
    expect(e.code).toBe(70011);
    expect(e.info).toEqual({
      argument: 'body.inputs.1.secret',
      reason: 'lone surrogate U+DFFF at index 1 of the string',
    });
    const key = await refusal(() => checkWellFormed(JSON.parse('{"a":{"\\ud800":1}}'), 'body'));
    expect(key.info).toMatchObject({ argument: 'body.a.[key]' });
  });

  it('accepts well-formed text: pairs, U+FFFD, escaped backslashes', () => {
    for (const text of ['{"a":"\\ud83d\\ude00"}', '"\\ufffd"', '["\\\\ud800"]', '{"€":["ü"]}']) {
      expect(() => checkWellFormed(JSON.parse(text), 'body', text)).not.toThrow();
    }
  });

  it('refuses a lone surrogate at either end of a pair and at any depth, without recursion', async () => {
    for (const s of ['\ud800', '\udfff', 'a\ud800b', '\ude00\ud83d', `${'\ud83d\ude00'}\ud83d`]) {
      expect(isLancashError(await refusal(() => checkWellFormed({ s }, 'body')), 'InvalidString')).toBe(true);
    }
    let deep: unknown = '\ud800';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect((await refusal(() => checkWellFormed(deep, 'body'))).kind).toBe('InvalidString');
  });
});

describe('checkWellFormed: NUL', () => {
  it('refuses NUL (U+0000) in a value or a key, from the text or from a value built in code', async () => {
    const text = '{"inputs":[{"secret":"ok"},{"secret":"ab\\u0000c"}]}';
    const e = await refusal(() => checkWellFormed(JSON.parse(text), 'body', text));
    expect([e.kind, e.code]).toEqual(['InvalidString', 70011]);
    expect(e.info).toEqual({
      argument: 'body.inputs.1.secret',
      reason: 'NUL (U+0000) at index 2 of the string',
    });
    const key = '{"a":{"x\\u0000":1}}';
    expect((await refusal(() => checkWellFormed(JSON.parse(key), 'body', key))).info).toMatchObject({
      argument: 'body.a.[key]',
      reason: 'NUL (U+0000) at index 1 of the key',
    });
    expect((await refusal(() => checkWellFormed({ s: '\0' }, 'body'))).kind).toBe('InvalidString');
  });

  it('passes other control escapes, an escaped backslash before u0000, and byte strings', () => {
    for (const text of ['"\\u0001\\u001f"', '["\\\\u0000"]', '{"a":"\\n\\t"}']) {
      expect(() => checkWellFormed(JSON.parse(text), 'body', text)).not.toThrow();
    }
    expect(() => checkWellFormed({ b: new Uint8Array([0, 0]) }, 'token')).not.toThrow();
  });
});

describe('decoders of JSON from peers', () => {
  it('envelope payloads: openJson refuses lone surrogates after opening', async () => {
    const [alice, bob] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
    const envelope = await sealJson({
      type: 't',
      transferId: 'id1',
      sender: alice,
      recipient: bob.publicKey,
      payload: { proofs: [{ secret: 'a\ud800' }] },
    });
    const e = await refusalOf(openJson({ envelope, recipient: bob }));
    expect(e.info).toMatchObject({ argument: 'payload.proofs.0.secret' });
  });

  it('V3 tokens (JSON inside base64) refuse lone surrogates; V4 (CBOR) cannot carry them', async () => {
    const v3 = {
      token: [
        {
          mint: 'https://mint.example',
          proofs: [{ amount: 1, id: '009a1f293253e41e', secret: 'a\ud800', C: `02${'11'.repeat(32)}` }],
        },
      ],
      unit: 'sat',
    };
    const token = `cashuA${Buffer.from(JSON.stringify(v3)).toString('base64url')}`;
    expect(await codeOf(Promise.resolve().then(() => decodeToken(token)))).toBe(70011);
  });

  it('tokens refuse a NUL in a secret, V3 and V4 alike', async () => {
    const proof = { amount: 1, id: '009a1f293253e41e', secret: 'a\0b', C: `02${'11'.repeat(32)}` };
    const v3 = `cashuA${Buffer.from(JSON.stringify({ token: [{ mint: 'https://mint.example', proofs: [proof] }], unit: 'sat' })).toString('base64url')}`;
    const v4 = encodeTokenV4({ mint: 'https://mint.example', unit: 'sat', proofs: [proof] });
    for (const token of [v3, v4]) {
      const e = await refusal(() => decodeToken(token));
      expect([token.slice(0, 6), e.kind]).toEqual([token.slice(0, 6), 'InvalidString']);
    }
  });
});
