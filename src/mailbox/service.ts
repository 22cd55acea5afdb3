/**
 * The mailbox (docs/design.md §3): the inbox that the wide bank (WAN) and the gateway (LAN) keep for
 * terminals that are offline. Anyone may deposit an envelope sealed to a terminal; only the terminal
 * may drain its inbox, by sending an envelope sealed from its own key (HPKE auth mode proves it).
 * The mailbox sees ciphertext only. Delivery is at least once: a message goes only when its owner
 * acks it in a later drain, so a lost answer loses nothing; owners dedupe by transfer id.
 * Deposits are deduped by content (sender, transfer id and the envelope's sha256), never by the claim
 * alone: the mailbox cannot tell a real sender from one who names its key, so it keeps both and lets
 * the owner, who can open them, throw the junk away (issue 8). Strangers are bounded by quotas per
 * inbox, per depositor (client IP) and across every inbox, and pending messages expire.
 */
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { type Address, decodeAddress, type Network } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { type EncryptionKeyPair, type Envelope, openJson } from '../core/envelope/index.js';
import { fail, isLancashError } from '../core/errors.js';
import { lruGet } from '../core/lru.js';
import { decode } from '../core/protocol/cashu.js';
import { positiveInteger } from '../core/settings.js';
import { traceStep } from '../core/step-trace.js';
import { GroupCommit } from '../mint/group-commit.js';
import type { Store, TransactionOptions } from '../store/index.js';
import type { Database } from '../store/schema.js';
import { type GateTicket, WriteGate } from './gate.js';
import {
  type DepositAnswer,
  DRAIN_TYPE,
  type DrainAnswer,
  type MailboxInfo,
  MessageId,
  type StoredMessage,
  WATCH_TYPE,
} from './protocol.js';
import * as repo from './repository.js';

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
  /** Pending messages across every inbox. */
  maxTotalMessages: number;
  /** Pending envelope bytes across every inbox. */
  maxTotalBytes: number;
  /** Pending messages one depositor (client IP, IPv6 /64) may have across every inbox. */
  maxDepositorMessages: number;
  /** Pending envelope bytes one depositor may have across every inbox. */
  maxDepositorBytes: number;
  /**
   * The share (percent, 1–100) of one inbox's `maxMessages` and `maxInboxBytes` one depositor may
   * fill: a single stranger cannot fill an inbox and so hold off the real deliveries until it drains.
   */
  maxDepositorInboxPercent: number;
  /**
   * The share (percent, 1–100) of each inbox and of the whole mailbox that depositors (strangers,
   * counted by IP) may fill together. The rest is kept for the server's own deliveries (the gateway's
   * payments into its LAN mailbox) and for trusted depositors (`trustedDepositors`: the gateway at the
   * bank), so junk from many addresses delays no real delivery.
   */
  strangersPercent: number;
  /** A message nobody acks is deleted this long after its deposit. */
  maxAgeMs: number;
  /** How often the server sweeps expired messages, old tombstones and old nonces. */
  sweepIntervalMs: number;
  /** Rows one sweep step deletes at most, so a sweep never holds the database for long. */
  sweepBatch: number;
  /** Live event streams one inbox may have open at once (its owner's pages and devices). */
  maxInboxStreams: number;
  /**
   * Writes from the network (strangers' deposits, drains, watches: every one but the server's own and
   * trusted depositors') in the database at once. On PostgreSQL each holds a pooled connection through
   * its commit: keep this at most a quarter of the pool (`poolSize`, default 10), so clients from many
   * addresses together never hold the connections the server's own writes need (`gate.ts`).
   */
  maxNetworkWrites: number;
  /** Writes from the network waiting for one of those places (holding no connection); past it, 429 `MailboxBusy`. */
  maxNetworkWritesWaiting: number;
  /**
   * The percentage of `maxNetworkWritesWaiting` one client (IPv4 address, IPv6 /64) may hold (at
   * least one place); past it, 429 `MailboxBusy`, so one client cannot turn everyone else away (`gate.ts`).
   */
  maxClientWaitingPercent: number;
}

export const DEFAULT_MAILBOX_LIMITS: MailboxLimits = {
  maxEnvelopeBytes: 64 * 1024,
  maxMessages: 1000,
  maxInboxBytes: 16 * 1024 * 1024,
  maxDrain: 100,
  drainWindowMs: 10 * 60_000,
  keepAckedMs: 24 * 3_600_000,
  maxTotalMessages: 100_000,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxDepositorMessages: 10_000,
  maxDepositorBytes: 64 * 1024 * 1024,
  maxDepositorInboxPercent: 50,
  strangersPercent: 90,
  maxAgeMs: 30 * 24 * 3_600_000,
  sweepIntervalMs: 60_000,
  sweepBatch: 1000,
  maxInboxStreams: 4,
  maxNetworkWrites: 2,
  maxNetworkWritesWaiting: 128,
  maxClientWaitingPercent: 25,
};

