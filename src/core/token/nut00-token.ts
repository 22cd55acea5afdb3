/**
 * NUT-00 token serialisation: the bearer strings people paste and Cashu wallets read. Encodes V4
 * (`cashuB` + base64url(CBOR)) and its raw binary form (`crawB` + CBOR); decodes V4 and the deprecated
 * V3 (`cashuA` + base64url(JSON), one mint only). Every decoded proof passes the `Proof` schema, so a
 * token that decodes is a well-formed token; whether its signatures are good is the mint's question.
 */
import { base64urlnopad } from '@scure/base';
import { bytesToHex, hex, utf8 } from '../bytes.js';
import * as cbor from '../cbor/index.js';
import { describe, isLancashError, LancashError } from '../errors.js';
import { decode, Proof } from '../protocol/cashu.js';
import { checkWellFormed } from '../unicode.js';

/** A token of one mint and one unit: what a wallet hands over. */
export interface Token {
  mint: string;
  unit: string;
  memo?: string;
  proofs: Proof[];
}

export interface DecodeTokenOptions {
  /**
   * NUT-00: a V4 token may carry the 8-byte short form of a V2 keyset id; only someone who knows the
   * mint's keysets can map it back to the full id. Return the full id, or undefined when unknown;
   * throw when the short id matches several keysets (NUT-00 says parsing must then fail).
   */
  resolveShortKeysetId?: (shortId: string) => string | undefined;
}

/** Longest token string accepted: about 8 000 proofs in V4, far more than any wallet sends. */
export const MAX_TOKEN_CHARS = 1_048_576;
export const MAX_MINT_URL_CHARS = 2048;
export const MAX_UNIT_CHARS = 64;
export const MAX_MEMO_CHARS = 4096;

const V3_PREFIX = 'cashuA';
const V4_PREFIX = 'cashuB';
const URI_SCHEME = 'cashu:';
const RAW_V4_PREFIX = utf8('crawB');

/** A proof before schema validation: fields as they arrived, byte strings already hex. */
type ProofCandidate = Record<string, unknown>;

