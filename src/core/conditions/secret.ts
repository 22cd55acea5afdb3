/**
 * NUT-10 well-known secrets `[kind, {nonce, data, tags}]` of the kinds lancash enforces (NUT-11 P2PK,
 * NUT-14 HTLC), and their witnesses: strict parsing with bounds checked before any crypto, and the
 * builders wallets use. Portable (noble only): the mints parse with it, wallets and the gateway build.
 */
import { bytesToHex } from '../bytes.js';
import { fail } from '../errors.js';
import { randomBytes } from '../random.js';

export type ConditionKind = 'P2PK' | 'HTLC';
export type SigFlag = 'SIG_INPUTS' | 'SIG_ALL';

/** The tags NUT-11 defines, parsed; keys are lowercase compressed hex. */
export interface ConditionTags {
  /** SIG_INPUTS when the tag is absent (NUT-11). */
  sigflag: SigFlag;
  n_sigs?: number;
  /** Extra locking keys ([] when absent). */
  pubkeys: string[];
  /** Unix seconds; absent also when the value is not a valid unix time (NUT-11: a permanent lock). */
  locktime?: number;
  /** Keys that may spend after `locktime` ([] when absent). */
  refund: string[];
  n_sigs_refund?: number;
}

export interface WellKnownSecret {
  kind: ConditionKind;
  nonce: string;
  /** P2PK: the locking key (lowercase compressed hex); HTLC: the hash lock (lowercase 32-byte hex). */
  data: string;
  tags: ConditionTags;
  /** The tags as sent: SIG_ALL compares them across inputs (NUT-11). */
  rawTags: string[][];
}

/** What a witness carries, parsed: signatures as lowercase 64-byte hex, the HTLC preimage as lowercase hex. */
export interface ParsedWitness {
  signatures: string[];
  preimage?: string;
}

/** Bounds, all checked before any crypto runs. */
export const CONDITION_LIMITS = {
  /** Tags in one secret. */
  maxTags: 16,
  /** Strings in one tag, its key included. */
  maxTagItems: 17,
  /** Characters of one tag string. */
  maxTagString: 128,
  /** Keys in one signing pathway (NUT-11 "data + pubkeys", or "refund"). */
  maxKeys: 16,
  maxNonce: 128,
  /** Signatures in one witness: no pathway has more keys, and thresholds count distinct keys. */
  maxSignatures: 16,
  /** NUT-14 preimages are 32 bytes. */
  preimageBytes: 32,
} as const;

const KEY = /^0[23][0-9a-f]{64}$/;
const HASH = /^[0-9a-f]{64}$/;
const SIG = /^[0-9a-f]{128}$/;
const POSITIVE = /^[1-9][0-9]{0,5}$/;
const UNIX_TIME = /^(?:0|[1-9][0-9]{0,15})$/;
const SINGLE = new Set(['sigflag', 'n_sigs', 'pubkeys', 'locktime', 'refund', 'n_sigs_refund']);

function malformed(argument: string, reason: string): never {
  return fail('ConditionMalformed', { argument, reason }, `${argument}: ${reason}`);
}

/**
 * Parses a NUT-10 well-known secret. Answers `undefined` for a plain secret (anything that is not a
 * JSON array opening with a kind string); throws `ConditionMalformed` for a well-known secret lancash
 * cannot enforce as written: an unknown kind, a bad field, a repeated tag, a threshold above its keys,
 * a key twice in one pathway (NUT-11 says such a proof MUST be rejected as unspendable).
 */
