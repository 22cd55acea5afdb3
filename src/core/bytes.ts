/**
 * Byte helpers for untrusted input: hex decoding that names the argument, the expected length and what
 * arrived (the noble-hashes `abytes` habit), constant-time comparison, UTF-8.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, fail } from './errors.js';

export { bytesToHex };

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Decodes lowercase or uppercase hex of exactly `length` bytes (any even length when omitted). */
export function hex(value: unknown, argument: string, length?: number): Uint8Array {
  const expected = length === undefined ? 'hex' : `hex of ${length} bytes`;
  if (typeof value !== 'string') {
    fail(
      'InvalidHex',
      { argument, expected, received: describe(value) },
      `${argument}: expected ${expected}`,
    );
  }
  const lower = value.toLowerCase();
  if (!HEX.test(lower) || (length !== undefined && lower.length !== 2 * length)) {
    fail(
      'InvalidHex',
      { argument, expected, received: describe(value) },
      `${argument}: expected ${expected}, got ${describe(value)}`,
    );
  }
  return hexToBytes(lower);
}

/** Compares two byte arrays in time independent of where they differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const encoder = new TextEncoder();
export const utf8 = (s: string): Uint8Array => encoder.encode(s);
