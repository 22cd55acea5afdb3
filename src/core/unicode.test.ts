/** Lone surrogates are refused wherever JSON from outside is decoded (issue 8, item 9). */
import { describe, expect, it } from 'vitest';
import { codeOf, refusalOf } from '../test-support/refusals.js';
import { generateEncryptionKeyPair, openJson, sealJson } from './envelope/index.js';
import { isLancashError } from './errors.js';
import { decodeToken } from './token/index.js';
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
});
