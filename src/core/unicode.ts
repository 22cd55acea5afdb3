/**
 * Ill-formed strings at the edge. JSON's `\uXXXX` escapes can spell an unpaired UTF-16 surrogate
 * (RFC 8259 §8.2 allows the text, leaves its meaning open), which no UTF-8 encoder can represent:
 * `TextEncoder` turns every one into U+FFFD, so `"\ud800"` and `"\udfff"` are different strings with
 * the same bytes. A note's identity is the hash of its secret's bytes (NUT-00), so such strings would
 * alias notes; stored elsewhere they are invalid UTF-8. And `"\u0000"` spells NUL, which PostgreSQL's
 * `text` and `jsonb` cannot hold: SQLite would store what PostgreSQL fails on, so one request would
 * answer differently by dialect (a 5xx on one). Every decoder of untrusted JSON (HTTP bodies,
 * envelope payloads, V3 tokens) refuses both with `InvalidString`; CBOR (V4 tokens) cannot spell a
 * surrogate, as it decodes UTF-8 strictly, and its decoded values pass the same walk for NUL.
 */
import { fail } from './errors.js';

/** An unpaired UTF-16 surrogate (a valid pair is one code point, not `Cs`). */
export const LONE_SURROGATE = /\p{Cs}/u;
/** What no stored string may hold: a lone surrogate, or NUL (U+0000). */
const ILL_FORMED = /[\p{Cs}\0]/u;
/**
 * A `\u` escape of a surrogate or of NUL in JSON text; without one, `JSON.parse` cannot produce
 * either (RFC 8259 §7: control characters appear in a string only escaped).
 */
const ILL_FORMED_ESCAPE = /\\u(?:[dD][89a-fA-F]|0000)/;

/**
 * Throws `InvalidString` naming the first string (value or object key) of a parsed JSON value that
 * holds a lone surrogate. With `text` (the JSON it was parsed from, already valid UTF-8), values whose
 * text has no surrogate escape are passed without a walk, the common case. The walk is iterative, so
 * deeply nested input cannot overflow the stack.
 */
export function checkWellFormed(value: unknown, argument: string, text?: string): void {
  // A search for the backslash first: a pattern pass over an envelope payload's kilobytes of hex costs
  // ≈ 1 ns a character, `indexOf` a few per cent of that, and most texts have no backslash at all.
  if (text !== undefined && (text.indexOf('\\') === -1 || !ILL_FORMED_ESCAPE.test(text))) return;
  interface Item {
    value: unknown;
    key: string | number | undefined;
    parent: Item | undefined;
  }
  const stack: Item[] = [{ value, key: undefined, parent: undefined }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const v = item.value;
    if (typeof v === 'string') {
      if (ILL_FORMED.test(v)) refuse(item, v);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: item });
    } else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
      // Byte strings (CBOR) hold no text.
      for (const [k, child] of Object.entries(v)) {
        if (ILL_FORMED.test(k)) refuse({ value: k, key: '[key]', parent: item }, k, 'key');
        stack.push({ value: child, key: k, parent: item });
      }
    }
  }

  function refuse(item: Item, s: string, what = 'string'): never {
    const keys: (string | number)[] = [];
    for (let at: Item | undefined = item; at?.key !== undefined; at = at.parent) {
      keys.push(typeof at.key === 'string' && at.key.length > 64 ? `${at.key.slice(0, 61)}...` : at.key);
    }
    const path = [argument, ...keys.reverse()].join('.');
    const index = s.search(ILL_FORMED);
    if (s.charCodeAt(index) === 0) {
      return fail(
        'InvalidString',
        { argument: path, reason: `NUL (U+0000) at index ${index} of the ${what}` },
        `${path}: the ${what} holds a NUL character (U+0000) at index ${index}; send text without NUL`,
      );
    }
    const unit = s.charCodeAt(index).toString(16).toUpperCase();
    return fail(
      'InvalidString',
      { argument: path, reason: `lone surrogate U+${unit} at index ${index} of the ${what}` },
      `${path}: ill-formed ${what} (lone surrogate U+${unit} at index ${index}); send well-formed Unicode`,
    );
  }
}
