/**
 * The mailbox's HTTP routes, mounted by the wide bank (WAN terminals) and the gateway's LAN listener
 * (LAN terminals). Controller only: schemas check shapes and bound bodies, `Mailbox` does the work.
 *   GET  /v1/inbox                   the mailbox's network, server key and limits
 *   POST /v1/inbox/:address          deposit an envelope (body: the envelope)
 *   POST /v1/inbox/:address/drain    drain (body: a `mailbox.drain` envelope from the address's key)
 *   GET  /v1/inbox/:address/events   live `arrived` events for the owner, each new message with it
 *                                    (`?proof=`: a `mailbox.watch` envelope from the address's key,
 *                                    base64url of its JSON)
 * The depositor a quota counts against is the client's IP as Fastify sees it (`req.ip`, so behind a
 * trusted proxy the forwarded one), an IPv6 client by its /64 (one host's usual allocation). The
 * routes also sweep expired messages every `sweepIntervalMs` until the server closes. On PostgreSQL,
 * where several processes may share the mailbox, the live events also tell the deposits the other
 * processes stored (`follow.ts`, one look a second over the inboxes watched here).
 */
import { BlockList, isIP } from 'node:net';
import { base64urlnopad } from '@scure/base';
import { Type } from '@sinclair/typebox';
import { Counter, Gauge } from 'prom-client';
import { decodeAddress, MAX_ADDRESS_CHARS } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { EnvelopeSchema } from '../core/envelope/index.js';
import { fail, isLancashError } from '../core/errors.js';
import { clientOf } from '../core/http/client-key.js';
import { type LancashServer, parseTrustedProxies, WireErrorSchema } from '../core/http/server.js';
import { sseHub, Topics } from '../core/http/sse.js';
import { ArrivalFollower } from './follow.js';
import { ARRIVED_EVENT, DepositAnswer, DrainAnswer, MailboxInfo, type StoredMessage } from './protocol.js';
import { DEFAULT_MAILBOX_LIMITS, Mailbox, type MailboxOptions } from './service.js';

export interface MailboxRoutesOptions extends MailboxOptions {
  /**
   * Clients whose deposits count as the server's own (no depositor quotas, the room kept for
   * deliveries): IP addresses or CIDR blocks, e.g. the gateway's address at the wide bank.
   */
  trustedDepositors?: readonly string[];
  /**
   * On PostgreSQL, how the live events follow the deposits other processes store (`follow.ts`):
   * `everyMs` between looks (default 1 s); `false`: not at all. A SQLite mailbox is one process's.
   */
  follow?: { everyMs?: number } | false;
}

const AddressParams = Type.Object({ address: Type.String({ minLength: 1, maxLength: MAX_ADDRESS_CHARS }) });
/** Room for whitespace and field order around an envelope's compact JSON. */
const BODY_SLACK = 1024;
/** Longest ack entry in a drain payload's JSON: 16 digits, quotes and a comma. */
const BYTES_PER_ACK = 19;
/** A `mailbox.watch` proof's JSON is about 330 characters, its base64url about 440. */
const WatchQuery = Type.Object(
  { proof: Type.Optional(Type.String({ maxLength: 2048, pattern: '^[A-Za-z0-9_-]*$' })) },
  { additionalProperties: false },
);

