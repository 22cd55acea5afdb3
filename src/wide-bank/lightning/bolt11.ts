/**
 * BOLT #11 Lightning invoices: encode (for the fake backend, so wallets and real decoders accept its
 * invoices) and decode (for melt quotes on invoices from anywhere). Bech32 without the 90-character
 * limit; the signature is a recoverable secp256k1 signature over sha256(hrp ‖ data), so the payee's
 * node key is recovered rather than sent.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32 } from '@scure/base';
import { bytesToHex, concatBytes, utf8 } from '../../core/bytes.js';
import { describe, fail, isLancashError } from '../../core/errors.js';

export type Bolt11Network = 'bc' | 'tb' | 'bcrt' | 'tbs';

export interface Bolt11Invoice {
  network: Bolt11Network;
  /** Millisatoshis, or undefined for an amountless invoice. */
  amountMsat: bigint | undefined;
  /** Unix seconds when the invoice was created. */
  timestamp: number;
  /** Hex of the 32-byte payment hash (`p`). */
  paymentHash: string;
  /** Hex of the 32-byte payment secret (`s`), if present. */
  paymentSecret: string | undefined;
  /** `d`, if present. */
  description: string | undefined;
  /** `x`: seconds after `timestamp` until the invoice expires (BOLT #11 default 3600). */
  expirySeconds: number;
  /** `c` (BOLT #11 default 18). */
  minFinalCltvExpiry: number;
  /** Hex of the payee's compressed node key: `n` when present, else recovered from the signature. */
  payee: string;
}

export interface Bolt11Fields {
  network?: Bolt11Network;
  amountMsat?: bigint;
  timestamp: number;
  paymentHash: Uint8Array;
  paymentSecret: Uint8Array;
  description: string;
  expirySeconds?: number;
  minFinalCltvExpiry?: number;
  /** The node key that signs the invoice (32-byte secp256k1 secret key). */
  nodeKey: Uint8Array;
}

/** BOLT #11 tagged-field types (the bech32 character's 5-bit value). */
const TAG = { p: 1, x: 6, d: 13, s: 16, n: 19, h: 23, c: 24, features: 5 } as const;
/** BOLT #11: var_onion_optin (bit 8) and payment_secret (bit 14) required, as 5-bit words. */
const FEATURES = [16, 8, 0];
const DEFAULT_EXPIRY = 3600;
const MAX_DESCRIPTION_BYTES = 639;
const DEFAULT_MIN_FINAL_CLTV = 18;
const TIMESTAMP_WORDS = 7;
const SIGNATURE_WORDS = 104;
/** BOLT #11 amount multipliers, as millisatoshis per unit (`p` is a tenth of a millisatoshi). */
const MSAT_PER_BTC = 100_000_000_000n;
const MULTIPLIERS: readonly (readonly [suffix: string, msat: bigint])[] = [
  ['', MSAT_PER_BTC],
  ['m', 100_000_000n],
  ['u', 100_000n],
  ['n', 100n],
];
const HRP = /^ln(bc|tb|bcrt|tbs)(?:([1-9][0-9]*)([munp]?))?$/;
/** Far above any real invoice (a few hundred characters), far below anything that costs to parse. */
const MAX_LENGTH = 7089;

