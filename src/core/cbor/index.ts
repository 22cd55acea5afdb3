/**
 * A strict CBOR codec (RFC 8949) for the subset Cashu uses: NUT-00 V4 tokens (`cashuB`, `crawB`) and
 * NUT-18 payment requests (`creqA`). It knows integers within ±(2^53 − 1), byte strings, UTF-8 text,
 * arrays, maps with text keys, and false/true/null/undefined. Tags, floats, indefinite lengths,
 * non-shortest heads and trailing bytes are refused: a decoder of hostile tokens should accept one
 * spelling per value and nothing it cannot represent exactly.
 */
import { describe, fail } from '../errors.js';
// An unpaired UTF-16 surrogate; TextEncoder would silently turn it into U+FFFD.
import { LONE_SURROGATE } from '../unicode.js';

/** What the codec reads and writes. Maps are objects with text keys, in insertion order. */
export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | CborMap;
export interface CborMap {
  [key: string]: CborValue;
}

export interface CborDecodeOptions {
  /** Deepest nesting of arrays and maps; the outermost container is depth 1. */
  maxDepth?: number;
  /** Most data items in total (every value, map key and container counts one). */
  maxItems?: number;
}

export interface CborEncodeOptions {
  /** Deepest nesting of arrays and maps; also stops cyclic values. */
  maxDepth?: number;
}

export const CBOR_DEFAULT_MAX_DEPTH = 16;
export const CBOR_DEFAULT_MAX_ITEMS = 100_000;

// RFC 8949 §3.1: major types.
const UINT = 0;
const NINT = 1;
const BYTES = 2;
const TEXT = 3;
const ARRAY = 4;
const MAP = 5;
const TAG = 6;
const SIMPLE = 7;

// RFC 8949 §3.3: simple values 20–23 in their one-byte form.
const FALSE = 0xf4;
const TRUE = 0xf5;
const NULL = 0xf6;
const UNDEFINED = 0xf7;

const TWO_32 = 2 ** 32;

// RFC 8949 §3.1: text strings are UTF-8; a leading U+FEFF is content, not a byte order mark.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const ASCII = /^\p{ASCII}*$/u;

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes exactly one CBOR data item that fills `bytes`. Throws `CborInvalid` naming the byte offset for
 * anything malformed or outside the subset. Maps come back as prototype-free objects in wire order, so
 * `encode` gives the same bytes back, unless the map has integer-like keys ("0", "7"), which JavaScript
 * lists first.
 */
export function decode(bytes: Uint8Array, o: CborDecodeOptions = {}): CborValue {
  if (!(bytes instanceof Uint8Array)) {
    const received = describe(bytes);
    fail(
      'InvalidInput',
      { argument: 'bytes', expected: 'Uint8Array', received },
      `bytes: expected Uint8Array, got ${received}`,
    );
  }
  const r = new Reader(bytes, o.maxDepth ?? CBOR_DEFAULT_MAX_DEPTH, o.maxItems ?? CBOR_DEFAULT_MAX_ITEMS);
  const value = r.item(0);
  // RFC 8949 Appendix F: bytes left over are "too much data" when the input is meant to be one item.
  if (r.at !== bytes.length) r.refuse(r.at, `${bytes.length - r.at} trailing bytes after the data item`);
  return value;
}

