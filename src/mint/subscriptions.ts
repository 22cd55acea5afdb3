/**
 * NUT-17 subscriptions of one mint server, without the transport (`ws.ts` carries them over
 * WebSockets): who watches which ids of which kind, the bounds, and delivery. A subscriber gets the
 * current state of every filter at once, then every change.
 *
 * Changes are pushed: the mint and the quote services publish the ids they changed on `Mint.changes`
 * after the commit, and the hub reads those ids again (one batched read per kind for everything that
 * changed meanwhile) and sends what differs from what it last sent. Changes made by ANOTHER process on
 * the same database (several gateways on one PostgreSQL) reach it through a periodic re-check of the
 * watched ids that can still change (every `recheckMs`, one batched read per kind), which also asks
 * the Lightning backend about unpaid mint quotes, as `GET /v1/mint/quote/bolt11/{id}` does.
 *
 * Every bound is checked before any read: connections per client (IPv4 address, IPv6 /64) and in all,
 * subscriptions per connection, filters per subscription, per client and in all, requests per second.
 */
import { type Static, Type } from '@sinclair/typebox';
import { fail } from '../core/errors.js';
import type { Topics } from '../core/http/sse.js';
import { decode, PointHex } from '../core/protocol/cashu.js';
import { BucketsByClient } from '../core/rate-limit.js';
import type { ChangeKind } from './mint.js';

/** NUT-17 `SubscriptionKind`s this implementation knows. */
export type SubscriptionKind = ChangeKind;
export const SUBSCRIPTION_KINDS: readonly SubscriptionKind[] = [
  'bolt11_mint_quote',
  'bolt11_melt_quote',
  'proof_state',
];

/** A notification payload: the object the matching REST route answers. */
export type Payload = object;

/** Where the states of one kind come from. */
export interface KindSource {
  /** The current payloads of `ids`, by id; an id left out is unknown (a quote that does not exist). */
  read(ids: readonly string[]): Promise<Map<string, Payload>>;
  /** True when no later change can follow this payload (SPENT, ISSUED, PAID): it is not re-checked. */
  final(payload: Payload): boolean;
  /** What an unknown id is called in the refusal (`mint quote`). Undefined: every id has a state. */
  unknownIs?: string;
}

