/**
 * The mailbox's wire protocol (docs/design.md §3): the envelope types and the answers' schemas that
 * the server (`service.ts`, `http.ts`) and its portable client (`client.ts`, reached by the wallet
 * core in the browser) share. Nothing here touches storage, so the client pulls in no server code.
 */
import { type Static, Type } from '@sinclair/typebox';
import { EnvelopeSchema } from '../core/envelope/index.js';

/** The envelope type of a drain request. */
export const DRAIN_TYPE = 'mailbox.drain';
/** The envelope type of the proof that opens an inbox's live events (`GET /v1/inbox/:address/events`). */
export const WATCH_TYPE = 'mailbox.watch';

/** A message id: the inbox's sequence number as decimal text (ids are never reused). */
export const MessageId = Type.String({ minLength: 1, maxLength: 16, pattern: '^[1-9][0-9]{0,15}$' });

export const StoredMessage = Type.Object({ id: MessageId, envelope: EnvelopeSchema });
export type StoredMessage = Static<typeof StoredMessage>;

/**
 * The live events' `arrived` (`GET /v1/inbox/:address/events`): with data, one message just stored,
 * as a drain would answer it (the owner may take it from here and ack it in a later drain); without,
 * messages wait (the stream's first event, or one the stream could not tell): drain.
 */
export const ARRIVED_EVENT = 'arrived';
export const ArrivedEvent = StoredMessage;

export const DrainAnswer = Type.Object({
  /** Pending messages, oldest first. */
  messages: Type.Array(StoredMessage),
  /** True when more messages are pending than this answer holds. */
  more: Type.Boolean(),
});
export type DrainAnswer = Static<typeof DrainAnswer>;

export const DepositAnswer = Type.Object({
  /** True when these exact bytes (same sender, transfer id and content) were stored before: nothing changed. */
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
  // Optional: mailboxes from before issue 8 do not tell them.
  maxTotalMessages: Type.Optional(Type.Integer()),
  maxTotalBytes: Type.Optional(Type.Integer()),
  maxDepositorMessages: Type.Optional(Type.Integer()),
  maxDepositorBytes: Type.Optional(Type.Integer()),
  maxDepositorInboxPercent: Type.Optional(Type.Integer()),
  strangersPercent: Type.Optional(Type.Integer()),
  maxAgeMs: Type.Optional(Type.Integer()),
});
export type MailboxInfo = Static<typeof MailboxInfo>;