class Reader {
  at = 0;
  private items = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly maxDepth: number,
    private readonly maxItems: number,
  ) {}

  refuse(offset: number, reason: string): never {
    return fail('CborInvalid', { offset, reason }, `CBOR at byte ${offset}: ${reason}`);
  }

  /** One data item; `depth` is the number of containers around it. */
  item(depth: number): CborValue {
    const start = this.at;
    if (start >= this.b.length) this.refuse(start, 'truncated: a data item was expected');
    if (++this.items > this.maxItems) this.refuse(start, `more than ${this.maxItems} data items`);
    const ib = this.b[start]!;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    if (major === SIMPLE) return this.simple(ai, start);
    // RFC 8949 §3.4: no Cashu field is tagged; refusing tags also refuses bignums.
    if (major === TAG) this.refuse(start, 'tags are not accepted');
    const n = this.argument(ai, start);
    switch (major) {
      case UINT:
        return n;
      case NINT:
        // RFC 8949 §3.1: major type 1 is −1 − n; the result must stay a safe integer.
        if (n > Number.MAX_SAFE_INTEGER - 1) this.refuse(start, 'negative integer below −(2^53 − 1)');
        return -1 - n;
      case BYTES:
        return this.take(n, start).slice();
      case TEXT:
        return this.text(n, start);
      case ARRAY:
        return this.array(n, depth + 1, start);
      default:
        return this.map(n, depth + 1, start);
    }
  }

  /** RFC 8949 §3: the head's argument, advancing past the head. */
  private argument(ai: number, start: number): number {
    if (ai < 24) {
      this.at = start + 1;
      return ai;
    }
    // RFC 8949 §3.2: indefinite lengths give one value several spellings.
    if (ai === 31) this.refuse(start, 'indefinite lengths are not accepted');
    if (ai > 27) this.refuse(start, `reserved additional information ${ai}`);
    const size = 1 << (ai - 24);
    const end = start + 1 + size;
    if (end > this.b.length) this.refuse(start, `truncated: the head needs ${size} more bytes`);
    let n = 0;
    for (let i = start + 1; i < end; i++) n = n * 256 + this.b[i]!;
    // Beyond 2^53 the sum rounds, but never below 2^53, so this comparison is exact.
    if (n > Number.MAX_SAFE_INTEGER) this.refuse(start, 'integer or length beyond 2^53 − 1');
    // RFC 8949 §4.1: preferred serialisation writes every argument in its shortest form.
    const min = size === 1 ? 24 : 2 ** (4 * size);
    if (n < min) this.refuse(start, `non-shortest head: ${n} written with ${size} argument bytes`);
    this.at = end;
    return n;
  }

  /** RFC 8949 §3.3: only false, true, null and undefined; amounts are never floats. */
  private simple(ai: number, start: number): CborValue {
    this.at = start + 1;
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
      case 26:
      case 27:
        return this.refuse(start, 'floating-point numbers are not accepted');
      case 31:
        return this.refuse(start, 'break code outside an indefinite-length item');
      default:
        return this.refuse(start, `simple value with additional information ${ai} is not accepted`);
    }
  }

  private take(n: number, start: number): Uint8Array {
    if (n > this.b.length - this.at) this.refuse(start, `truncated: string of ${n} bytes runs past the end`);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  private text(n: number, start: number): string {
    const raw = this.take(n, start);
    // RFC 8949 §5.3.1: a text string that is not UTF-8 is invalid.
    try {
      return utf8Decoder.decode(raw);
    } catch {
      return this.refuse(start, 'text string is not valid UTF-8');
    }
  }

  private container(depth: number, count: number, start: number): void {
    if (depth > this.maxDepth) this.refuse(start, `nesting deeper than ${this.maxDepth}`);
    // Every item takes at least one byte: refuse impossible counts before allocating anything.
    if (count > this.b.length - this.at) this.refuse(start, `truncated: ${count} entries cannot fit`);
  }

  private array(n: number, depth: number, start: number): CborValue[] {
    this.container(depth, n, start);
    const out: CborValue[] = [];
    for (let i = 0; i < n; i++) out.push(this.item(depth));
    return out;
  }

  private map(n: number, depth: number, start: number): CborMap {
    this.container(depth, 2 * n, start);
    // A prototype-free object: keys such as "constructor" stay plain data.
    const out: CborMap = Object.create(null);
    for (let i = 0; i < n; i++) {
      const keyAt = this.at;
      if (keyAt < this.b.length && this.b[keyAt]! >> 5 !== TEXT)
        this.refuse(keyAt, 'map key is not a text string');
      const key = this.item(depth) as string;
      // Code that copies this map with `target[key] = value` would set the target's prototype; no Cashu
      // field has this name.
      if (key === '__proto__') this.refuse(keyAt, 'map key "__proto__" is not accepted');
      // RFC 8949 §5.3.1: a map with duplicate keys is invalid.
      if (Object.hasOwn(out, key)) this.refuse(keyAt, `duplicate map key ${describe(key)}`);
      out[key] = this.item(depth);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes `value` with shortest-form heads and map keys in the object's own key order (insertion order,
 * except that JavaScript puts integer-like keys first). Throws `InvalidInput` naming the path of a value
 * the subset cannot hold, so it never writes what `decode` would refuse.
 */
export function encode(value: CborValue, o: CborEncodeOptions = {}): Uint8Array {
  const w = new Writer(o.maxDepth ?? CBOR_DEFAULT_MAX_DEPTH);
  w.item(value, 0);
  return w.bytes();
}

/** An object literal or a prototype-free object; class instances (Date, Map, …) are not maps. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

class Writer {
  private buf = new Uint8Array(256);
  private len = 0;
  /** Where the value being written sits, for error messages. */
  private readonly path: (string | number)[] = [];

  constructor(private readonly maxDepth: number) {}

  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  item(v: unknown, depth: number): void {
    if (typeof v === 'boolean') this.byte(v ? TRUE : FALSE);
    else if (v === null) this.byte(NULL);
    else if (v === undefined) this.byte(UNDEFINED);
    else if (typeof v === 'number') this.integer(v);
    else if (typeof v === 'string') this.text(v);
    else if (v instanceof Uint8Array) this.string(BYTES, v);
    else if (Array.isArray(v)) this.array(v, depth);
    else if (isPlainObject(v)) this.map(v, depth);
    else this.refuse('a CBOR value', v);
  }

  private integer(v: number): void {
    if (!Number.isSafeInteger(v)) this.refuse('an integer within ±(2^53 − 1)', v);
    if (v >= 0) this.head(UINT, v);
    else this.head(NINT, -1 - v);
  }

  private text(v: string): void {
    if (!ASCII.test(v)) {
      if (LONE_SURROGATE.test(v)) this.refuse('a string without unpaired surrogates', v);
      this.string(TEXT, utf8Encoder.encode(v));
      return;
    }
    // Keys, secrets and URLs are ASCII: one byte per character, without a TextEncoder allocation.
    this.head(TEXT, v.length);
    this.reserve(v.length);
    for (let i = 0; i < v.length; i++) this.buf[this.len++] = v.charCodeAt(i);
  }

  private array(v: readonly unknown[], depth: number): void {
    this.enter(depth, v);
    this.head(ARRAY, v.length);
    for (let i = 0; i < v.length; i++) this.child(i, v[i], depth + 1);
  }

  private map(v: Record<string, unknown>, depth: number): void {
    this.enter(depth, v);
    const keys = Object.keys(v);
    this.head(MAP, keys.length);
    for (const key of keys) {
      if (key === '__proto__') this.refuse('a map without a "__proto__" key', v);
      this.text(key);
      this.child(key, v[key], depth + 1);
    }
  }

  private child(at: string | number, v: unknown, depth: number): void {
    this.path.push(at);
    this.item(v, depth);
    this.path.pop();
  }

  private enter(depth: number, v: unknown): void {
    if (depth + 1 > this.maxDepth) this.refuse(`nesting of at most ${this.maxDepth}`, v);
  }

  private refuse(expected: string, v: unknown): never {
    const argument = this.path.reduce<string>(
      (s, p) => (typeof p === 'number' ? `${s}[${p}]` : `${s}.${p}`),
      'value',
    );
    return fail(
      'InvalidInput',
      { argument, expected, received: describe(v) },
      `${argument}: expected ${expected}, got ${describe(v)}`,
    );
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  private byte(x: number): void {
    this.reserve(1);
    this.buf[this.len++] = x;
  }

  /** RFC 8949 §4.2.1: the shortest head that holds `n`. */
  private head(major: number, n: number): void {
    const mt = major << 5;
    if (n < 24) {
      this.byte(mt | n);
      return;
    }
    // Additional information 24, 25, 26, 27: 1, 2, 4, 8 argument bytes.
    const ai = n < 0x100 ? 24 : n < 0x10000 ? 25 : n < TWO_32 ? 26 : 27;
    const size = 1 << (ai - 24);
    this.reserve(1 + size);
    this.buf[this.len++] = mt | ai;
    let rest = n;
    for (let i = size - 1; i >= 0; i--) {
      this.buf[this.len + i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    this.len += size;
  }

  private string(major: number, content: Uint8Array): void {
    this.head(major, content.length);
    this.reserve(content.length);
    this.buf.set(content, this.len);
    this.len += content.length;
  }
}