export interface SubscriptionLimits {
  /** Open connections one client (IPv4 address, IPv6 /64) may hold. */
  connectionsPerClient: number;
  /** Open connections in all. */
  connections: number;
  /** Subscriptions one connection may hold. */
  subscriptionsPerConnection: number;
  /** Filters one subscription may name. */
  filtersPerSubscription: number;
  /** Filters one client may watch over all its connections. */
  filtersPerClient: number;
  /** Filters watched in all. */
  filters: number;
  /**
   * Requests one client (IPv4 address, IPv6 /64) may send per second over all its connections (bucket
   * of twice that): per connection, a client opening `connectionsPerClient` connections had that many
   * times the rate.
   */
  requestsPerSecond: number;
  /** Largest message a client may send, in bytes (larger ones close the connection, code 1009). */
  maxMessageBytes: number;
  /** Unsent bytes a connection may hold for a client that does not read; past it, it is cut. */
  maxBufferedBytes: number;
  /** Watched ids that can still change are read again this often (changes by other processes). */
  recheckMs: number;
  /** A ping goes out this often; a connection that did not answer the last one is cut. */
  heartbeatMs: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = {
  connectionsPerClient: 8,
  connections: 256,
  subscriptionsPerConnection: 64,
  filtersPerSubscription: 100,
  filtersPerClient: 1000,
  filters: 20_000,
  requestsPerSecond: 20,
  maxMessageBytes: 16 * 1024,
  maxBufferedBytes: 256 * 1024,
  recheckMs: 1000,
  heartbeatMs: 15_000,
};

/** Reads of one kind at a time for quotes (each quote is its own read). */
const QUOTE_READS_IN_PARALLEL = 16;
/** Ids per read of `proof_state` (one `IN` list). */
const IDS_PER_READ = 1000;

const SubId = Type.String({ minLength: 1, maxLength: 128 });
const Filter = Type.String({ minLength: 1, maxLength: 128 });
export const SubscribeParams = Type.Object({
  kind: Type.String({ maxLength: 64 }),
  subId: SubId,
  filters: Type.Array(Filter, { minItems: 1 }),
});
export const UnsubscribeParams = Type.Object({ subId: SubId });

/** What a connection sends: a notification for `subId`. */
export type Notify = (subId: string, payload: Payload) => void;

/** Clients whose request bucket a hub remembers (`buckets`); one dropped starts full again. */
const BUCKETS = 10_000;

interface Known {
  json: string;
  final: boolean;
}

interface Sub {
  readonly peer: Peer;
  readonly subId: string;
  readonly kind: SubscriptionKind;
  readonly ids: readonly string[];
  /** False while its first read runs: it counts against the bounds but receives nothing yet. */
  live: boolean;
}

/** The subscriptions of one server. */
export class SubscriptionHub {
  readonly limits: SubscriptionLimits;
  readonly kinds: readonly SubscriptionKind[];
  private readonly sources: Partial<Record<SubscriptionKind, KindSource>>;
  private readonly clientOf: (ip: string) => string;
  private readonly peers = new Set<Peer>();
  private readonly connectionsOf = new Map<string, number>();
  private readonly filtersOf = new Map<string, number>();
  /**
   * Each client's request bucket (`requestsPerSecond`), shared by its connections. Kept after its
   * last connection closes (bounded, least recently used dropped first), so closing and opening
   * connections does not refill it.
   */
  private readonly buckets: BucketsByClient;
  private filterCount = 0;
  /** Live subscriptions by kind and id. */
  private readonly watchers = new Map<SubscriptionKind, Map<string, Set<Sub>>>();
  /** The last payload sent for a watched id (as JSON, and whether it is final), by kind and id. */
  private readonly known = new Map<SubscriptionKind, Map<string, Known>>();
  /** Ids hinted while a subscription's first read ran, so its window is read again. */
  private readonly collectors = new Set<{ kind: SubscriptionKind; ids: Set<string> }>();
  private readonly dirty = new Map<SubscriptionKind, Set<string>>();
  private readonly reading = new Set<SubscriptionKind>();
  private readonly unlisten: (() => void)[] = [];
  private flushScheduled = false;
  private recheck: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(o: {
    sources: Partial<Record<SubscriptionKind, KindSource>>;
    changes: Topics<readonly string[]>;
    clientOf: (ip: string) => string;
    limits?: Partial<SubscriptionLimits>;
  }) {
    this.limits = { ...DEFAULT_SUBSCRIPTION_LIMITS, ...o.limits };
    const { requestsPerSecond } = this.limits;
    this.buckets = new BucketsByClient(
      { burst: 2 * requestsPerSecond, perSecond: requestsPerSecond },
      BUCKETS,
    );
    this.sources = o.sources;
    this.clientOf = o.clientOf;
    this.kinds = SUBSCRIPTION_KINDS.filter((k) => o.sources[k] !== undefined);
    for (const kind of this.kinds) {
      this.unlisten.push(o.changes.subscribe(kind, (ids) => this.hint(kind, ids)));
    }
  }

  /** Open connections. */
  get size(): number {
    return this.peers.size;
  }

  /** Filters watched (or being read for a new subscription) over all connections. */
  get filters(): number {
    return this.filterCount;
  }

  /** Throws `SubscriptionLimit` when the client at `ip` may not open one more connection; no side effect. */
  checkRoom(ip: string): void {
    if (this.closed) fail('RateLimited', { retryAfterSeconds: 1 }, 'the server is closing');
    const client = this.clientOf(ip);
    if (this.peers.size >= this.limits.connections) {
      this.full(
        'connections',
        this.limits.connections,
        'this server holds as many live connections as it may',
      );
    }
    if ((this.connectionsOf.get(client) ?? 0) >= this.limits.connectionsPerClient) {
      this.full(
        'connections',
        this.limits.connectionsPerClient,
        'this client holds as many live connections as it may; close one first',
      );
    }
  }

  /** A connection of the client at `ip`, or `SubscriptionLimit` when it may not open one. */
  connect(ip: string, notify: Notify): Peer {
    this.checkRoom(ip);
    const client = this.clientOf(ip);
    const peer = new Peer(this, client, notify);
    this.peers.add(peer);
    this.connectionsOf.set(client, (this.connectionsOf.get(client) ?? 0) + 1);
    return peer;
  }

