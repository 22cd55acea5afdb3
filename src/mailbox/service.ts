/**
 * The mailbox (DESIGN §3): the inbox that the wide bank (WAN) and the gateway (LAN) keep for
 * terminals that are offline. Anyone may deposit an envelope sealed to a terminal; only the terminal
 * may drain its inbox, by sending an envelope sealed from its own key (HPKE auth mode proves it).
 * The mailbox sees ciphertext only. Delivery is at least once: a message goes only when its owner
 * acks it in a later drain, so a lost answer loses nothing; owners dedupe by transfer id.
 */
import { type Static, Type } from '@sinclair/typebox';
import { type Address, decodeAddress, type Network } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { type EncryptionKeyPair, type Envelope, EnvelopeSchema, openJson } from '../core/envelope/index.js';
import { fail } from '../core/errors.js';
import { decode } from '../core/protocol/cashu.js';
import type { Store } from '../store/index.js';
import * as repo from './repository.js';

/** The envelope type of a drain request. */
export const DRAIN_TYPE = 'mailbox.drain';

export interface MailboxLimits {
  /** Largest envelope, as its compact JSON text in bytes. */
  maxEnvelopeBytes: number;
  /** Pending messages one inbox may hold. */
  maxMessages: number;
  /** Pending envelope bytes one inbox may hold. */
  maxInboxBytes: number;
  /** Messages in one drain answer (its size is at most this × `maxEnvelopeBytes`). */
  maxDrain: number;
  /** A drain's `at` may differ from the server's clock by this much; its nonce is kept twice as long. */
  drainWindowMs: number;
  /** An acked message's keys are kept this long, so a replayed deposit stays a no-op. */
  keepAckedMs: number;
}

export const DEFAULT_MAILBOX_LIMITS: MailboxLimits = {
  maxEnvelopeBytes: 64 * 1024,
  maxMessages: 1000,
  maxInboxBytes: 16 * 1024 * 1024,
  maxDrain: 100,
  drainWindowMs: 10 * 60_000,
  keepAckedMs: 24 * 3_600_000,
};

/** Drain answers stay well below the HTTP client's 16 MiB answer cap. */
const MAX_DRAIN_ANSWER_BYTES = 12 * 1024 * 1024;

/** A message id: the inbox's sequence number as decimal text (ids are never reused). */
export const MessageId = Type.String({ minLength: 1, maxLength: 16, pattern: '^[1-9][0-9]{0,15}$' });

/** The payload of a `mailbox.drain` envelope. */
export function drainPayloadSchema(limits: MailboxLimits) {
  return Type.Object(
    {
      /** Ids received in an earlier answer; they are deleted now. */
      ack: Type.Array(MessageId, { maxItems: limits.maxMessages }),
      /** At most this many messages in the answer; default and cap `maxDrain`. */
      max: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.maxDrain })),
      /** The owner's clock (unix ms): with the nonce table, it stops a drain being replayed later. */
      at: Type.Integer({ minimum: 0 }),
    },
    { additionalProperties: false },
  );
}
export type DrainPayload = Static<ReturnType<typeof drainPayloadSchema>>;

export const StoredMessage = Type.Object({ id: MessageId, envelope: EnvelopeSchema });
export type StoredMessage = Static<typeof StoredMessage>;

export const DrainAnswer = Type.Object({
  /** Pending messages, oldest first. */
  messages: Type.Array(StoredMessage),
  /** True when more messages are pending than this answer holds. */
  more: Type.Boolean(),
});
export type DrainAnswer = Static<typeof DrainAnswer>;

export const DepositAnswer = Type.Object({
  /** True when this sender's envelope with this transfer id was stored before: nothing changed. */
  duplicate: Type.Boolean(),
});
export type DepositAnswer = Static<typeof DepositAnswer>;

