/**
 * Terminal addresses (docs/design.md §3): the human-friendly string a wallet shows so others can send it money.
 * bech32m (BIP-350) with the network as the human-readable part (`lan1…`, `wan1…`); the data is a
 * version byte 0, the terminal's 32-byte X25519 encryption key, and optionally its inbox URL.
 */
import { bech32m } from '@scure/base';
import { describe, fail } from '../errors.js';

export type Network = 'lan' | 'wan';

export interface Address {
  network: Network;
  /** X25519 encryption public key, 32 bytes: envelopes to this terminal are sealed to it. */
  publicKey: Uint8Array;
  /** Where the terminal takes envelopes itself (http or https); absent when it uses a mailbox. */
  inbox?: string;
}

/** Why `decodeAddress` refused a string. */
export type AddressProblem = 'prefix' | 'case' | 'checksum' | 'version' | 'length' | 'url' | 'network';

export const ADDRESS_VERSION = 0;
export const MAX_INBOX_BYTES = 512;
const KEY_BYTES = 32;
const NETWORKS: readonly Network[] = ['lan', 'wan'];
/** hrp + "1" + data (version, key and the longest inbox, 5 bits a character) + 6 checksum characters. */
export const MAX_ADDRESS_CHARS = 3 + 1 + Math.ceil(((1 + KEY_BYTES + MAX_INBOX_BYTES) * 8) / 5) + 6;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes an address; throws `InvalidInput` naming the field that cannot be encoded. */
export function encodeAddress(a: Address): string {
  if (!NETWORKS.includes(a.network)) bad('network', "'lan' or 'wan'", a.network);
  if (!(a.publicKey instanceof Uint8Array) || a.publicKey.length !== KEY_BYTES) {
    bad('publicKey', `${KEY_BYTES} bytes`, a.publicKey);
  }
  const inbox = a.inbox === undefined ? new Uint8Array(0) : encoder.encode(a.inbox);
  const problem = a.inbox === undefined ? undefined : inboxProblem(a.inbox, inbox.length);
  if (problem !== undefined) bad('inbox', problem, a.inbox);
  const data = new Uint8Array(1 + KEY_BYTES + inbox.length);
  data[0] = ADDRESS_VERSION;
  data.set(a.publicKey, 1);
  data.set(inbox, 1 + KEY_BYTES);
  // BIP-173's 90-character limit is for segwit; an inbox URL needs more room.
  return bech32m.encode(a.network, bech32m.toWords(data), false);
}

/**
 * Decodes an address string (all lowercase or all uppercase, as bech32 allows). Throws `AddressInvalid`
 * whose `reason` names the problem: prefix, case, checksum, version, length, url or network.
 */
export function decodeAddress(s: unknown, expectedNetwork?: Network): Address {
  if (typeof s !== 'string') return refuse(describe(s), 'prefix', `expected a string, got ${describe(s)}`);
  if (s.length > MAX_ADDRESS_CHARS) return refuse(s, 'length', `longer than ${MAX_ADDRESS_CHARS} characters`);
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
  if (data.length === 0 || data[0] !== ADDRESS_VERSION) {
    return refuse(s, 'version', `version ${data[0] ?? 'missing'} is not ${ADDRESS_VERSION}`);
  }
  if (data.length < 1 + KEY_BYTES)
    return refuse(s, 'length', `key is ${data.length - 1} bytes, not ${KEY_BYTES}`);
  const address: Address = { network, publicKey: data.slice(1, 1 + KEY_BYTES) };
  const inboxBytes = data.subarray(1 + KEY_BYTES);
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
  if (expectedNetwork !== undefined && network !== expectedNetwork) {
    return refuse(s, 'network', `is a ${network} address, expected ${expectedNetwork}`);
  }
  return address;
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
