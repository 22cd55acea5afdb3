/**
 * The mailbox's HTTP routes, mounted by the wide bank (WAN terminals) and the gateway's LAN listener
 * (LAN terminals). Controller only: schemas check shapes and bound bodies, `Mailbox` does the work.
 *   GET  /v1/inbox                   the mailbox's network, server key and limits
 *   POST /v1/inbox/:address          deposit an envelope (body: the envelope)
 *   POST /v1/inbox/:address/drain    drain (body: a `mailbox.drain` envelope from the address's key)
 */
import { Type } from '@sinclair/typebox';
import { MAX_ADDRESS_CHARS } from '../core/address/index.js';
import { EnvelopeSchema } from '../core/envelope/index.js';
import { type LancashServer, WireErrorSchema } from '../core/http/server.js';
import { DepositAnswer, DrainAnswer, Mailbox, MailboxInfo, type MailboxOptions } from './service.js';

export type MailboxRoutesOptions = MailboxOptions;

const AddressParams = Type.Object({ address: Type.String({ minLength: 1, maxLength: MAX_ADDRESS_CHARS }) });
/** Room for whitespace and field order around an envelope's compact JSON. */
const BODY_SLACK = 1024;
/** Longest ack entry in a drain payload's JSON: 16 digits, quotes and a comma. */
const BYTES_PER_ACK = 19;

/** Adds the mailbox routes to a server built by `createServer`; returns the mailbox they serve. */
export function registerMailboxRoutes(app: LancashServer, o: MailboxRoutesOptions): Mailbox {
  const mailbox = new Mailbox(o);
  const { maxEnvelopeBytes, maxMessages } = mailbox.limits;
  // The drain payload (acks, max, at) plus the Poly1305 tag, as base64url, plus the envelope's header.
  const drainBodyLimit = Math.ceil(((maxMessages * BYTES_PER_ACK + 96 + 16) * 4) / 3) + BODY_SLACK;
  const refusals = { '4xx': WireErrorSchema };

  app.get(
    '/v1/inbox',
    {
      schema: {
        summary: 'Mailbox network, server key (drains are sealed to it) and limits',
        response: { 200: MailboxInfo },
      },
    },
    async () => mailbox.info(),
  );

  app.post(
    '/v1/inbox/:address',
    {
      bodyLimit: maxEnvelopeBytes + BODY_SLACK,
      schema: {
        summary: 'Deposit an envelope for an offline terminal; a replay stores nothing',
        params: AddressParams,
        body: EnvelopeSchema,
        response: { 200: DepositAnswer, ...refusals },
      },
    },
    async (req) => mailbox.deposit(req.params.address, req.body),
  );

  app.post(
    '/v1/inbox/:address/drain',
    {
      bodyLimit: drainBodyLimit,
      schema: {
        summary: 'Owner acks received messages and reads pending ones, oldest first',
        params: AddressParams,
        body: EnvelopeSchema,
        response: { 200: DrainAnswer, ...refusals },
      },
    },
    async (req) => mailbox.drain(req.params.address, req.body),
  );
  return mailbox;
}
