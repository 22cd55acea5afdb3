/**
 * The secrets-at-rest box: a sealed value opens with the same key and purpose only; a wrong key,
 * another row's purpose, altered bytes or a malformed value are `SecretsKeyWrong`; every seal is
 * fresh (random nonce); short key material is refused; the key never shows in JSON or inspect.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLancashError } from './errors.js';
import { isSealed, SEALED_PREFIX, SecretBox } from './secret-box.js';

const material = (s: string) => Buffer.from(s.padEnd(32, '.'), 'utf8');
const box = SecretBox.fromMaterial(material('operator key one'));
const other = SecretBox.fromMaterial(material('operator key two'));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isLancashError(err, 'SecretsKeyWrong')) return err.message;
    throw err;
  }
  throw new Error('opened');
}

describe('SecretBox', () => {
  it('round-trips any value for its purpose, with a fresh nonce each time (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (value, purpose) => {
          const sealed = box.seal(purpose, value);
          expect(isSealed(sealed)).toBe(true);
          expect(sealed).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
          expect(box.open(purpose, sealed)).toBe(value);
          expect(box.seal(purpose, value)).not.toBe(sealed);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses another key, another purpose, altered bytes and malformed values', () => {
    const sealed = box.seal('mint.seed', 'ab'.repeat(32));
    expect(refusal(() => other.open('mint.seed', sealed))).toMatch(/does not open.*mint\.seed/);
    // The same bytes moved into another row do not open there (AAD = the row).
    expect(refusal(() => box.open('gateway.encryption-key', sealed))).toMatch(/gateway\.encryption-key/);
    const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
    for (const i of [0, 12, raw.length - 1]) {
      const altered = Buffer.from(raw);
      altered[i]! ^= 1;
      expect(
        refusal(() => box.open('mint.seed', SEALED_PREFIX + altered.toString('base64url'))),
      ).toBeTruthy();
    }
    for (const bad of ['', 'ab'.repeat(32), SEALED_PREFIX, `${SEALED_PREFIX}AAAA`, 'enc:v2:AAAA'])
      expect(refusal(() => box.open('mint.seed', bad))).toBeTruthy();
  });

  it('refuses key material shorter than 32 bytes', () => {
    expect(() => SecretBox.fromMaterial(Buffer.alloc(31, 1))).toThrow(/at least 32 bytes/);
    expect(SecretBox.fromMaterial(Buffer.alloc(32, 1))).toBeInstanceOf(SecretBox);
  });

  it('never shows its key', () => {
    expect(JSON.stringify({ box })).toBe('{"box":"SecretBox"}');
    expect(inspect(box)).toBe('SecretBox');
    expect(Object.keys(box)).toEqual([]);
  });
});