  /** Ends every connection's subscriptions and stops listening (the server is closing). */
  close(): void {
    this.closed = true;
    for (const peer of [...this.peers]) peer.close();
    for (const u of this.unlisten.splice(0)) u();
    this.stopRecheck();
  }

  /** @internal by `Peer`: counts one request of `client` against its rate; `RateLimited` past it. */
  take(client: string): void {
    const now = Date.now();
    if (!this.buckets.of(client, now).take(now))
      fail('RateLimited', { retryAfterSeconds: 1 }, 'too many requests from this client');
  }

  /** @internal by `Peer` */
  forget(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    const n = (this.connectionsOf.get(peer.client) ?? 1) - 1;
    if (n <= 0) this.connectionsOf.delete(peer.client);
    else this.connectionsOf.set(peer.client, n);
  }

  /** @internal by `Peer`: checks the subscription's kind, filters and bounds; takes its place. */
  reserve(peer: Peer, params: Static<typeof SubscribeParams>, held: number): Sub {
    this.sourceOf(params.kind);
    const kind = params.kind as SubscriptionKind;
    if (held >= this.limits.subscriptionsPerConnection) {
      this.full(
        'subscriptions',
        this.limits.subscriptionsPerConnection,
        `a connection may hold ${this.limits.subscriptionsPerConnection} subscriptions; unsubscribe one first`,
      );
    }
    if (params.filters.length > this.limits.filtersPerSubscription) {
      this.full(
        'filters',
        this.limits.filtersPerSubscription,
        `a subscription may name ${this.limits.filtersPerSubscription} filters, got ${params.filters.length}`,
      );
    }
    const ids = [...new Set(params.filters.map((f, i) => checkFilter(kind, f, `params.filters[${i}]`)))];
    const clientFilters = this.filtersOf.get(peer.client) ?? 0;
    if (clientFilters + ids.length > this.limits.filtersPerClient) {
      this.full(
        'filters',
        this.limits.filtersPerClient,
        `this client may watch ${this.limits.filtersPerClient} filters in all; unsubscribe some first`,
      );
    }
    if (this.filterCount + ids.length > this.limits.filters) {
      this.full('filters', this.limits.filters, 'this server watches as many filters as it may; retry later');
    }
    this.filterCount += ids.length;
    this.filtersOf.set(peer.client, clientFilters + ids.length);
    return { peer, subId: params.subId, kind, ids, live: false };
  }

  /** @internal by `Peer`: the current payloads of a reserved subscription's ids; starts collecting hints. */
  async firstRead(sub: Sub): Promise<{ payloads: Map<string, Payload>; hinted: Set<string> }> {
    const collector = { kind: sub.kind, ids: new Set<string>() };
    this.collectors.add(collector);
    try {
      const source = this.sourceOf(sub.kind);
      const payloads = await this.read(sub.kind, sub.ids);
      const missing = sub.ids.find((id) => !payloads.has(id));
      if (missing !== undefined && source.unknownIs !== undefined) {
        fail('NotFound', { what: source.unknownIs, id: missing }, `no ${source.unknownIs} ${missing}`);
      }
      return { payloads, hinted: collector.ids };
    } finally {
      this.collectors.delete(collector);
    }
  }

  /**
   * @internal by `Peer`: makes a reserved subscription live with its first payloads (sent by the caller
   * after the OK); other subscribers of an id whose state differs from what they were last sent get it too.
   */
  start(sub: Sub, payloads: Map<string, Payload>, hinted: Set<string>): void {
    sub.live = true;
    const watchers = mapOf(this.watchers, sub.kind);
    const known = mapOf(this.known, sub.kind);
    for (const id of sub.ids) {
      let set = watchers.get(id);
      if (set === undefined) {
        set = new Set();
        watchers.set(id, set);
      }
      set.add(sub);
      const payload = payloads.get(id);
      if (payload === undefined) continue;
      const json = JSON.stringify(payload);
      const before = known.get(id);
      if (before !== undefined && before.json !== json) {
        for (const other of set) if (other !== sub) other.peer.send(other.subId, payload);
      }
      known.set(id, { json, final: this.sourceOf(sub.kind).final(payload) });
    }
    // A change committed while the first read ran may have been read before it: read those again.
    const again = sub.ids.filter((id) => hinted.has(id));
    if (again.length > 0) this.hint(sub.kind, again);
    this.startRecheck();
  }

