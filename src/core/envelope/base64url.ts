/**
 * Unpadded base64url for the envelopes' `enc` and `ct` (the wire form in `envelope.ts`): Node's
 * native Buffer codec where it works (≈ 8 µs a 3 KB round trip against ≈ 52 µs for `@scure/base`'s,
 * measured for issue 11), else `@scure/base` (the browser). Both refuse what is not the canonical
 * encoding of its bytes, so an envelope decodes the same on either path.
 */
import { base64urlnopad } from '@scure/base';
import { nodeBuffer } from '../bytes.js';

const B = nodeBuffer;

export const encodeBase64url = (bytes: Uint8Array): string =>
  B === undefined
    ? base64urlnopad.encode(bytes)
    : B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ONLY_ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Whether `B` skips a one-byte character outside the alphabet (other than `+ / =`) when it decodes, as
 * Node's decoder does, so that counting the bytes out shows one; a polyfill's may not, and is then
 * checked by the pattern.
 */
export const SKIPS_FOREIGN: boolean =
  B !== undefined &&
  ['.', ' ', '!', '\0', '\u007f', '\u0080', '\u00ff'].every((c) => {
    try {
      return B.from(`AQ${c}D`, 'base64url').length < 3;
    } catch {
      return false;
    }
  });

/** The bytes of canonical unpadded base64url; throws for anything else. */
export function decodeBase64url(text: string): Uint8Array {
  if (B === undefined) return base64urlnopad.decode(text);
  // Buffer takes base64's `+` and `/` (and `=`), skips every other character outside the alphabet,
  // reads a character above U+00FF as its low byte, and ignores stray trailing bits. So the canonical
  // form (RFC 4648 §3.5) is checked around it, without a pass of a pattern over the text (≈ 12 µs for
  // an envelope's 10 kB, three times the decoding): ASCII only (its UTF-8 length is its length), none
  // of `+ / =`, no lone last character, the last character's bits beyond the last byte zero, and no
  // character skipped, i.e. exactly ⌊3n/4⌋ bytes out. `base64url.test.ts` checks this against the
  // alphabet for every UTF-16 code unit.
  const n = text.length;
  const rest = n % 4;
  if (!SKIPS_FOREIGN && !ONLY_ALPHABET.test(text)) notCanonical();
  if (
    rest === 1 ||
    B.byteLength(text, 'utf8') !== n ||
    text.indexOf('+') !== -1 ||
    text.indexOf('/') !== -1 ||
    text.indexOf('=') !== -1
  ) {
    notCanonical();
  }
  if (rest !== 0 && (ALPHABET.indexOf(text[n - 1]!) & (rest === 2 ? 0x0f : 0x03)) !== 0) notCanonical();
  const bytes = B.from(text, 'base64url');
  if (bytes.length !== Math.floor((n * 3) / 4)) notCanonical();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function notCanonical(): never {
  throw new Error('not canonical unpadded base64url');
}