export const MailboxInfo = Type.Object({
  network: Type.Union([Type.Literal('lan'), Type.Literal('wan')]),
  /** The server's X25519 public key (hex): drain envelopes are sealed to it. */
  key: Type.String(),
  maxEnvelopeBytes: Type.Integer(),
  maxMessages: Type.Integer(),
  maxInboxBytes: Type.Integer(),
  maxDrain: Type.Integer(),
  drainWindowMs: Type.Integer(),
});
export type MailboxInfo = Static<typeof MailboxInfo>;

export interface MailboxOptions {
  store: Store;
  /** The server's long-term key pair; drain requests are sealed to its public key. */
  serverKey: EncryptionKeyPair;
  /** Addresses of the other network are refused. */
  network: Network;
  limits?: Partial<MailboxLimits>;
  /** Clock (unix ms); tests move it. */
  now?: () => number;
}

export class Mailbox {
  readonly limits: MailboxLimits;
  readonly network: Network;
  private readonly store: Store;
  private readonly serverKey: EncryptionKeyPair;
  private readonly now: () => number;
  private readonly drainPayload: ReturnType<typeof drainPayloadSchema>;

  constructor(o: MailboxOptions) {
    this.limits = { ...DEFAULT_MAILBOX_LIMITS, ...o.limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        fail(
          'InvalidInput',
          { argument: `limits.${name}`, expected: 'a positive integer', received: String(value) },
          `limits.${name}: expected a positive integer, got ${String(value)}`,
        );
      }
    }
    if (this.limits.maxDrain * this.limits.maxEnvelopeBytes > MAX_DRAIN_ANSWER_BYTES) {
      const expected = `maxDrain × maxEnvelopeBytes ≤ ${MAX_DRAIN_ANSWER_BYTES}`;
      fail(
        'InvalidInput',
        { argument: 'limits.maxDrain', expected, received: String(this.limits.maxDrain) },
        `limits.maxDrain: expected ${expected}, got ${this.limits.maxDrain} × ${this.limits.maxEnvelopeBytes}`,
      );
    }
    this.store = o.store;
    this.serverKey = o.serverKey;
    this.network = o.network;
    this.now = o.now ?? Date.now;
    this.drainPayload = drainPayloadSchema(this.limits);
  }

  info(): MailboxInfo {
    const { maxEnvelopeBytes, maxMessages, maxInboxBytes, maxDrain, drainWindowMs } = this.limits;
    return {
      network: this.network,
      key: bytesToHex(this.serverKey.publicKey),
      maxEnvelopeBytes,
      maxMessages,
      maxInboxBytes,
      maxDrain,
      drainWindowMs,
    };
  }

  /**
   * Stores `envelope` in the inbox of `address`. Refuses an address of the other network
   * (`AddressInvalid`), an envelope sealed to another key (`EnvelopeWrongRecipient`), one larger than
   * `maxEnvelopeBytes` (`PayloadTooLarge`) and a full inbox (`MailboxFull`). The same sender and
   * transfer id again stores nothing and answers `duplicate: true`.
   */
  async deposit(address: string, envelope: Envelope): Promise<DepositAnswer> {
    const recipient = bytesToHex(this.decodeAddress(address).publicKey);
    if (envelope.recipient !== recipient) {
      fail(
        'EnvelopeWrongRecipient',
        { expected: recipient, received: envelope.recipient },
        `envelope is sealed to ${envelope.recipient}, not to the key of ${address}`,
      );
    }
    const text = canonicalText(envelope);
    // Every field is ASCII (the schema's patterns), so characters are bytes.
    const size = text.length;
    const { maxEnvelopeBytes, maxMessages, maxInboxBytes } = this.limits;
    if (size > maxEnvelopeBytes) {
      fail(
        'PayloadTooLarge',
        { limit: maxEnvelopeBytes },
        `envelope is ${size} bytes, more than this mailbox's ${maxEnvelopeBytes}`,
      );
    }
    const now = this.now();
    return this.store.transaction(async (trx) => {
      const inbox = await repo.lockInbox(trx, recipient);
      // Checked under the inbox lock, so a concurrent copy of the same envelope is seen here.
      if ((await repo.findTransfer(trx, recipient, envelope.sender, envelope.transferId)) !== undefined) {
        return { duplicate: true };
      }
      if (inbox.messages + 1 > maxMessages) {
        fail(
          'MailboxFull',
          { limit: 'messages', max: maxMessages },
          `inbox holds ${maxMessages} messages already`,
        );
      }
      if (inbox.bytes + size > maxInboxBytes) {
        fail(
          'MailboxFull',
          { limit: 'bytes', max: maxInboxBytes },
          `inbox holds ${inbox.bytes} of ${maxInboxBytes} bytes; this envelope is ${size}`,
        );
      }
      const seq = inbox.last_seq + 1;
      await repo.setInboxCounters(trx, recipient, {
        messages: inbox.messages + 1,
        bytes: inbox.bytes + size,
        last_seq: seq,
      });
      await repo.insertMessage(trx, {
        recipient,
        seq,
        sender: envelope.sender,
        transfer_id: envelope.transferId,
        envelope: text,
        size,
        created_at: now,
      });
      return { duplicate: false };
    });
  }

  /**
   * Serves a drain request: `request` is the envelope as it arrived, sealed from the key of `address`
   * to the server's key, type `mailbox.drain`, payload `{ ack, max?, at }`, transfer id a fresh nonce.
   * Deletes the acked messages and answers the pending ones oldest first. Refusals: another network
   * (`AddressInvalid`), sealed to another server (`EnvelopeWrongRecipient`), not from the owner or
   * not a drain (`EnvelopeOpenFailed`), a used nonce (`EnvelopeReplayed`), `at` outside the window
   * (`InvalidInput`). A refused drain changes nothing.
   */
  async drain(address: string, request: unknown): Promise<DrainAnswer> {
    const owner = this.decodeAddress(address).publicKey;
    const opened = await openJson({
      envelope: request,
      recipient: this.serverKey,
      expectedSender: owner,
      expectedType: DRAIN_TYPE,
    });
    const payload = decode(this.drainPayload, opened.payload, 'payload');
    const now = this.now();
    const window = this.limits.drainWindowMs;
    if (Math.abs(payload.at - now) > window) {
      const expected = `within ${window} ms of the server's clock (${now})`;
      fail(
        'InvalidInput',
        { argument: 'payload.at', expected, received: String(payload.at) },
        `payload.at: expected ${expected}, got ${payload.at}`,
      );
    }
    const ownerHex = bytesToHex(owner);
    const max = payload.max ?? this.limits.maxDrain;
    return this.store.transaction(async (trx) => {
      // A nonce is accepted only with `at` ≥ now − window, so keeping it 2 × window covers every replay.
      if (!(await repo.useNonce(trx, ownerHex, opened.transferId, now))) {
        fail(
          'EnvelopeReplayed',
          { transferId: opened.transferId },
          `drain nonce ${opened.transferId} was already used`,
        );
      }
      // Per owner, so drains of different inboxes never contend for the same rows.
      await repo.prune(trx, ownerHex, now - 2 * window, now - this.limits.keepAckedMs);
      const freed = await repo.ackMessages(trx, ownerHex, payload.ack.map(Number), now);
      if (freed.messages > 0) await repo.addToInbox(trx, ownerHex, -freed.messages, -freed.bytes);
      const rows = await repo.pendingMessages(trx, ownerHex, max + 1);
      return {
        messages: rows.slice(0, max).map((r) => ({
          id: String(r.seq),
          envelope: JSON.parse(r.envelope) as Envelope,
        })),
        more: rows.length > max,
      };
    });
  }

  private decodeAddress(address: string): Address {
    return decodeAddress(address, this.network);
  }
}

/** The envelope's compact JSON with its fields in schema order, whatever order they arrived in. */
function canonicalText(e: Envelope): string {
  const { v, type, transferId, sender, recipient, enc, ct } = e;
  return JSON.stringify({ v, type, transferId, sender, recipient, enc, ct });
}
