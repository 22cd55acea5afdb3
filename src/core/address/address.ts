/**
 * Terminal addresses (docs/design.md §3): the human-friendly string a wallet shows so others can send it money.
 * bech32m (BIP-350) with the network as the human-readable part (`lan1…`, `wan1…`); the data is a
 * version byte, the terminal's 32-byte X25519 encryption key, in version 1 its 33-byte compressed
 * secp256k1 key that deliveries are P2PK-locked to (NUT-11), and optionally its inbox URL. Version 0
 * (no lock key) stays readable: deliveries to such an address are not locked.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32m } from '@scure/base';
import { describe, fail } from '../errors.js';
import { lruGet } from '../lru.js';

export type Network = 'lan' | 'wan';

export interface Address {
  network: Network;
  /** X25519 encryption public key, 32 bytes: envelopes to this terminal are sealed to it. */
  publicKey: Uint8Array;
  /**
   * secp256k1 public key, 33 bytes compressed (version 1): notes delivered to this terminal are
   * P2PK-locked to it. Absent (version 0): deliveries stay unlocked.
   */
  lockKey?: Uint8Array;
  /** Where the terminal takes envelopes itself (http or https); absent when it uses a mailbox. */
  inbox?: string;
}

/** Why `decodeAddress` refused a string. */
export type AddressProblem =
  | 'prefix'
  | 'case'
  | 'checksum'
  | 'version'
  | 'length'
  | 'key'
  | 'url'
  | 'network';

/** The version written when the address carries a lock key; without one, version 0 (the first format). */
export const ADDRESS_VERSION = 1;
export const MAX_INBOX_BYTES = 512;
const KEY_BYTES = 32;
const LOCK_KEY_BYTES = 33;
const NETWORKS: readonly Network[] = ['lan', 'wan'];
/** hrp + "1" + data (version, both keys and the longest inbox, 5 bits a character) + 6 checksum characters. */
export const MAX_ADDRESS_CHARS =
  3 + 1 + Math.ceil(((1 + KEY_BYTES + LOCK_KEY_BYTES + MAX_INBOX_BYTES) * 8) / 5) + 6;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes an address; throws `InvalidInput` naming the field that cannot be encoded. */
export function encodeAddress(a: Address): string {
  if (!NETWORKS.includes(a.network)) bad('network', "'lan' or 'wan'", a.network);
  if (!(a.publicKey instanceof Uint8Array) || a.publicKey.length !== KEY_BYTES) {
    bad('publicKey', `${KEY_BYTES} bytes`, a.publicKey);
  }
  if (a.lockKey !== undefined && !isLockKey(a.lockKey)) {
    bad('lockKey', `a ${LOCK_KEY_BYTES}-byte compressed secp256k1 point`, a.lockKey);
  }
  const inbox = a.inbox === undefined ? new Uint8Array(0) : encoder.encode(a.inbox);
  const problem = a.inbox === undefined ? undefined : inboxProblem(a.inbox, inbox.length);
  if (problem !== undefined) bad('inbox', problem, a.inbox);
  const lock = a.lockKey ?? new Uint8Array(0);
  const data = new Uint8Array(1 + KEY_BYTES + lock.length + inbox.length);
  data[0] = a.lockKey === undefined ? 0 : ADDRESS_VERSION;
  data.set(a.publicKey, 1);
  data.set(lock, 1 + KEY_BYTES);
  data.set(inbox, 1 + KEY_BYTES + lock.length);
  // BIP-173's 90-character limit is for segwit; an inbox URL needs more room.
  return bech32m.encode(a.network, bech32m.toWords(data), false);
}

/**
 * Decodes an address string (all lowercase or all uppercase, as bech32 allows). Throws `AddressInvalid`
 * whose `reason` names the problem: prefix, case, checksum, version, length, key, url or network.
 */
export function decodeAddress(s: unknown, expectedNetwork?: Network): Address {
  if (typeof s !== 'string') return refuse(describe(s), 'prefix', `expected a string, got ${describe(s)}`);
  if (s.length > MAX_ADDRESS_CHARS) return refuse(s, 'length', `longer than ${MAX_ADDRESS_CHARS} characters`);
  const a = lruGet(decoded, s, DECODED_CACHE, () => decodeFresh(s));
  if (expectedNetwork !== undefined && a.network !== expectedNetwork) {
    return refuse(s, 'network', `is a ${a.network} address, expected ${expectedNetwork}`);
  }
  // A copy: callers own what they get.
  const copy: Address = { network: a.network, publicKey: a.publicKey.slice() };
  if (a.lockKey !== undefined) copy.lockKey = a.lockKey.slice();
  if (a.inbox !== undefined) copy.inbox = a.inbox;
  return copy;
}