  /** @internal by `Peer`: gives back a subscription's place (live or not). */
  release(sub: Sub): void {
    this.filterCount -= sub.ids.length;
    const n = (this.filtersOf.get(sub.peer.client) ?? sub.ids.length) - sub.ids.length;
    if (n <= 0) this.filtersOf.delete(sub.peer.client);
    else this.filtersOf.set(sub.peer.client, n);
    if (!sub.live) return;
    sub.live = false;
    const watchers = mapOf(this.watchers, sub.kind);
    const known = mapOf(this.known, sub.kind);
    for (const id of sub.ids) {
      const set = watchers.get(id);
      set?.delete(sub);
      if (set !== undefined && set.size === 0) {
        watchers.delete(id);
        known.delete(id);
      }
    }
    if (this.filterCount === 0) this.stopRecheck();
  }

  private sourceOf(kind: string): KindSource {
    const source = (this.kinds as readonly string[]).includes(kind)
      ? this.sources[kind as SubscriptionKind]
      : undefined;
    if (source === undefined) {
      fail(
        'InvalidInput',
        { argument: 'params.kind', expected: this.kinds.join(', '), received: JSON.stringify(kind) },
        `params.kind: this mint serves ${this.kinds.join(', ')}, not ${JSON.stringify(kind)}`,
      );
    }
    return source;
  }

  private full(limit: 'connections' | 'subscriptions' | 'filters', max: number, detail: string): never {
    return fail('SubscriptionLimit', { limit, max }, detail);
  }

  /** Ids of `kind` that may have changed: the watched ones are read again soon, in one batch. */
  private hint(kind: SubscriptionKind, ids: readonly string[]): void {
    for (const c of this.collectors) if (c.kind === kind) for (const id of ids) c.ids.add(id);
    const watched = this.watchers.get(kind);
    if (watched === undefined || watched.size === 0) return;
    let dirty: Set<string> | undefined;
    for (const id of ids) {
      if (!watched.has(id)) continue;
      dirty ??= mapOfSets(this.dirty, kind);
      dirty.add(id);
    }
    if (dirty !== undefined) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After the current tick, so the hints of one burst of commits share one read.
    setImmediate(() => {
      this.flushScheduled = false;
      for (const kind of this.dirty.keys()) void this.flush(kind);
    });
  }

  /** Reads a kind's dirty ids (one read at a time per kind) and sends what changed. */
  private async flush(kind: SubscriptionKind): Promise<void> {
    if (this.reading.has(kind) || this.closed) return;
    const dirty = this.dirty.get(kind);
    if (dirty === undefined || dirty.size === 0) return;
    this.dirty.delete(kind);
    this.reading.add(kind);
    try {
      const ids = [...dirty].filter((id) => this.watchers.get(kind)?.has(id));
      const payloads = await this.read(kind, ids);
      this.deliver(kind, payloads);
    } catch {
      // A failed read (the database away) is tried again by the next re-check.
    } finally {
      this.reading.delete(kind);
      if ((this.dirty.get(kind)?.size ?? 0) > 0) this.scheduleFlush();
    }
  }

  private deliver(kind: SubscriptionKind, payloads: Map<string, Payload>): void {
    const watchers = this.watchers.get(kind);
    const known = mapOf(this.known, kind);
    const source = this.sourceOf(kind);
    for (const [id, payload] of payloads) {
      const set = watchers?.get(id);
      if (set === undefined) continue;
      const json = JSON.stringify(payload);
      if (known.get(id)?.json === json) continue;
      known.set(id, { json, final: source.final(payload) });
      for (const sub of [...set]) sub.peer.send(sub.subId, payload);
    }
  }

  private async read(kind: SubscriptionKind, ids: readonly string[]): Promise<Map<string, Payload>> {
    const source = this.sourceOf(kind);
    const size = kind === 'proof_state' ? IDS_PER_READ : QUOTE_READS_IN_PARALLEL;
    const out = new Map<string, Payload>();
    for (let i = 0; i < ids.length; i += size) {
      for (const [id, p] of await source.read(ids.slice(i, i + size))) out.set(id, p);
    }
    return out;
  }