const LimitValue = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
/** Any subset of the limits, as an operator writes them (`--mailbox-limits '{"maxTotalBytes":…}'`). */
export const MailboxLimitsSchema = Type.Partial(
  Type.Object(
    Object.fromEntries(Object.keys(DEFAULT_MAILBOX_LIMITS).map((k) => [k, LimitValue])) as {
      [K in keyof MailboxLimits]: typeof LimitValue;
    },
  ),
  { additionalProperties: false },
);

/** Reads limits from their JSON text (a CLI flag); refuses unknown names and non-positive values. */
export function parseMailboxLimits(text: string, argument = 'mailbox limits'): Partial<MailboxLimits> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(
      'InvalidInput',
      { argument, expected: 'a JSON object of limits', received: text.slice(0, 80) },
      `${argument}: expected a JSON object of limits, got ${text.slice(0, 80)}`,
    );
  }
  return decode(MailboxLimitsSchema, value, argument);
}

/** What one sweep deleted. */
export interface SweepResult {
  /** Pending messages older than `maxAgeMs`. */
  expired: number;
  /** Tombstones older than `keepAckedMs`. */
  tombstones: number;
  /** Drain nonces older than 2 × `drainWindowMs`. */
  nonces: number;
}

/** Drain answers stay well below the HTTP client's 16 MiB answer cap. */
const MAX_DRAIN_ANSWER_BYTES = 12 * 1024 * 1024;