function invalid(reason: string, cause?: unknown): never {
  throw new LancashError('InvalidToken', { reason }, `token: ${reason}`, { cause });
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** `cashuB` + unpadded base64url of the NUT-00 V4 CBOR. Proofs are grouped by keyset id in first-seen order. */
export function encodeTokenV4(token: Token): string {
  return V4_PREFIX + base64urlnopad.encode(tokenV4Cbor(token));
}

/** NUT-00 binary token: utf8("craw") ‖ utf8("B") ‖ cbor(token). */
export function encodeTokenV4Raw(token: Token): Uint8Array {
  const body = tokenV4Cbor(token);
  const out = new Uint8Array(RAW_V4_PREFIX.length + body.length);
  out.set(RAW_V4_PREFIX);
  out.set(body, RAW_V4_PREFIX.length);
  return out;
}

function tokenV4Cbor(token: Token): Uint8Array {
  // The encoder checks what it is given with the decoder's rules, so it never writes a token it would refuse.
  const t = assembleToken(token.mint, token.unit, token.memo, token.proofs);
  const groups = new Map<string, Proof[]>();
  for (const p of t.proofs) {
    const id = p.id.toLowerCase();
    const group = groups.get(id);
    if (group) group.push(p);
    else groups.set(id, [p]);
  }
  // NUT-00 V4 keys; this order (t, d, m, u; a, s, c, d, w) reproduces the spec's example bytes.
  const body: cbor.CborMap = {
    t: [...groups].map(([id, proofs]) => ({ i: hex(id, 'id'), p: proofs.map(proofToV4) })),
  };
  if (t.memo !== undefined) body.d = t.memo;
  body.m = t.mint;
  body.u = t.unit;
  return cbor.encode(body);
}

function proofToV4(p: Proof): cbor.CborMap {
  const out: cbor.CborMap = { a: p.amount, s: p.secret, c: hex(p.C, 'C', 33) };
  if (p.dleq) {
    out.d = {
      e: hex(p.dleq.e, 'dleq.e', 32),
      s: hex(p.dleq.s, 'dleq.s', 32),
      r: hex(p.dleq.r, 'dleq.r', 32),
    };
  }
  if (p.witness !== undefined) out.w = p.witness;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes a `cashuB` (V4) or `cashuA` (V3) token, with or without the `cashu:` URI scheme and base64
 * padding, in base64url or plain base64. Throws `InvalidToken` for a malformed token and `InvalidInput`
 * naming the proof field for a proof the schema refuses.
 */
export function decodeToken(s: unknown, opts: DecodeTokenOptions = {}): Token {
  if (typeof s !== 'string') return invalid(`expected a string, got ${describe(s)}`);
  if (s.length > MAX_TOKEN_CHARS) return invalid(`longer than ${MAX_TOKEN_CHARS} characters`);
  let body = s.trim();
  // NUT-00: the `cashu:` URI scheme makes tokens clickable.
  if (body.slice(0, URI_SCHEME.length).toLowerCase() === URI_SCHEME) body = body.slice(URI_SCHEME.length);
  if (body.startsWith(V4_PREFIX))
    return tokenFromV4(decodeCbor(base64Bytes(body.slice(V4_PREFIX.length))), opts);
  if (body.startsWith(V3_PREFIX)) return tokenFromV3(base64Bytes(body.slice(V3_PREFIX.length)));
  if (body.startsWith('cashu')) return invalid(`unsupported token version ${JSON.stringify(body.charAt(5))}`);
  return invalid('missing the "cashuA" or "cashuB" prefix');
}

/** Decodes a NUT-00 binary token (`crawB` ‖ CBOR). */
export function decodeTokenRaw(bytes: unknown, opts: DecodeTokenOptions = {}): Token {
  if (!(bytes instanceof Uint8Array)) return invalid(`expected bytes, got ${describe(bytes)}`);
  if (bytes.length > MAX_TOKEN_CHARS) return invalid(`longer than ${MAX_TOKEN_CHARS} bytes`);
  for (let i = 0; i < RAW_V4_PREFIX.length; i++) {
    if (bytes[i] !== RAW_V4_PREFIX[i]) return invalid('missing the "crawB" prefix');
  }
  return tokenFromV4(decodeCbor(bytes.subarray(RAW_V4_PREFIX.length)), opts);
}

const BASE64_BODY = /^[A-Za-z0-9_+/-]*$/;

/** NUT-00: base64_urlsafe, padding optional; plain base64 is accepted too, as other wallets do. */
function base64Bytes(s: string): Uint8Array {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d /* = */) end--;
  const body = s.slice(0, end);
  if (body.length === 0 || s.length - end > 2 || !BASE64_BODY.test(body))
    return invalid('body is not base64');
  try {
    return base64urlnopad.decode(body.replaceAll('+', '-').replaceAll('/', '_'));
  } catch (e) {
    return invalid('body is not base64', e);
  }
}

function decodeCbor(bytes: Uint8Array): cbor.CborValue {
  try {
    return cbor.decode(bytes);
  } catch (e) {
    if (isLancashError(e, 'CborInvalid'))
      return invalid(`CBOR is malformed: ${e.info.reason} at byte ${e.info.offset}`, e);
    throw e;
  }
}

function tokenFromV4(decoded: cbor.CborValue, opts: DecodeTokenOptions): Token {
  // Strict UTF-8 already keeps surrogates out; the walk refuses NUL as every JSON decoder does.
  checkWellFormed(decoded, 'token');
  const root = record(decoded, 'token');
  const groups = array(root.t, 'token.t');
  const proofs: ProofCandidate[] = [];
  groups.forEach((g, gi) => {
    const group = record(g, `token.t[${gi}]`);
    const id = keysetId(bytes(group.i, `token.t[${gi}].i`), opts);
    array(group.p, `token.t[${gi}].p`).forEach((q, pi) => {
      const where = `token.t[${gi}].p[${pi}]`;
      const p = record(q, where);
      const candidate: ProofCandidate = {
        amount: p.a,
        id,
        secret: p.s,
        C: bytesToHex(bytes(p.c, `${where}.c`)),
      };
      if (p.d !== undefined) {
        const d = record(p.d, `${where}.d`);
        candidate.dleq = {
          e: bytesToHex(bytes(d.e, `${where}.d.e`)),
          s: bytesToHex(bytes(d.s, `${where}.d.s`)),
          r: bytesToHex(bytes(d.r, `${where}.d.r`)),
        };
      }
      if (p.w !== undefined) candidate.witness = p.w;
      proofs.push(candidate);
    });
  });
  return assembleToken(root.m, root.u, root.d, proofs);
}

function tokenFromV3(json: Uint8Array): Token {
  let parsed: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
    parsed = JSON.parse(text);
  } catch (e) {
    return invalid('V3 body is not JSON', e);
  }
  checkWellFormed(parsed, 'token', text);
  const root = record(parsed, 'token');
  const entries = array(root.token, 'token.token');
  let mint: unknown;
  const proofs: ProofCandidate[] = [];
  entries.forEach((e, ei) => {
    const entry = record(e, `token.token[${ei}]`);
    const m = mintUrl(entry.mint);
    if (mint !== undefined && m !== mint)
      invalid('V3 token holds proofs of several mints; lancash takes one');
    mint = m;
    array(entry.proofs, `token.token[${ei}].proofs`).forEach((q, pi) => {
      const p = record(q, `token.token[${ei}].proofs[${pi}]`);
      const candidate: ProofCandidate = { amount: p.amount, id: p.id, secret: p.secret, C: p.C };
      if (p.dleq !== undefined) candidate.dleq = p.dleq;
      if (p.witness !== undefined) candidate.witness = p.witness;
      proofs.push(candidate);
    });
  });
  // NUT-00 V3: `unit` is optional; tokens without one come from sat-only wallets.
  return assembleToken(mint, root.unit === undefined ? 'sat' : root.unit, root.memo, proofs);
}