  private startRecheck(): void {
    if (this.recheck !== undefined || this.closed) return;
    this.recheck = setInterval(() => {
      for (const [kind, watched] of this.watchers) {
        const known = this.known.get(kind);
        for (const id of watched.keys()) {
          if (known?.get(id)?.final !== true) mapOfSets(this.dirty, kind).add(id);
        }
      }
      this.scheduleFlush();
    }, this.limits.recheckMs);
    // A re-check never keeps a process alive.
    this.recheck.unref();
  }

  private stopRecheck(): void {
    if (this.recheck !== undefined) clearInterval(this.recheck);
    this.recheck = undefined;
  }
}

/** One connection's subscriptions. */
export class Peer {
  private readonly subs = new Map<string, Sub>();
  private closed = false;

  constructor(
    private readonly hub: SubscriptionHub,
    readonly client: string,
    private readonly notify: Notify,
  ) {}

  /** Counts one request against its client's rate (all its connections); `RateLimited` past it. */
  take(): void {
    this.hub.take(this.client);
  }

  /**
   * NUT-17 subscribe: checks, reads the current state, then (synchronously, so nothing comes between)
   * calls `ok` and sends the current payload of every filter.
   */
  async subscribe(params: unknown, ok: () => void): Promise<void> {
    const p = decode(SubscribeParams, params, 'params');
    if (this.subs.has(p.subId)) {
      fail(
        'InvalidInput',
        { argument: 'params.subId', expected: 'a subId not in use', received: JSON.stringify(p.subId) },
        `params.subId ${JSON.stringify(p.subId)} is already in use on this connection`,
      );
    }
    const sub = this.hub.reserve(this, p, this.subs.size);
    this.subs.set(p.subId, sub);
    let first: Awaited<ReturnType<SubscriptionHub['firstRead']>>;
    try {
      first = await this.hub.firstRead(sub);
    } catch (err) {
      this.drop(sub);
      throw err;
    }
    // Unsubscribed or closed meanwhile: its place is already given back.
    if (this.subs.get(p.subId) !== sub) return;
    this.hub.start(sub, first.payloads, first.hinted);
    ok();
    for (const id of sub.ids) {
      const payload = first.payloads.get(id);
      if (payload !== undefined) this.send(sub.subId, payload);
    }
  }

  /** NUT-17 unsubscribe; `NotFound` for a subId this connection does not hold. */
  unsubscribe(params: unknown): void {
    const { subId } = decode(UnsubscribeParams, params, 'params');
    const sub = this.subs.get(subId);
    if (sub === undefined) fail('NotFound', { what: 'subscription', id: subId }, `no subscription ${subId}`);
    this.drop(sub);
  }

  /** Sends a notification unless the connection is closed. */
  send(subId: string, payload: Payload): void {
    if (!this.closed) this.notify(subId, payload);
  }

  /** The connection ended: every subscription goes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of [...this.subs.values()]) this.drop(sub);
    this.hub.forget(this);
  }

  private drop(sub: Sub): void {
    if (this.subs.get(sub.subId) !== sub) return;
    this.subs.delete(sub.subId);
    this.hub.release(sub);
  }
}

/** A filter's shape for its kind, checked before any read; returns it as the store keys it. */
function checkFilter(kind: SubscriptionKind, filter: string, argument: string): string {
  if (kind !== 'proof_state') return filter;
  // NUT-07: a proof is named by its Y, a compressed point in hex.
  return decode(PointHex, filter, argument).toLowerCase();
}

function mapOf<V>(m: Map<SubscriptionKind, Map<string, V>>, kind: SubscriptionKind): Map<string, V> {
  let inner = m.get(kind);
  if (inner === undefined) {
    inner = new Map();
    m.set(kind, inner);
  }
  return inner;
}

function mapOfSets(m: Map<SubscriptionKind, Set<string>>, kind: SubscriptionKind): Set<string> {
  let inner = m.get(kind);
  if (inner === undefined) {
    inner = new Set();
    m.set(kind, inner);
  }
  return inner;
}