/** Adds the mailbox routes to a server built by `createServer`; returns the mailbox they serve. */
export function registerMailboxRoutes(app: LancashServer, o: MailboxRoutesOptions): Mailbox {
  // Deposits that stored a new message, by inbox key: what the live streams wait on.
  const arrivals = new Topics<StoredMessage>();
  const publish = (recipient: string, message: StoredMessage) => arrivals.publish(recipient, message);
  const follower =
    o.store.dialect === 'postgres' && o.follow !== false
      ? new ArrivalFollower({
          store: o.store,
          publish,
          // A page holds at most what one drain answers (`maxDrain × maxEnvelopeBytes`, bounded).
          page: o.limits?.maxDrain ?? DEFAULT_MAILBOX_LIMITS.maxDrain,
          ...(o.follow?.everyMs !== undefined ? { everyMs: o.follow.everyMs } : {}),
          ...(o.now !== undefined ? { now: o.now } : {}),
          log: app.log,
        })
      : undefined;
  follower?.start();
  const mailbox = new Mailbox({
    ...o,
    onArrived: (recipient, message) => {
      o.onArrived?.(recipient, message);
      if (follower !== undefined) follower.stored(recipient, message);
      else publish(recipient, message);
    },
  });
  // What an operator watches of the gate (docs/operations.md, "What each alert means").
  new Gauge({
    name: 'lancash_mailbox_network_writes',
    help: "Mailbox writes from the network (strangers' deposits, drains, watches) in the database (running) and waiting for a place",
    labelNames: ['what'],
    registers: [app.metrics],
    collect() {
      this.set({ what: 'running' }, mailbox.gate.inFlight);
      this.set({ what: 'waiting' }, mailbox.gate.waitingNow);
    },
  });
  const busy = new Counter({
    name: 'lancash_mailbox_busy_total',
    help: 'Mailbox writes from the network refused 429 MailboxBusy (the gate full: maxNetworkWrites running, maxNetworkWritesWaiting waiting)',
    registers: [app.metrics],
  });
  const trusted = blockListOf(o.trustedDepositors ?? []);
  const depositor = (ip: string) => {
    const client = clientOf(ip);
    // An IPv4 client (also IPv4-mapped) is checked as IPv4; an IPv6 one by its whole address, not its /64.
    const at = isIP(client) === 4 ? client : ip;
    return trusted.check(at, isIP(at) === 6 ? 'ipv6' : 'ipv4') ? '' : client;
  };
  const { maxEnvelopeBytes, maxMessages } = mailbox.limits;
  // The drain payload (acks, max, at) plus the Poly1305 tag, as base64url, plus the envelope's header.
  const drainBodyLimit = Math.ceil(((maxMessages * BYTES_PER_ACK + 96 + 16) * 4) / 3) + BODY_SLACK;
  const refusals = { '4xx': WireErrorSchema };
  // A request the gate refused (429 `MailboxBusy`) says when to come back (RFC 9110 §10.2.3).
  const onError = async (
    _req: unknown,
    reply: { header(name: string, value: string): unknown },
    e: Error,
  ) => {
    if (!isLancashError(e, 'MailboxBusy')) return;
    busy.inc();
    reply.header('retry-after', String(e.info.retryAfterSeconds));
  };

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
      onError,
      schema: {
        summary: 'Deposit an envelope for an offline terminal; a replay stores nothing',
        params: AddressParams,
        body: EnvelopeSchema,
        response: { 200: DepositAnswer, ...refusals },
      },
    },
    async (req) => mailbox.deposit(req.params.address, req.body, depositor(req.ip)),
  );

  app.post(
    '/v1/inbox/:address/drain',
    {
      bodyLimit: drainBodyLimit,
      onError,
      schema: {
        summary: 'Owner acks received messages and reads pending ones, oldest first',
        params: AddressParams,
        body: EnvelopeSchema,
        response: { 200: DrainAnswer, ...refusals },
      },
    },
    async (req) => mailbox.drain(req.params.address, req.body, clientOf(req.ip)),
  );

  // Per client (IP, IPv6 /64: the depositors' rule) and per server, shared with the server's other streams.
  const streams = sseHub(app, { clientOf });
  app.get(
    '/v1/inbox/:address/events',
    {
      onError,
      schema: {
        summary:
          "Owner: live `arrived` events of the inbox (text/event-stream), with a fresh proof from the owner's key",
        params: AddressParams,
        querystring: WatchQuery,
        response: refusals,
      },
    },
    async (req, reply) => {
      // The bounds first: a client over them costs no decryption and no database.
      const owner = ownerKeyOf(mailbox, req.params.address);
      const ticket = streams.admit(req.ip, { key: owner, max: mailbox.limits.maxInboxStreams });
      let arrived = false;
      let stream: ReturnType<typeof ticket.open> | undefined;
      // Subscribed before the check reads what is pending, so a deposit in between is not missed.
      // Once open, each new message goes out whole: the owner need not drain to read it (it acks it
      // in a later drain), which saves a drain's round trip, opening and transaction per message.
      const unsubscribe = arrivals.subscribe(owner, (message) => {
        if (stream === undefined) arrived = true;
        else stream.send(ARRIVED_EVENT, message);
      });
      // Other processes' deposits too, from now (`follow.ts`).
      const unwatch = follower?.watch(owner);
      const off = () => {
        unsubscribe();
        unwatch?.();
      };
      try {
        const { pending } = await mailbox.checkWatch(
          req.params.address,
          proofOf(req.query.proof),
          clientOf(req.ip),
        );
        stream = ticket.open(reply);
        stream.onClose(off);
        if (pending || arrived) stream.send(ARRIVED_EVENT);
      } catch (e) {
        off();
        ticket.release();
        throw e;
      }
      return reply;
    },
  );

  // Unref'd: a sweep never keeps a process alive; a sweep that fails is retried at the next tick.
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    mailbox
      .sweep()
      .then((r) => {
        if (r.expired + r.tombstones + r.nonces > 0) app.log.info({ swept: r }, 'mailbox sweep');
      })
      .catch((err: unknown) => app.log.warn({ err }, 'mailbox sweep failed; retried at the next tick'))
      .finally(() => {
        sweeping = false;
      });
  }, mailbox.limits.sweepIntervalMs);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await follower?.stop();
  });
  return mailbox;
}

/** The inbox key (hex) of `address` on the mailbox's network; `AddressInvalid` otherwise. */
function ownerKeyOf(mailbox: Mailbox, address: string): string {
  return bytesToHex(decodeAddress(address, mailbox.network).publicKey);
}

/** The proof's envelope from its base64url JSON; anything unreadable is refused as not the owner's. */
function proofOf(text: string | undefined): unknown {
  if (text === undefined || text === '') {
    fail('InboxWatchRefused', { reason: 'no proof' }, 'cannot follow this inbox: no proof (?proof=)');
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64urlnopad.decode(text)));
  } catch {
    return fail(
      'InboxWatchRefused',
      { reason: 'the proof is not base64url JSON' },
      'cannot follow this inbox: the proof is not base64url JSON',
    );
  }
}

/** The addresses and CIDR blocks of `list` (checked by `parseTrustedProxies`' rules) as a `BlockList`. */
export function blockListOf(list: readonly string[]): BlockList {
  const blocks = new BlockList();
  for (const entry of parseTrustedProxies(list)) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) blocks.addAddress(address, type);
    else blocks.addSubnet(address, Number(prefix), type);
  }
  return blocks;
}
