/** The envelopes' base64url codec (Node's Buffer here) agrees with `@scure/base`, the browser's. */
import { base64urlnopad } from '@scure/base';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url, SKIPS_FOREIGN } from './base64url.js';

/** The bytes, or 'refused', as `decode` answers `text`. */
const outcome = (decode: (t: string) => Uint8Array, text: string): string => {
  try {
    return Array.from(decode(text)).join();
  } catch {
    return 'refused';
  }
};

it('encodes as @scure/base does and decodes its output back', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, offset) => {
      // An offset view, as payloads sliced from larger buffers arrive.
      const view = new Uint8Array(bytes.length + offset);
      view.set(bytes, offset);
      const sliced = view.subarray(offset);
      const text = encodeBase64url(sliced);
      expect(text).toBe(base64urlnopad.encode(bytes));
      expect(decodeBase64url(text)).toEqual(bytes);
    }),
  );
});

it('refuses what @scure/base refuses: stray bits, padding, a lone last character, foreign characters', () => {
  const cases = [
    'AA',
    'AB',
    'AAA',
    'AAB',
    'A',
    'AAAAA',
    'AA==',
    'AA=',
    'A+8',
    'A/8',
    'AQ ID',
    'AQ.D',
    '',
    'AQID',
  ];
  for (const text of cases)
    expect(outcome(decodeBase64url, text), text).toBe(outcome(base64urlnopad.decode, text));
  expect(outcome(decodeBase64url, 'AB')).toBe('refused');
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'AB_-=+/ .Qw8'), maxLength: 12 }), (text) => {
      expect(outcome(decodeBase64url, text)).toBe(outcome(base64urlnopad.decode, text));
    }),
  );
});

it('refuses every UTF-16 code unit outside the alphabet, wherever it stands, and takes every one inside', () => {
  // The Node path checks the alphabet through Buffer's decoder (characters skipped, the low byte of a
  // wide one) rather than by a pattern: this pins that reading to the alphabet itself, on this Node.
  const alphabet = /^[A-Za-z0-9_-]$/;
  // 12 characters, 9 bytes: no spare bits, so any alphabet character may stand anywhere.
  const valid = 'AQIDBAUGBwgJ';
  expect(SKIPS_FOREIGN).toBe(true);
  const wrong: string[] = [];
  for (let unit = 0; unit <= 0xffff; unit++) {
    const c = String.fromCharCode(unit);
    for (const at of [0, 5, valid.length - 1]) {
      const text = `${valid.slice(0, at)}${c}${valid.slice(at + 1)}`;
      const accepted = outcome(decodeBase64url, text) !== 'refused';
      if (accepted !== alphabet.test(c)) wrong.push(`U+${unit.toString(16)} at ${at}`);
    }
  }
  expect(wrong).toEqual([]);
});