export function parseWellKnownSecret(secret: string, argument = 'secret'): WellKnownSecret | undefined {
  if (!secret.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(secret);
  } catch {
    // A random string may start with '['; one that names a kind we enforce must be JSON.
    if (/^\[\s*"(?:P2PK|HTLC)"/.test(secret)) malformed(argument, 'not valid JSON');
    return undefined;
  }
  if (!Array.isArray(v) || typeof v[0] !== 'string') return undefined;
  const kind = v[0];
  if (kind !== 'P2PK' && kind !== 'HTLC')
    return malformed(argument, `unknown kind ${JSON.stringify(kind.slice(0, 16))}`);
  if (v.length !== 2) malformed(argument, 'expected [kind, {nonce, data, tags}]');
  const body: unknown = v[1];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    malformed(argument, 'expected an object after the kind');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (k !== 'nonce' && k !== 'data' && k !== 'tags')
      malformed(argument, `unknown field ${JSON.stringify(k.slice(0, 16))}`);
  }
  const { nonce, data } = b;
  if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > CONDITION_LIMITS.maxNonce)
    malformed(argument, `nonce must be a string of 1 to ${CONDITION_LIMITS.maxNonce} characters`);
  if (typeof data !== 'string') return malformed(argument, 'data must be a string');
  const lower = data.toLowerCase();
  if (kind === 'P2PK' && !KEY.test(lower))
    malformed(argument, 'data must be a compressed public key (33-byte hex)');
  if (kind === 'HTLC' && !HASH.test(lower)) malformed(argument, 'data must be a SHA-256 hash (32-byte hex)');
  const rawTags = parseRawTags(b.tags, argument);
  const tags = parseTags(rawTags, argument);
  // NUT-11: the locking pathway is data + pubkeys for P2PK; an HTLC's data is a hash, not a key.
  const locking = kind === 'P2PK' ? [lower, ...tags.pubkeys] : tags.pubkeys;
  checkPathway(locking, tags.n_sigs, 'n_sigs', argument);
  checkPathway(tags.refund, tags.n_sigs_refund, 'n_sigs_refund', argument);
  return { kind, nonce, data: lower, tags, rawTags };
}

function parseRawTags(value: unknown, argument: string): string[][] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return malformed(argument, 'tags must be an array');
  if (value.length > CONDITION_LIMITS.maxTags)
    malformed(argument, `at most ${CONDITION_LIMITS.maxTags} tags`);
  return value.map((t: unknown, i) => {
    // NUT-11: tags are arrays of two or more strings.
    if (!Array.isArray(t) || t.length < 2 || t.length > CONDITION_LIMITS.maxTagItems)
      malformed(argument, `tags[${i}] must be 2 to ${CONDITION_LIMITS.maxTagItems} strings`);
    for (const s of t) {
      if (typeof s !== 'string' || s.length > CONDITION_LIMITS.maxTagString)
        malformed(
          argument,
          `tags[${i}] must hold strings of at most ${CONDITION_LIMITS.maxTagString} characters`,
        );
    }
    return t as string[];
  });
}

function parseTags(raw: string[][], argument: string): ConditionTags {
  const tags: ConditionTags = { sigflag: 'SIG_INPUTS', pubkeys: [], refund: [] };
  const seen = new Set<string>();
  for (const [key, ...values] of raw) {
    if (key === undefined || !SINGLE.has(key)) continue; // other tags carry no rule lancash enforces
    // NUT-11: each known tag appears at most once, else the secret is malformed.
    if (seen.has(key)) malformed(argument, `tag ${key} appears more than once`);
    seen.add(key);
    const one = (): string => {
      if (values.length !== 1) malformed(argument, `tag ${key} takes one value`);
      return values[0]!;
    };
    switch (key) {
      case 'sigflag': {
        const f = one();
        if (f !== 'SIG_INPUTS' && f !== 'SIG_ALL')
          malformed(argument, 'sigflag must be SIG_INPUTS or SIG_ALL');
        tags.sigflag = f;
        break;
      }
      case 'n_sigs':
      case 'n_sigs_refund': {
        const n = one();
        if (!POSITIVE.test(n)) malformed(argument, `${key} must be a positive integer`);
        tags[key] = Number(n);
        break;
      }
      case 'locktime': {
        // NUT-11: a locktime that is not a valid unix time makes the lock permanent.
        const t = one();
        if (UNIX_TIME.test(t) && Number.isSafeInteger(Number(t))) tags.locktime = Number(t);
        break;
      }
      case 'pubkeys':
      case 'refund': {
        if (values.length > CONDITION_LIMITS.maxKeys)
          malformed(argument, `at most ${CONDITION_LIMITS.maxKeys} keys in ${key}`);
        tags[key] = values.map((k) => {
          const lower = k.toLowerCase();
          if (!KEY.test(lower)) malformed(argument, `${key} must hold compressed public keys (33-byte hex)`);
          return lower;
        });
        break;
      }
    }
  }
  return tags;
}

/**
 * NUT-11: a threshold is at most the keys of its pathway, and a key (compared by x-coordinate) appears
 * once per pathway; either fault makes the proof unspendable.
 */
