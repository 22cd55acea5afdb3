/**
 * Typed calls to a mailbox (the wide bank's or the gateway's), for senders that deposit envelopes
 * and for terminals that drain their own inbox. Built on `call`, so a refusal is a `LancashError`
 * and a lost answer is `UnclearOutcome`: depositing again is harmless (a replay stores nothing), and
 * draining again with the same acks re-delivers what a lost answer carried.
 */
import { base64urlnopad } from '@scure/base';
import { decodeAddress, encodeAddress } from '../core/address/index.js';
import { equalBytes } from '../core/bytes.js';
import { type EncryptionKeyPair, type Envelope, sealJson } from '../core/envelope/index.js';
import { fail } from '../core/errors.js';
import { call } from '../core/http/client.js';
import { DepositAnswer, DRAIN_TYPE, DrainAnswer, MailboxInfo, WATCH_TYPE } from './protocol.js';

export interface CallTuning {
  /** Whole call; default the client's 10 s. */
  timeoutMs?: number;
}

export interface DrainOptions extends CallTuning {
  /** The inbox owner's key pair: the drain is sealed from it, which proves ownership. */
  owner: EncryptionKeyPair;
  /** The owner's address (its key must be `owner.publicKey`). */
  address: string;
  /** The mailbox server's X25519 public key (`GET /v1/inbox` → `key`). */
  serverKey: Uint8Array;
  /** Ids of messages received in earlier answers and safely kept; the mailbox deletes them. */
  ack: readonly string[];
  /** At most this many messages in the answer. */
  max?: number;
  /** The request's nonce; default 16 fresh random bytes. Tests pass one to replay a drain. */
  nonce?: string;
  /** The owner's clock (unix ms); default now. */
  at?: number;
}

/** The mailbox's network, server key and limits. */
export function mailboxInfo(base: string, o: CallTuning = {}): Promise<MailboxInfo> {
  return call({ base, method: 'GET', path: '/v1/inbox', schema: MailboxInfo, ...o });
}

/** Deposits `envelope` in the inbox of `address`; `duplicate` is true when it was stored before. */
export function deposit(
  base: string,
  address: string,
  envelope: Envelope,
  o: CallTuning = {},
): Promise<DepositAnswer> {
  return call({
    base,
    method: 'POST',
    path: `/v1/inbox/${inboxPath(address)}`,
    body: envelope,
    schema: DepositAnswer,
    ...o,
  });
}

/**
 * The URL of the live events of the owner's inbox (`GET /v1/inbox/:address/events`) with a fresh
 * proof: a `mailbox.watch` envelope sealed from the owner's key to the mailbox's, used once. Make a new
 * one for every (re)connection (`subscribe` in `web/ui/live.ts` takes a function for that).
 */
export async function inboxEventsUrl(
  base: string,
  o: Pick<DrainOptions, 'owner' | 'address' | 'serverKey' | 'nonce' | 'at'>,
): Promise<string> {
  checkOwner(o.address, o.owner);
  const proof = await sealJson({
    type: WATCH_TYPE,
    transferId: o.nonce ?? base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(16))),
    sender: o.owner,
    recipient: o.serverKey,
    payload: { at: o.at ?? Date.now() },
  });
  const text = base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(proof)));
  // As `call` joins them: the base may carry a path.
  return `${base.replace(/\/+$/, '')}/v1/inbox/${inboxPath(o.address)}/events?proof=${text}`;
}

/** Acks `o.ack` and fetches the pending messages of the owner's inbox, oldest first. */
export async function drain(base: string, o: DrainOptions): Promise<DrainAnswer> {
  checkOwner(o.address, o.owner);
  const payload: { ack: string[]; max?: number; at: number } = { ack: [...o.ack], at: o.at ?? Date.now() };
  if (o.max !== undefined) payload.max = o.max;
  const request = await sealJson({
    type: DRAIN_TYPE,
    transferId: o.nonce ?? base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(16))),
    sender: o.owner,
    recipient: o.serverKey,
    payload,
  });
  return call({
    base,
    method: 'POST',
    path: `/v1/inbox/${inboxPath(o.address)}/drain`,
    body: request,
    schema: DrainAnswer,
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
  });
}

function checkOwner(address: string, owner: EncryptionKeyPair): void {
  if (!equalBytes(decodeAddress(address).publicKey, owner.publicKey)) {
    fail(
      'InvalidInput',
      { argument: 'address', expected: "the owner's address", received: 'an address of another key' },
      "address: expected the owner's address, got an address of another key",
    );
  }
}

/**
 * The address in its shortest form (version 0: no lock key, no inbox URL): one inbox per key (the
 * mailbox reads only the X25519 key), and a URL path within the servers' 100-character parameters.
 */
function inboxPath(address: string): string {
  const { network, publicKey } = decodeAddress(address);
  return encodeAddress({ network, publicKey });
}