/** Encodes and signs an invoice. */
export function encodeBolt11(f: Bolt11Fields): string {
  const description = utf8(f.description);
  // BOLT #11: a field holds at most 1023 five-bit words, i.e. 639 bytes.
  if (description.length > MAX_DESCRIPTION_BYTES) {
    fail(
      'InvalidInput',
      {
        argument: 'description',
        expected: `at most ${MAX_DESCRIPTION_BYTES} UTF-8 bytes`,
        received: `${description.length} bytes`,
      },
      `description: expected at most ${MAX_DESCRIPTION_BYTES} UTF-8 bytes, got ${description.length}`,
    );
  }
  const hrp = `ln${f.network ?? 'bc'}${f.amountMsat === undefined ? '' : hrpAmount(f.amountMsat)}`;
  const words = [
    ...intWords(f.timestamp, TIMESTAMP_WORDS),
    ...tagged(TAG.p, bech32.toWords(f.paymentHash)),
    ...tagged(TAG.s, bech32.toWords(f.paymentSecret)),
    ...tagged(TAG.d, bech32.toWords(description)),
    ...tagged(TAG.x, intWords(f.expirySeconds ?? DEFAULT_EXPIRY)),
    ...tagged(TAG.c, intWords(f.minFinalCltvExpiry ?? DEFAULT_MIN_FINAL_CLTV)),
    ...tagged(TAG.features, FEATURES),
  ];
  const sig = secp256k1.sign(signedHash(hrp, words), f.nodeKey, { prehash: false, format: 'recovered' });
  // BOLT #11: 64-byte compact signature, then the recovery id (noble puts the recovery id first).
  const sig65 = concatBytes(sig.subarray(1), sig.subarray(0, 1));
  return bech32.encode(hrp, [...words, ...bech32.toWords(sig65)], false);
}

/** Decodes and checks an invoice; throws `InvalidInput` naming `request` and what is wrong. */
export function decodeBolt11(request: string): Bolt11Invoice {
  if (typeof request !== 'string' || request.length > MAX_LENGTH) {
    malformed(request, `a string of at most ${MAX_LENGTH} characters`);
  }
  // BOLT #11: readers accept the `lightning:` URI prefix; bech32 allows all-uppercase.
  const text = request.replace(/^lightning:/i, '');
  const decoded = bech32.decodeUnsafe(text, false);
  if (decoded === undefined) malformed(request, 'bech32 with a valid checksum');
  const m = HRP.exec(decoded.prefix);
  if (!m) malformed(request, 'a prefix ln + bc|tb|bcrt|tbs + optional amount');
  const words = decoded.words;
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) malformed(request, 'a timestamp and a signature');
  const data = words.slice(0, -SIGNATURE_WORDS);
  const sig65 = wordsToBytes(words.slice(-SIGNATURE_WORDS));
  const recovery = sig65[64]!;
  if (recovery > 3) malformed(request, 'a recovery id from 0 to 3');

  const fields = parseTagged(request, data.slice(TIMESTAMP_WORDS));
  // BOLT #11: p, s, h and n of the wrong length are skipped, not fatal.
  const paymentHash = fields.get(TAG.p)?.find((w) => w.length === 52);
  if (paymentHash === undefined) malformed(request, 'a 32-byte payment hash (p)');
  const secret = fields.get(TAG.s)?.find((w) => w.length === 52);
  const n = fields.get(TAG.n)?.find((w) => w.length === 53);
  const d = fields.get(TAG.d)?.[0];

  let payee: Uint8Array;
  try {
    const hash = signedHash(decoded.prefix, data);
    const recovered = concatBytes(sig65.subarray(64), sig65.subarray(0, 64));
    payee = secp256k1.recoverPublicKey(recovered, hash, { prehash: false });
    if (n !== undefined) {
      const stated = wordsToBytes(n);
      if (bytesToHex(stated) !== bytesToHex(payee)) malformed(request, 'a signature by the payee node n');
    }
  } catch (err) {
    if (isLancashError(err)) throw err;
    malformed(request, 'a valid secp256k1 signature');
  }
  return {
    network: m[1] as Bolt11Network,
    amountMsat: m[2] === undefined ? undefined : parseAmount(request, m[2], m[3] ?? ''),
    timestamp: wordsToInt(data.slice(0, TIMESTAMP_WORDS)),
    paymentHash: bytesToHex(wordsToBytes(paymentHash)),
    paymentSecret: secret === undefined ? undefined : bytesToHex(wordsToBytes(secret)),
    description: d === undefined ? undefined : utf8Decode(request, wordsToBytes(d)),
    expirySeconds: intField(fields.get(TAG.x)) ?? DEFAULT_EXPIRY,
    minFinalCltvExpiry: intField(fields.get(TAG.c)) ?? DEFAULT_MIN_FINAL_CLTV,
    payee: bytesToHex(payee),
  };
}