/** The payload of a `mailbox.watch` proof: the owner's clock; the envelope's transfer id is a fresh nonce. */
const WatchPayload = Type.Object({ at: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

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

export interface MailboxOptions {
  store: Store;
  /** The server's long-term key pair; drain requests are sealed to its public key. */
  serverKey: EncryptionKeyPair;
  /** Addresses of the other network are refused. */
  network: Network;
  limits?: Partial<MailboxLimits>;
  /** Clock (unix ms); tests move it. */
  now?: () => number;
  /**
   * After a deposit stored a new message (committed), with the inbox's key (hex) and the message as a
   * drain would answer it: what the live events tell the owner.
   */
  onArrived?: (recipient: string, message: StoredMessage) => void;
  /**
   * Runs one deposit's or drain's writes as one transaction, or as one savepoint of a transaction
   * shared with other writes (a `GroupCommit`). Default: a `GroupCommit` of the mailbox's own on
   * SQLite, each write its own transaction on PostgreSQL (`Mailbox.commit`). It must honour
   * `options.durable: false` (a drain's commit moves no value) as `Store.transaction` and `GroupCommit`
   * do, or commit durably.
   */
  commit?: WriteCommit;
}

/**
 * Runs a deposit's or a drain's writes in a transaction (maybe shared: each may run again); `options`
 * as `Store.transaction`'s.
 */
export type WriteCommit = <T>(
  write: (trx: Kysely<Database>) => Promise<T>,
  options?: TransactionOptions,
) => Promise<T>;

/**
 * A drain's and a watch's commit moves no value (`TransactionOptions.durable: false`): it returns
 * without waiting for the log's flush, so a power loss may lose it (docs/storage.md, "Commits that move
 * no value"). Lost, the acked messages are pending again and the next drain delivers them again, the
 * same ids and bytes: owners take a message once by its sender and transfer id (`wallet/receive.ts`,
 * tested by a receipt redelivered after a crash), and a notice about a finished transfer changes
 * nothing. A lost nonce makes a drain or watch proof of that window usable once more: it acks
 * the same ids again and answers envelopes only the owner opens.
 */
const MOVES_NO_VALUE: TransactionOptions = Object.freeze({ durable: false });

export class Mailbox {
  readonly limits: MailboxLimits;
  readonly network: Network;
  private readonly store: Store;
  private readonly serverKey: EncryptionKeyPair;
  private readonly now: () => number;
  /** When a refused deposit last swept (unix ms). */
  private lastRefusalSweep = Number.NEGATIVE_INFINITY;
  /** When each owner's drain last pruned its old nonces and tombstones (bounded; a miss prunes). */
  private readonly prunedAt = new Map<string, { at: number }>();
  private readonly drainPayload: ReturnType<typeof drainPayloadSchema>;
  private readonly onArrived: ((recipient: string, message: StoredMessage) => void) | undefined;
  /**
   * A deposit's or drain's transaction. On SQLite (one writer) those that arrive together share a
   * commit, each in its own savepoint (a refused one rolls back alone): one sync of the log for
   * several. On PostgreSQL each is a transaction of its own, unless the caller shares its own commit
   * (the gateway's LAN mailbox). Grouped, a write held its inbox's row and its totals shards while the
   * group went on to the next write's inbox, which a trusted depositor's one-statement deposit
   * (`depositInOne`) or a drain could hold while it waited for one of those shards: a circle, broken
   * only by PostgreSQL's `deadlock_timeout` (1 s) and a retry (seen in the bench with grouped drains,
   * round eight; strangers' deposits closed the same one). Alone, a write takes its rows in one order
   * (inbox, depositors, shards) and holds nobody else's; it holds a pooled connection through its
   * own commit only, and writes from the network together hold `maxNetworkWrites` at most (`gate`).
   */
  private readonly commit: WriteCommit;
  /** Bounds the writes from the network in the database at once (`maxNetworkWrites`). */
  readonly gate: WriteGate;

  constructor(o: MailboxOptions) {
    this.limits = { ...DEFAULT_MAILBOX_LIMITS, ...o.limits };
    for (const [name, value] of Object.entries(this.limits)) positiveInteger(value, `limits.${name}`);
    for (const name of ['maxDepositorInboxPercent', 'strangersPercent'] as const) {
      if (this.limits[name] > 100) {
        const received = String(this.limits[name]);
        fail(
          'InvalidInput',
          { argument: `limits.${name}`, expected: 'a percentage, 1 to 100', received },
          `limits.${name}: expected a percentage, 1 to 100, got ${received}`,
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
    this.onArrived = o.onArrived;
    const store = o.store;
    if (o.commit !== undefined) this.commit = o.commit;
    else if (store.dialect === 'postgres')
      this.commit = (write, options) => store.transaction(write, options);
    else {
      const group = new GroupCommit(store);
      this.commit = (write, options) => group.run(write, options);
    }
    this.drainPayload = drainPayloadSchema(this.limits);
    const { maxNetworkWrites, maxNetworkWritesWaiting, maxClientWaitingPercent } = this.limits;
    this.gate = new WriteGate(
      maxNetworkWrites,
      maxNetworkWritesWaiting,
      Math.floor((maxNetworkWritesWaiting * maxClientWaitingPercent) / 100),
    );
  }

  info(): MailboxInfo {
    const l = this.limits;
    return {
      network: this.network,
      key: bytesToHex(this.serverKey.publicKey),
      maxEnvelopeBytes: l.maxEnvelopeBytes,
      maxMessages: l.maxMessages,
      maxInboxBytes: l.maxInboxBytes,
      maxDrain: l.maxDrain,
      drainWindowMs: l.drainWindowMs,
      maxTotalMessages: l.maxTotalMessages,
      maxTotalBytes: l.maxTotalBytes,
      maxDepositorMessages: l.maxDepositorMessages,
      maxDepositorBytes: l.maxDepositorBytes,
      maxDepositorInboxPercent: l.maxDepositorInboxPercent,
      strangersPercent: l.strangersPercent,
      maxAgeMs: l.maxAgeMs,
    };
  }

  /**
   * Stores `envelope` in the inbox of `address` for `depositor` (the client's IP, or IPv6 /64; none for
   * the server's own deposits, which only the inbox and total quotas bound). Refuses an address of the
   * other network (`AddressInvalid`), an envelope sealed to another key (`EnvelopeWrongRecipient`), one
   * larger than `maxEnvelopeBytes` (`PayloadTooLarge`), a full inbox (`MailboxFull`), a depositor over
   * its share (`MailboxDepositorLimit`) and a full mailbox (`MailboxQuotaExceeded`). The same bytes
   * again (sender, transfer id and content) store nothing and answer `duplicate: true`; other bytes
   * under the same sender and transfer id are another message (the owner keeps what opens). A
   * stranger's deposit (a depositor given) passes the gate (`maxNetworkWrites`), refused with 429
   * `MailboxBusy` when it is full, after the checks above and before any database work.
   */
  async deposit(address: string, envelope: Envelope, depositor = ''): Promise<DepositAnswer> {
    const stored = this.checked(address, envelope, depositor);
    const { seq } =
      depositor === ''
        ? await this.insertOrSweep(stored)
        : await this.gate.admit(depositor).run(() => this.insertOrSweep(stored));
    if (seq === undefined) return { duplicate: true };
    this.arrived(stored, seq);
    return { duplicate: false };
  }

  /**
   * The server's own deposit of `envelope` (no depositor) as statements of the caller's transaction,
   * for a write that must commit with it: the gateway's payment into its LAN mailbox commits with the
   * step that makes the payment, one commit instead of three. `write` runs `deposit`'s statements (on
   * PostgreSQL the one of a plain deposit, `insertPlain`) and throws its refusals (`MailboxFull`,
   * `MailboxQuotaExceeded`; on PostgreSQL, for any deposit that is not plain, an `Internal` one: the
   * function's refusal aborted the transaction), after which the caller's transaction must roll back
   * (the caller then commits without it and delivers through `deposit`, which gives the refusals and
   * sweeps expired messages before it refuses); `committed` tells the live events, once committed.
   * Undefined when a check before the database refuses it (another network, another recipient, too
   * large): `deposit` gives that refusal.
   */
  depositInTransaction(address: string, envelope: Envelope): DepositInTransaction | undefined {
    let stored: Stored;
    try {
      stored = this.checked(address, envelope, '');
    } catch (e) {
      if (isLancashError(e)) return undefined;
      throw e;
    }
    // What the last run of `write` stored: the caller's transaction may run it again (a group commit).
    let inserted: Inserted = {};
    return {
      write: async (trx) => {
        inserted = {};
        if (this.store.dialect !== 'postgres') inserted = await this.insert(trx, stored, this.now());
        else inserted = (await this.insertPlain(trx, stored, true)) ?? notPlain();
      },
      committed: () => {
        if (inserted.seq !== undefined) this.arrived(stored, inserted.seq);
      },
    };
  }

  /** A deposit's checks before the database: the network, the recipient, the size; its text and digest. */
  private checked(address: string, envelope: Envelope, depositor: string): Stored {
    traceStep(envelope.transferId, 'mailbox.in');
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
    const { maxEnvelopeBytes } = this.limits;
    if (size > maxEnvelopeBytes) {
      fail(
        'PayloadTooLarge',
        { limit: maxEnvelopeBytes },
        `envelope is ${size} bytes, more than this mailbox's ${maxEnvelopeBytes}`,
      );
    }
    return {
      recipient,
      envelope,
      text,
      size,
      depositor,
      // Node's hash: noble's in JS cost ≈ 45 µs and a copy of the text a deposit (the same digest).
      digest: createHash('sha256').update(text).digest('hex'),
    };
  }

  /** A new message committed: the live events tell its owner. */
  private arrived(stored: Stored, seq: number): void {
    traceStep(stored.envelope.transferId, 'mailbox.stored');
    this.onArrived?.(stored.recipient, { id: String(seq), envelope: stored.envelope });
  }

  /**
   * Stores a deposit (its message's sequence number; none for a duplicate); a refusal for lack of room
   * sweeps expired messages once and tries again.
   */
  private async insertOrSweep(stored: Stored): Promise<Inserted> {
    try {
      return await this.insertOnce(stored);
    } catch (e) {
      // A full mailbox may only be messages past their age that no sweep has reached yet: sweep once,
      // at most once a second, so refused strangers cannot make the server sweep for every request.
      const now = this.now();
      if (!isLancashError(e, 'MailboxQuotaExceeded') && !isLancashError(e, 'MailboxDepositorLimit')) throw e;
      if (now - this.lastRefusalSweep < 1000) throw e;
      this.lastRefusalSweep = now;
      if ((await this.sweepExpired(now)) === 0) throw e;
      return this.insertOnce(stored);
    }
  }

  /**
   * One try at storing a deposit. On PostgreSQL a plain deposit (`insertPlain`) of the server's own or
   * of a trusted depositor (no depositor: the gateway's payments at the bank) is one statement of its
   * own (one round trip, the inbox's row held for that statement only); a stranger's is that one
   * statement inside the transaction `commit` gives it (one round trip instead of two). Any other, and
   * every deposit on SQLite, is the transaction `insert` (by `commit`), which looks for a replay in a
   * full inbox, tries other shards and refuses. Strangers' deposits from one address all update one
   * depositor row, so on PostgreSQL concurrent ones alone wait a flush each there, each holding a
   * pooled connection meanwhile (`maxNetworkWrites` at most, `gate`; grouped by the mailbox itself,
   * they could deadlock: see `commit`); on SQLite the group commits them together. A stranger's deposit
   * that is not plain (the function refused it, which aborts its transaction or savepoint) costs a
   * second commit, `insert`'s: at most twice a refused deposit's work, bounded the same way.
   */
  private async insertOnce(stored: Stored): Promise<Inserted> {
    if (this.store.dialect === 'postgres') {
      if (stored.depositor === '') {
        const done = await this.insertPlain(this.store.db, stored, false);
        if (done !== undefined) return done;
      } else {
        try {
          return await this.commit(async (trx) => (await this.insertPlain(trx, stored, true)) ?? notPlain());
        } catch (e) {
          if (!isNotPlain(e)) throw e;
        }
      }
    }
    return this.commit((trx) => this.insert(trx, stored, this.now()));
  }

  /**
   * PostgreSQL: a deposit as the one statement of migration 034's function (`repo.depositInOne`), when
   * it is plain: the inbox's counters with it counted pass neither the inbox's limits nor, for a
   * stranger, the strangers' part of them and a depositor's share of the inbox (what `insert` checks
   * with `inboxRefusal` and `pastShare` before its plain path), and its depositor and totals shard have
   * room. Then it does what `insert` would: answers the message stored (nothing for the same bytes
   * again). Undefined when it is not plain: nothing changed, but `inTransaction` the transaction (or
   * savepoint) is aborted, and `insert` must run in another.
   */
  private async insertPlain(
    db: Kysely<Database>,
    m: Stored,
    inTransaction: boolean,
  ): Promise<Inserted | undefined> {
    const now = this.now();
    const q = this.quotas(m);
    const { maxMessages, maxInboxBytes } = this.limits;
    let plain = { messages: maxMessages, bytes: maxInboxBytes };
    if (m.depositor !== '') {
      const [part, share] = [this.strangersPart(), this.shareOfInbox()];
      plain = {
        messages: Math.min(maxMessages, part.messages, share.messages),
        bytes: Math.min(maxInboxBytes, part.bytes, share.bytes),
      };
    }
    const seq = await repo.depositInOne(
      db,
      this.messageOf(m, 0, q.first, now),
      plain,
      q.depositorMax,
      repo.shareOf(q.first, q.max),
      inTransaction,
    );
    if (seq === undefined) return undefined;
    return seq === 0 ? {} : { seq };
  }

  /**
   * A deposit's room outside its inbox: the depositor's quota, and the whole mailbox's (strangers'
   * deposits together fill `strangersPercent` of it at most), with the totals shard tried first
   * (random, so concurrent deposits seldom wait for each other there).
   */
  private quotas(m: Stored): { first: number; depositorMax: repo.Counts; max: repo.Counts } {
    const first = Math.floor(Math.random() * repo.TOTAL_SHARDS);
    const depositorMax = { messages: this.limits.maxDepositorMessages, bytes: this.limits.maxDepositorBytes };
    const whole = m.depositor === '' ? 1 : this.limits.strangersPercent / 100;
    const max = {
      messages: Math.max(1, Math.floor(this.limits.maxTotalMessages * whole)),
      bytes: Math.floor(this.limits.maxTotalBytes * whole),
    };
    return { first, depositorMax, max };
  }

  /** The row of deposit `m` as message `seq`, charged first to totals shard `shard`. */
  private messageOf(m: Stored, seq: number, shard: number, now: number): repo.NewMessage {
    return {
      recipient: m.recipient,
      seq,
      sender: m.envelope.sender,
      transfer_id: m.envelope.transferId,
      digest: m.digest,
      depositor: m.depositor,
      shard,
      envelope: m.text,
      size: m.size,
      created_at: now,
    };
  }

  /**
   * One deposit's statements. Lock order: the inbox row first (so a concurrent copy of the same bytes
   * is seen), then the depositor's row, then one totals shard last, held only until commit. The shard
   * tried first is random, so concurrent deposits seldom wait for each other there. When the inbox's
   * counters pass its limits (the usual case) the rest is `storeIfNew` (one statement on PostgreSQL);
   * otherwise a copy of these bytes is looked for first, so that a replay is a no-op even in a full
   * inbox, and the refusal follows.
   */
  private async insert(trx: Kysely<Database>, m: Stored, now: number): Promise<Inserted> {
    // The counters with this message counted; the statement takes the inbox's lock (few statements
    // per deposit: on PostgreSQL each is a round trip while locks are held).
    const inbox = await repo.reserveInboxSlot(trx, m.recipient, m.size);
    const plain = this.inboxRefusal(inbox, m) === undefined && !this.pastShare(inbox, m);
    if (!plain) {
      const copy = await repo.findContent(
        trx,
        m.recipient,
        m.envelope.sender,
        m.envelope.transferId,
        m.digest,
      );
      if (copy !== undefined) {
        await repo.unreserveInboxSlot(trx, m.recipient, m.size);
        return {};
      }
      const refusal = this.inboxRefusal(inbox, m);
      if (refusal !== undefined) fail('MailboxFull', refusal.info, refusal.message);
      if (this.pastShare(inbox, m)) await this.checkShareOfInbox(trx, m);
    }
    const seq = inbox.last_seq;
    const { first, depositorMax, max } = this.quotas(m);
    const outcome = await repo.storeIfNew(
      trx,
      this.messageOf(m, seq, first, now),
      depositorMax,
      repo.shareOf(first, max),
    );
    if (outcome === 'duplicate') {
      await repo.unreserveInboxSlot(trx, m.recipient, m.size);
      return {};
    }
    if (outcome === 'depositor') {
      const has = await repo.depositorCounters(trx, m.depositor);
      const limit = has.messages + 1 > depositorMax.messages ? 'messages' : 'bytes';
      fail(
        'MailboxDepositorLimit',
        { limit, max: depositorMax[limit], scope: 'mailbox' },
        `this depositor has ${has.messages} messages (${has.bytes} bytes) pending; its limit is ${depositorMax.messages} messages, ${depositorMax.bytes} bytes`,
      );
    }
    if (outcome === 'shard') {
      const shard = await repo.takeTotalShare(trx, first, m.size, max, true);
      if (shard === undefined) {
        const has = await repo.totals(trx);
        const limit = has.messages + 1 > max.messages ? 'messages' : 'bytes';
        fail(
          'MailboxQuotaExceeded',
          { limit, max: max[limit] },
          `the mailbox holds ${has.messages} messages (${has.bytes} bytes) in all; its limit is ${max.messages} messages, ${max.bytes} bytes`,
        );
      }
      await repo.chargeShard(trx, m.recipient, seq, shard);
    }
    return { seq };
  }

  /**
   * The `MailboxFull` refusal the inbox's counters (this message counted) call for, if any: past the
   * inbox's limits, or a stranger's deposit past the strangers' part of them.
   */
  private inboxRefusal(
    inbox: repo.InboxCounters,
    m: Stored,
  ): { info: { limit: 'messages' | 'bytes'; max: number }; message: string } | undefined {
    const { maxMessages, maxInboxBytes } = this.limits;
    if (inbox.messages > maxMessages) {
      return {
        info: { limit: 'messages', max: maxMessages },
        message: `inbox holds ${maxMessages} messages already`,
      };
    }
    if (inbox.bytes > maxInboxBytes) {
      return {
        info: { limit: 'bytes', max: maxInboxBytes },
        message: `inbox holds ${inbox.bytes - m.size} of ${maxInboxBytes} bytes; this envelope is ${m.size}`,
      };
    }
    // Strangers together stop short of a full inbox: the rest is room for the real deliveries.
    if (m.depositor === '') return undefined;
    const cap = this.strangersPart();
    const limit = inbox.messages > cap.messages ? 'messages' : inbox.bytes > cap.bytes ? 'bytes' : undefined;
    if (limit === undefined) return undefined;
    return {
      info: { limit, max: cap[limit] },
      message: `inbox holds ${inbox.messages - 1} messages (${inbox.bytes - m.size} bytes); deposits from the network may fill ${this.limits.strangersPercent}% of it, the rest is kept for deliveries`,
    };
  }

  /** The part of an inbox strangers may fill together: `strangersPercent` of its limits. */
  private strangersPart(): { messages: number; bytes: number } {
    const strangers = this.limits.strangersPercent / 100;
    return {
      messages: Math.floor(this.limits.maxMessages * strangers),
      bytes: Math.floor(this.limits.maxInboxBytes * strangers),
    };
  }

  /** A depositor's most in one inbox: `maxDepositorInboxPercent` of it, at least one message. */
  private shareOfInbox(): { messages: number; bytes: number } {
    const share = this.limits.maxDepositorInboxPercent / 100;
    // At least one message, so a one-message inbox still takes a stranger's first envelope.
    return {
      messages: Math.max(1, Math.floor(this.limits.maxMessages * share)),
      bytes: Math.floor(this.limits.maxInboxBytes * share),
    };
  }

  /** Only an inbox past a depositor's share can hold a depositor past it: below, nothing to count. */
  private pastShare(inbox: repo.InboxCounters, m: Stored): boolean {
    const max = this.shareOfInbox();
    return m.depositor !== '' && (inbox.messages > max.messages || inbox.bytes > max.bytes);
  }

  /** Refuses a depositor past its share of this inbox. */
  private async checkShareOfInbox(trx: Kysely<Database>, m: Stored): Promise<void> {
    const max = this.shareOfInbox();
    // Counted under the inbox's lock, so concurrent deposits of one depositor see each other.
    const has = await repo.pendingOf(trx, m.recipient, m.depositor);
    const limit =
      has.messages + 1 > max.messages ? 'messages' : has.bytes + m.size > max.bytes ? 'bytes' : undefined;
    if (limit !== undefined) {
      fail(
        'MailboxDepositorLimit',
        { limit, max: max[limit], scope: 'inbox' },
        `this depositor has ${has.messages} messages (${has.bytes} bytes) pending in this inbox; it may fill ${this.limits.maxDepositorInboxPercent}% of it`,
      );
    }
  }

  /**
   * Serves a drain request: `request` is the envelope as it arrived, sealed from the key of `address`
   * to the server's key, type `mailbox.drain`, payload `{ ack, max?, at }`, transfer id a fresh nonce.
   * Deletes the acked messages and answers the pending ones oldest first. Refusals: another network
   * (`AddressInvalid`), sealed to another server (`EnvelopeWrongRecipient`), not from the owner or
   * not a drain (`EnvelopeOpenFailed`), a used nonce (`EnvelopeReplayed`), `at` outside the window
   * (`InvalidInput`), the gate full (`MailboxBusy`: checked before the envelope is opened). A refused
   * drain changes nothing. Its commit moves no value (`MOVES_NO_VALUE`). `client` (`clientOf` its
   * IP) takes its share of the gate's waiting places; none (an in-process caller): the total bound only.
   */
  async drain(address: string, request: unknown, client?: string): Promise<DrainAnswer> {
    const owner = this.decodeAddress(address).publicKey;
    const ticket = this.gate.admit(client);
    try {
      return await this.drainAdmitted(owner, request, ticket);
    } finally {
      ticket.release();
    }
  }

  /** `drain` once it has its place in the gate: opens the request, then writes when `ticket` runs. */
  private async drainAdmitted(owner: Uint8Array, request: unknown, ticket: GateTicket): Promise<DrainAnswer> {
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
    const write = async (trx: Kysely<Database>): Promise<DrainAnswer> => {
      // A nonce is accepted only with `at` ≥ now − window, so keeping it 2 × window covers every replay.
      if (!(await repo.useNonce(trx, ownerHex, opened.transferId, now))) {
        fail(
          'EnvelopeReplayed',
          { transferId: opened.transferId },
          `drain nonce ${opened.transferId} was already used`,
        );
      }
      // Per owner, so drains of different inboxes never contend for the same rows; an owner at most
      // every min(drainWindowMs, keepAckedMs) / 2 (two statements fewer on most drains, each scanning
      // the owner's nonces). Later is safe: a nonce kept longer still refuses its replay, a tombstone kept
      // longer still makes a replayed deposit a no-op; the sweep prunes every inbox besides.
      const last = lruGet(this.prunedAt, ownerHex, PRUNED_OWNERS, () => ({ at: Number.NEGATIVE_INFINITY }));
      if (now - last.at >= Math.min(window, this.limits.keepAckedMs) / 2) {
        await repo.prune(trx, ownerHex, now - 2 * window, now - this.limits.keepAckedMs);
        last.at = now;
      }
      const freed = await repo.ackMessages(trx, ownerHex, payload.ack.map(Number), now);
      if (freed.messages > 0) await this.release(trx, ownerHex, freed);
      const rows = await repo.pendingMessages(trx, ownerHex, max + 1);
      return {
        messages: rows.slice(0, max).map((r) => ({
          id: String(r.seq),
          envelope: JSON.parse(r.envelope) as Envelope,
        })),
        more: rows.length > max,
      };
    };
    return ticket.run(() => this.commit(write, MOVES_NO_VALUE));
  }

  /**
   * Checks the proof that opens the live events of the inbox of `address`: a `mailbox.watch` envelope
   * sealed from the owner's key to the server's (HPKE auth mode proves the sender), payload `{ at }`
   * within `drainWindowMs` of the server's clock, its transfer id a nonce used once (the drains' nonce
   * table), so a proof seen on the wire cannot be used again. Every refusal is `InboxWatchRefused`: a
   * stranger learns nothing about the inbox. Answers the owner's key (hex) and whether messages are
   * pending now (the stream's first `arrived`). Its nonce is a write from the network: the gate full,
   * 429 `MailboxBusy` (it says nothing about the inbox), before the proof is opened; `client` as `drain`'s.
   */
  async checkWatch(
    address: string,
    proof: unknown,
    client?: string,
  ): Promise<{ owner: string; pending: boolean }> {
    const owner = this.decodeAddress(address).publicKey;
    const ticket = this.gate.admit(client);
    try {
      return await this.checkWatchAdmitted(owner, proof, ticket);
    } finally {
      ticket.release();
    }
  }

  /** `checkWatch` once it has its place in the gate. */
  private async checkWatchAdmitted(
    owner: Uint8Array,
    proof: unknown,
    ticket: GateTicket,
  ): Promise<{ owner: string; pending: boolean }> {
    const refuse = (reason: string): never =>
      fail('InboxWatchRefused', { reason }, `cannot follow this inbox: ${reason}`);
    let opened: Awaited<ReturnType<typeof openJson>>;
    try {
      opened = await openJson({
        envelope: proof,
        recipient: this.serverKey,
        expectedSender: owner,
        expectedType: WATCH_TYPE,
      });
    } catch (e) {
      return refuse(isLancashError(e) ? e.message : 'the proof does not open');
    }
    let at: number;
    try {
      ({ at } = decode(WatchPayload, opened.payload, 'payload'));
    } catch {
      return refuse('the proof carries no time');
    }
    const now = this.now();
    if (Math.abs(at - now) > this.limits.drainWindowMs) {
      refuse(`the proof is from ${at}, not within ${this.limits.drainWindowMs} ms of ${now}`);
    }
    const ownerHex = bytesToHex(owner);
    return ticket.run(() =>
      this.store.transaction(async (trx) => {
        if (!(await repo.useNonce(trx, ownerHex, opened.transferId, now)))
          refuse('the proof was used before');
        const pending = (await repo.pendingMessages(trx, ownerHex, 1)).length > 0;
        return { owner: ownerHex, pending };
      }, MOVES_NO_VALUE),
    );
  }

  /**
   * Deletes what has aged out, each step in its own bounded transaction: pending messages older than
   * `maxAgeMs` (their quotas given back), tombstones older than `keepAckedMs`, drain nonces older than
   * 2 × `drainWindowMs`. The server runs it every `sweepIntervalMs`; call it again while it deletes
   * `sweepBatch` of a kind.
   */
  async sweep(): Promise<SweepResult> {
    const now = this.now();
    const { sweepBatch, keepAckedMs, drainWindowMs } = this.limits;
    const expired = await this.sweepExpired(now);
    const tombstones = await this.store.transaction((trx) =>
      repo.pruneTombstones(trx, now - keepAckedMs, sweepBatch),
    );
    const nonces = await this.store.transaction((trx) =>
      repo.pruneNonces(trx, now - 2 * drainWindowMs, sweepBatch),
    );
    return { expired, tombstones, nonces };
  }

  /** Deletes at most `sweepBatch` pending messages past `maxAgeMs`, giving their quotas back; answers how many. */
  private async sweepExpired(now: number): Promise<number> {
    return this.store.transaction(async (trx) => {
      const rows = await repo.expiredMessages(trx, now - this.limits.maxAgeMs, this.limits.sweepBatch);
      const byInbox = new Map<string, number[]>();
      for (const r of rows) {
        const seqs = byInbox.get(r.recipient);
        if (seqs === undefined) byInbox.set(r.recipient, [r.seq]);
        else seqs.push(r.seq);
      }
      const all = repo.noneFreed();
      // Inbox by inbox in key order (messages, then their inbox row: the order drains take them in).
      for (const recipient of [...byInbox.keys()].sort()) {
        const freed = await repo.deletePending(trx, recipient, byInbox.get(recipient)!);
        if (freed.messages === 0) continue;
        await repo.addToInbox(trx, recipient, -freed.messages, -freed.bytes);
        repo.addFreed(all, freed);
      }
      await repo.releaseDepositors(trx, all);
      await repo.releaseTotals(trx, all);
      return all.messages;
    });
  }

  /** Gives back what messages of one inbox that left (acked) held, to the inbox, depositors and totals. */
  private async release(trx: Kysely<Database>, recipient: string, freed: repo.Freed): Promise<void> {
    await repo.addToInbox(trx, recipient, -freed.messages, -freed.bytes);
    await repo.releaseDepositors(trx, freed);
    await repo.releaseTotals(trx, freed);
  }

  private decodeAddress(address: string): Address {
    return decodeAddress(address, this.network);
  }
}

/** Why a deposit inside a transaction gave way to `insert` (`insertPlain` answered undefined). */
const NOT_PLAIN = 'mailbox: not a plain deposit; it runs as the statements of a transaction of its own';

/** A deposit in a caller's transaction that is not plain: the caller's transaction must roll back. */
function notPlain(): never {
  return fail('Internal', { reason: NOT_PLAIN });
}

function isNotPlain(e: unknown): boolean {
  return isLancashError(e, 'Internal') && e.info.reason === NOT_PLAIN;
}

/** Owners whose last prune a mailbox remembers (`prunedAt`); one evicted prunes at its next drain. */
const PRUNED_OWNERS = 10_000;

/** A deposit written in a caller's transaction (`Mailbox.depositInTransaction`). */
export interface DepositInTransaction {
  /** The deposit's statements; throws its refusal, and then the transaction must roll back. */
  write(trx: Kysely<Database>): Promise<void>;
  /** Once the transaction committed: the live `arrived` event (none for the same bytes again). */
  committed(): void;
}

/** What a deposit stored: the new message's sequence number in its inbox; none for the same bytes again. */
interface Inserted {
  seq?: number;
}

/** A deposit on its way in. */
interface Stored {
  recipient: string;
  envelope: Envelope;
  /** Its canonical text, what is stored and what `digest` (sha256, hex) hashes. */
  text: string;
  size: number;
  digest: string;
  depositor: string;
}

/** The envelope's compact JSON with its fields in schema order, whatever order they arrived in. */
function canonicalText(e: Envelope): string {
  const { v, type, transferId, sender, recipient, enc, ct } = e;
  return JSON.stringify({ v, type, transferId, sender, recipient, enc, ct });
}