/**
 * Addresses decoded lately, by their exact text. A gateway decodes a conversion's destination several
 * times (intake, outputs' lock, sealing, delivery, the mailbox): ≈ 2.6 KB of bech32 words each, and
 * ≈ 80 µs when a lock key's point is checked. Only addresses that decoded are kept, at most this many.
 */
const DECODED_CACHE = 1024;
const decoded = new Map<string, Address>();

/** Decodes `s` (at most `MAX_ADDRESS_CHARS` long) without the network check, or throws `AddressInvalid`. */
function decodeFresh(s: string): Address {
  // BIP-173: a string must not mix upper and lower case.
  const lower = s.toLowerCase();
  if (s !== lower && s !== s.toUpperCase()) return refuse(s, 'case', 'mixes upper and lower case');
  const separator = lower.lastIndexOf('1');
  const hrp = lower.slice(0, separator);
  if (separator < 0 || !NETWORKS.includes(hrp as Network)) {
    return refuse(s, 'prefix', 'does not start with "lan1" or "wan1"');
  }
  const decoded = bech32m.decodeUnsafe(lower, false);
  if (!decoded) return refuse(s, 'checksum', 'checksum or characters are wrong (a typo?)');
  const network = decoded.prefix as Network;
  // BIP-173: the 5-bit groups must pad to whole bytes with zero bits.
  const data = bech32m.fromWordsUnsafe(decoded.words);
  if (!data) return refuse(s, 'length', 'data does not fill whole bytes');
  const version = data[0];
  if (version !== 0 && version !== ADDRESS_VERSION) {
    return refuse(s, 'version', `version ${version ?? 'missing'} is not 0 or ${ADDRESS_VERSION}`);
  }
  const keysEnd = 1 + KEY_BYTES + (version === 0 ? 0 : LOCK_KEY_BYTES);
  if (data.length < keysEnd) {
    const expected = version === 0 ? `${KEY_BYTES}` : `${KEY_BYTES} + ${LOCK_KEY_BYTES}`;
    return refuse(s, 'length', `keys are ${data.length - 1} bytes, not ${expected}`);
  }
  const address: Address = { network, publicKey: data.slice(1, 1 + KEY_BYTES) };
  if (version === ADDRESS_VERSION) {
    const lockKey = data.slice(1 + KEY_BYTES, keysEnd);
    if (!isLockKey(lockKey)) return refuse(s, 'key', 'lock key is not a compressed secp256k1 point');
    address.lockKey = lockKey;
  }
  const inboxBytes = data.subarray(keysEnd);
  if (inboxBytes.length > 0) {
    let inbox: string;
    try {
      inbox = strictUtf8.decode(inboxBytes);
    } catch {
      return refuse(s, 'url', 'inbox is not UTF-8');
    }
    const problem = inboxProblem(inbox, inboxBytes.length);
    if (problem !== undefined) return refuse(s, 'url', `inbox must be ${problem}`);
    address.inbox = inbox;
  }
  return address;
}

/** Whether `key` is a 33-byte compressed secp256k1 point (on the curve, not the point at infinity). */
function isLockKey(key: unknown): key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== LOCK_KEY_BYTES) return false;
  if (key[0] !== 2 && key[0] !== 3) return false;
  try {
    secp256k1.Point.fromBytes(key).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** What is wrong with an inbox URL, or undefined when it is fine. */
function inboxProblem(inbox: unknown, byteLength: number): string | undefined {
  const expected = `an http(s) URL of at most ${MAX_INBOX_BYTES} bytes`;
  if (typeof inbox !== 'string' || byteLength === 0 || byteLength > MAX_INBOX_BYTES) return expected;
  // The WHATWG URL parser silently drops spaces, tabs and newlines; an address must mean one exact URL.
  if (/[\s\p{Cc}]/u.test(inbox)) return expected;
  let url: URL;
  try {
    url = new URL(inbox);
  } catch {
    return expected;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : expected;
}

function refuse(address: string, reason: AddressProblem, why: string): never {
  const shown = address.length > 24 ? `${address.slice(0, 20)}…` : address;
  return fail('AddressInvalid', { address: shown, reason }, `address ${JSON.stringify(shown)} ${why}`);
}

function bad(argument: string, expected: string, received: unknown): never {
  return fail(
    'InvalidInput',
    { argument, expected, received: describe(received) },
    `address.${argument}: expected ${expected}, got ${describe(received)}`,
  );
}