/** The shortest BOLT #11 amount for `msat`: the largest multiplier that divides it exactly. */
function hrpAmount(msat: bigint): string {
  if (msat <= 0n) {
    fail(
      'InvalidAmount',
      { argument: 'amountMsat', expected: 'a positive amount', received: String(msat) },
      `amountMsat must be positive, got ${msat}`,
    );
  }
  for (const [suffix, per] of MULTIPLIERS) if (msat % per === 0n) return `${msat / per}${suffix}`;
  return `${msat * 10n}p`; // BOLT #11: pico-bitcoin, ten per millisatoshi
}

function parseAmount(request: string, digits: string, multiplier: string): bigint {
  const n = BigInt(digits);
  if (multiplier === 'p') {
    // BOLT #11: a `p` amount that is not a whole millisatoshi is invalid.
    if (n % 10n !== 0n) malformed(request, 'a pico-bitcoin amount ending in 0');
    return n / 10n;
  }
  return n * (MULTIPLIERS.find(([s]) => s === multiplier)?.[1] ?? MSAT_PER_BTC);
}

/** BOLT #11: the signature covers sha256(hrp as UTF-8 ‖ data words as bytes, zero-padded). */
function signedHash(hrp: string, words: readonly number[]): Uint8Array {
  return sha256(concatBytes(utf8(hrp), wordsToBytes(words, true)));
}

function tagged(type: number, data: readonly number[]): number[] {
  return [type, data.length >> 5, data.length & 31, ...data];
}

function parseTagged(request: string, words: readonly number[]): Map<number, number[][]> {
  const fields = new Map<number, number[][]>();
  for (let i = 0; i < words.length; ) {
    if (i + 3 > words.length) malformed(request, 'complete tagged fields');
    const type = words[i]!;
    const length = words[i + 1]! * 32 + words[i + 2]!;
    const data = words.slice(i + 3, i + 3 + length);
    if (data.length !== length) malformed(request, 'complete tagged fields');
    fields.set(type, [...(fields.get(type) ?? []), data]);
    i += 3 + length;
  }
  return fields;
}

/** Big-endian 5-bit words of a non-negative integer, at least `width` words. */
function intWords(n: number, width = 1): number[] {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 32)) out.unshift(v % 32);
  while (out.length < width) out.unshift(0);
  return out;
}

function wordsToInt(words: readonly number[]): number {
  return words.reduce((n, w) => n * 32 + w, 0);
}

function intField(values: number[][] | undefined): number | undefined {
  const w = values?.[0];
  // More than 10 words (50 bits) would not be an exact JS number; no real expiry is that long.
  return w === undefined || w.length > 10 ? undefined : wordsToInt(w);
}

/**
 * 5-bit words → bytes. Field data drops the trailing bits that do not fill a byte; the signed data is
 * zero-padded to a whole byte (BOLT #11), so bech32's strict `fromWords` fits neither.
 */
function wordsToBytes(words: readonly number[], pad = false): Uint8Array {
  const out = new Uint8Array(pad ? Math.ceil((words.length * 5) / 8) : Math.floor((words.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const w of words) {
    acc = ((acc << 5) | w) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  if (pad && bits > 0) out[at] = (acc << (8 - bits)) & 0xff;
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8Decode(request: string, bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return malformed(request, 'a UTF-8 description (d)');
  }
}

function malformed(request: unknown, expected: string): never {
  return fail(
    'InvalidInput',
    { argument: 'request', expected: `a BOLT11 invoice: ${expected}`, received: describe(request) },
    `request: expected a BOLT11 invoice with ${expected}, got ${describe(request)}`,
  );
}