function checkPathway(keys: readonly string[], n: number | undefined, tag: string, argument: string): void {
  if (keys.length > CONDITION_LIMITS.maxKeys)
    malformed(argument, `at most ${CONDITION_LIMITS.maxKeys} keys per pathway`);
  if (n !== undefined && n > keys.length)
    malformed(argument, `${tag} ${n} exceeds the ${keys.length} key(s) that could sign`);
  const xs = new Set(keys.map((k) => k.slice(2)));
  if (xs.size !== keys.length)
    malformed(argument, `a key appears twice in the ${tag === 'n_sigs' ? 'locking' : 'refund'} pathway`);
}

/**
 * Parses a NUT-11/14 witness (`{"signatures":[hex…]}`, HTLC `{"preimage":hex,"signatures":[…]}`).
 * Bounded before anything else: at most `maxSignatures` signatures of 64 bytes, a preimage of 32 bytes.
 * Fields other than these two are ignored (they carry nothing lancash checks).
 */
export function parseWitness(witness: string | undefined, argument = 'witness'): ParsedWitness {
  const bad = (reason: string): never =>
    fail('WitnessMalformed', { argument, reason }, `${argument}: ${reason}`);
  if (witness === undefined || witness === '') return bad('missing: the note is locked and needs a witness');
  let v: unknown;
  try {
    v = JSON.parse(witness);
  } catch {
    return bad('not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('expected a JSON object');
  const { signatures, preimage } = v as { signatures?: unknown; preimage?: unknown };
  const sigs = signatures === undefined ? [] : signatures;
  if (!Array.isArray(sigs)) return bad('signatures must be an array');
  if (sigs.length > CONDITION_LIMITS.maxSignatures)
    bad(`at most ${CONDITION_LIMITS.maxSignatures} signatures (got ${sigs.length})`);
  const out: ParsedWitness = {
    signatures: sigs.map((s: unknown, i) => {
      const lower = typeof s === 'string' ? s.toLowerCase() : '';
      if (!SIG.test(lower)) bad(`signatures[${i}] must be a 64-byte Schnorr signature in hex`);
      return lower;
    }),
  };
  if (preimage !== undefined) {
    const lower = typeof preimage === 'string' ? preimage.toLowerCase() : '';
    if (lower.length !== 2 * CONDITION_LIMITS.preimageBytes || !HASH.test(lower))
      bad(`preimage must be ${CONDITION_LIMITS.preimageBytes} bytes of hex`);
    out.preimage = lower;
  }
  return out;
}

/** Options shared by the builders: the NUT-11 tags, typed. */
export interface ConditionOptions {
  /** Default: 32 random bytes, hex. */
  nonce?: string;
  sigflag?: SigFlag;
  n_sigs?: number;
  pubkeys?: readonly string[];
  /** Unix seconds. */
  locktime?: number;
  refund?: readonly string[];
  n_sigs_refund?: number;
}

function tagsOf(o: ConditionOptions): string[][] {
  const tags: string[][] = [];
  if (o.sigflag !== undefined) tags.push(['sigflag', o.sigflag]);
  if (o.n_sigs !== undefined) tags.push(['n_sigs', String(o.n_sigs)]);
  if (o.pubkeys !== undefined && o.pubkeys.length > 0) tags.push(['pubkeys', ...o.pubkeys]);
  if (o.locktime !== undefined) tags.push(['locktime', String(o.locktime)]);
  if (o.refund !== undefined && o.refund.length > 0) tags.push(['refund', ...o.refund]);
  if (o.n_sigs_refund !== undefined) tags.push(['n_sigs_refund', String(o.n_sigs_refund)]);
  return tags;
}

function build(kind: ConditionKind, data: string, o: ConditionOptions): string {
  const nonce = o.nonce ?? bytesToHex(randomBytes(32));
  const secret = JSON.stringify([kind, { nonce, data, tags: tagsOf(o) }]);
  // What we hand out must be what the mints accept: a builder never makes an unspendable note.
  parseWellKnownSecret(secret);
  return secret;
}

/** A NUT-11 P2PK secret locked to `pubkey` (compressed hex), as canonical JSON. */
export function p2pkSecret(o: ConditionOptions & { pubkey: string }): string {
  return build('P2PK', o.pubkey, o);
}

/** A NUT-14 HTLC secret locked to `hash` (SHA-256 of the preimage, hex), as canonical JSON. */
export function htlcSecret(o: ConditionOptions & { hash: string }): string {
  return build('HTLC', o.hash, o);
}