/** The one place a token's fields are checked, for decoding and encoding alike. */
function assembleToken(mint: unknown, unit: unknown, memo: unknown, candidates: readonly unknown[]): Token {
  const token: Token = { mint: mintUrl(mint), unit: boundedString(unit, 'unit', MAX_UNIT_CHARS), proofs: [] };
  if (memo !== undefined && memo !== null) token.memo = boundedString(memo, 'memo', MAX_MEMO_CHARS, 0);
  if (candidates.length === 0) invalid('holds no proofs');
  token.proofs = candidates.map((c, i) => cleanProof(decode(Proof, c, `token.proofs[${i}]`)));
  return token;
}

/** A proof with exactly the schema's fields, so unknown fields never travel on (NUT-00: ignore them). */
function cleanProof(p: Proof): Proof {
  const out: Proof = { amount: p.amount, id: p.id, secret: p.secret, C: p.C };
  if (p.dleq) out.dleq = { e: p.dleq.e, s: p.dleq.s, r: p.dleq.r };
  if (p.witness !== undefined) out.witness = p.witness;
  return out;
}

function mintUrl(value: unknown): string {
  const s = boundedString(value, 'mint', MAX_MINT_URL_CHARS);
  // NUT-00: the mint URL is normalised by stripping trailing slashes.
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x2f /* / */) end--;
  const url = s.slice(0, end);
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    invalid(`mint is not an http(s) URL: ${describe(value)}`);
  return url;
}

function boundedString(value: unknown, field: string, max: number, min = 1): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    return invalid(`${field} must be a string of ${min} to ${max} characters, got ${describe(value)}`);
  }
  return value;
}

/** NUT-00 V4 `i`: a full keyset id (8 bytes for V1, 33 for V2) or the 8-byte short form of a V2 id. */
function keysetId(id: Uint8Array, opts: DecodeTokenOptions): string {
  const idHex = bytesToHex(id);
  if (id.length !== 8 || id[0] !== 0x01) return idHex;
  const full = opts.resolveShortKeysetId?.(idHex);
  if (full === undefined) return invalid(`short keyset id ${idHex} is not known to this wallet`);
  // NUT-00: a short id is the first 8 bytes of the full id.
  if (typeof full !== 'string' || !full.toLowerCase().startsWith(idHex)) {
    return invalid(`short keyset id ${idHex} resolved to an id that does not start with it`);
  }
  return full.toLowerCase();
}

function record(value: unknown, where: string): Record<string, unknown> {
  // CBOR maps decode to prototype-free objects, JSON objects to plain ones; nothing else is a map.
  const proto = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    return invalid(`${where} must be a map, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) {
    return invalid(`${where} must be a non-empty array, got ${describe(value)}`);
  }
  return value;
}

function bytes(value: unknown, where: string): Uint8Array {
  if (!(value instanceof Uint8Array))
    return invalid(`${where} must be a byte string, got ${describe(value)}`);
  return value;
}
