/**
 * Byte helpers for untrusted input: hex decoding that names the argument, the expected length and what
 * arrived (the noble-hashes `abytes` habit), constant-time comparison, UTF-8, and hex encoding on
 * Node's native codec where there is one (the servers' hot path) or noble's (the browser).
 */
import { hexToBytes, bytesToHex as portableBytesToHex } from '@noble/hashes/utils.js';
import { describe, fail } from './errors.js';

/** What of Node's Buffer lancash uses, typed here so the browser build needs no Node types. */
export interface NodeBytes extends Uint8Array {
  toString(encoding?: 'base64url' | 'hex'): string;
}
export interface NodeBufferClass {
  from(data: string, encoding: 'base64url' | 'hex'): NodeBytes;
  from(data: ArrayBufferLike, byteOffset: number, length: number): NodeBytes;
  byteLength(text: string, encoding: 'utf8'): number;
}

/** Node's Buffer when it is there and codes hex and base64url as Node does (a browser polyfill may not). */
function findNodeBuffer(): NodeBufferClass | undefined {
  const B = (globalThis as { Buffer?: NodeBufferClass }).Buffer;
  try {
    const bytes = new Uint8Array([1, 2, 3, 255, 239]);
    const view = B?.from(bytes.buffer, 0, bytes.length);
    const ok =
      view !== undefined &&
      view.toString('hex') === '010203ffef' &&
      view.toString('base64url') === 'AQID_-8' &&
      B?.from('AQID_-8', 'base64url').join() === bytes.join();
    return ok ? B : undefined;
  } catch {
    return undefined;
  }
}
/** Node's Buffer, or undefined in a browser: the one check every native codec here rests on. */
export const nodeBuffer = findNodeBuffer();

/**
 * Lowercase hex of `bytes`. Node's codec makes the string in one piece; noble's, by appending two
 * characters at a time, allocated ≈ 1 KB of intermediate strings for 33 bytes (the crypto workers' and
 * envelopes' largest allocation, issue 11).
 */
export const bytesToHex: (bytes: Uint8Array) => string =
  nodeBuffer === undefined
    ? portableBytesToHex
    : (bytes) => nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

// Either case, tested on the text as it came (no lowercased copy): noble's decoder reads both.
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes lowercase or uppercase hex of exactly `length` bytes (any even length when omitted). */
export function hex(value: unknown, argument: string, length?: number): Uint8Array {
  if (typeof value !== 'string') notHex(value, argument, length, false);
  if (!HEX.test(value) || (length !== undefined && value.length !== 2 * length)) {
    notHex(value, argument, length, true);
  }
  return hexToBytes(value);
}

/** `hex`'s refusal; its words are built only here (every decode built them before). */
function notHex(value: unknown, argument: string, length: number | undefined, got: boolean): never {
  const expected = length === undefined ? 'hex' : `hex of ${length} bytes`;
  return fail(
    'InvalidHex',
    { argument, expected, received: describe(value) },
    got ? `${argument}: expected ${expected}, got ${describe(value)}` : `${argument}: expected ${expected}`,
  );
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
