/**
 * The NUT-17 hub without a transport: first state then changes, pushed on a hint and found by the
 * re-check without one, final states not read again, every bound refused before any read, and
 * unsubscribe / close giving places back. Sources are in-memory maps that count their reads.
 */
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { Topics } from '../core/http/sse.js';
import {
  type KindSource,
  type Payload,
  type Peer,
  SubscriptionHub,
  type SubscriptionLimits,
} from './subscriptions.js';

const Y1 = `02${'11'.repeat(32)}`;
const Y2 = `03${'ab'.repeat(32)}`;

interface Memory {
  states: Map<string, string>;
  reads: string[][];
  /** While set, reads wait for it. */
  gate?: Promise<void>;
}

function memorySource(m: Memory, o: { unknownIs?: string; final: string } = { final: 'SPENT' }): KindSource {
  return {
    read: async (ids) => {
      m.reads.push([...ids]);
      await m.gate;
      const out = new Map<string, Payload>();
      for (const id of ids) {
        const state = m.states.get(id);
        if (state !== undefined) out.set(id, { id, state });
      }
      return out;
    },
    final: (p) => (p as { state: string }).state === o.final,
    ...(o.unknownIs !== undefined ? { unknownIs: o.unknownIs } : {}),
  };
}

function setup(limits: Partial<SubscriptionLimits> = {}) {
  const proofs: Memory = { states: new Map([[Y1, 'UNSPENT']]), reads: [] };
  const quotes: Memory = { states: new Map([['q1', 'UNPAID']]), reads: [] };
  const changes = new Topics<readonly string[]>();
  const hub = new SubscriptionHub({
    sources: {
      proof_state: memorySource(proofs),
      bolt11_mint_quote: memorySource(quotes, { unknownIs: 'mint quote', final: 'ISSUED' }),
    },
    changes,
    clientOf: (ip) => (ip.includes(':') ? ip.split(':').slice(0, 4).join(':') : ip),
    limits: { recheckMs: 60_000, ...limits },
  });
  /** Every message a connection got, in order: `ok <subId>` or `<subId> <state>`. */
  const connect = (ip = '192.0.2.1') => {
    const got: string[] = [];
    let wake: (() => void) | undefined;
    const peer = hub.connect(ip, (subId, payload) => {
      got.push(`${subId} ${(payload as { state: string }).state}`);
      wake?.();
    });
    const next = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (got.length >= n) resolve();
        };
        wake = check;
        check();
      });
    const subscribe = (subId: string, kind: string, filters: string[]) =>
      peer.subscribe({ subId, kind, filters }, () => got.push(`ok ${subId}`));
    return { peer, got, next, subscribe };
  };
  return { hub, proofs, quotes, changes, connect };
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<{ kind: string; info: unknown }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isLancashError(e)) return { kind: e.kind, info: e.info };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('NUT-17 subscription hub', () => {
  it('answers OK, then the current state of every filter, then each change once it is hinted', async () => {
    const { proofs, changes, connect } = setup();
    proofs.states.set(Y2, 'PENDING');
    const c = connect();
    await c.subscribe('s1', 'proof_state', [Y1, Y2.toUpperCase()]);
    expect(c.got).toEqual(['ok s1', 's1 UNSPENT', 's1 PENDING']);

    proofs.states.set(Y1, 'SPENT');
    changes.publish('proof_state', [Y1]);
    await c.next(4);
    expect(c.got[3]).toBe('s1 SPENT');

    // A hint with nothing changed sends nothing; an unwatched id costs no read.
    const reads = proofs.reads.length;
    changes.publish('proof_state', [Y2]);
    changes.publish('proof_state', [`02${'33'.repeat(32)}`]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(proofs.reads.length).toBe(reads + 1);
    expect(c.got).toHaveLength(4);
  });

  it('finds a change nobody hinted (another process) by the re-check, and never re-reads a final state', async () => {
    const { hub, proofs, connect } = setup({ recheckMs: 5 });
    proofs.states.set(Y2, 'SPENT');
    const c = connect();
    await c.subscribe('s', 'proof_state', [Y1, Y2]);
    proofs.states.set(Y1, 'PENDING');
    await c.next(4);
    expect(c.got[3]).toBe('s PENDING');
    // Y2 was SPENT from the start: the re-checks read Y1 only.
    expect(proofs.reads.slice(1).every((ids) => ids.length === 1 && ids[0] === Y1)).toBe(true);
    hub.close();
  });

  it('reads again what changed while the first read ran', async () => {
    const { proofs, changes, connect } = setup();
    let open!: () => void;
    proofs.gate = new Promise((r) => {
      open = r;
    });
    const c = connect();
    const subscribing = c.subscribe('s', 'proof_state', [Y1]);
    await new Promise((r) => setImmediate(r));
    // Committed after the read began; its hint comes while the subscription is not live yet.
    changes.publish('proof_state', [Y1]);
    open();
    await subscribing;
    proofs.gate = undefined;
    proofs.states.set(Y1, 'SPENT');
    await c.next(3);
    expect(c.got).toEqual(['ok s', 's UNSPENT', 's SPENT']);
  });

  it('tells the other subscribers of an id when a new subscription reads a newer state', async () => {
    const { proofs, connect } = setup();
    const a = connect('192.0.2.1');
    const b = connect('192.0.2.2');
    await a.subscribe('a', 'proof_state', [Y1]);
    proofs.states.set(Y1, 'SPENT');
    await b.subscribe('b', 'proof_state', [Y1]);
    expect(a.got).toEqual(['ok a', 'a UNSPENT', 'a SPENT']);
    expect(b.got).toEqual(['ok b', 'b SPENT']);
  });

  it('refuses unknown kinds, malformed filters, unknown quotes and a subId in use, before any read', async () => {
    const { proofs, quotes, connect } = setup();
    const c = connect();
    expect(await refusal(c.subscribe('s', 'bolt11_melt_quote', ['x']))).toMatchObject({
      kind: 'InvalidInput',
      info: { argument: 'params.kind' },
    });
    expect((await refusal(c.subscribe('s', 'proof_state', ['02zz']))).kind).toMatch(/^Invalid/);
    expect(
      await refusal(c.peer.subscribe({ subId: 's', kind: 'proof_state', filters: [] }, () => {})),
    ).toMatchObject({ kind: 'InvalidInput' });
    expect(
      await refusal(c.peer.subscribe({ subId: 7, kind: 'proof_state', filters: [Y1] }, () => {})),
    ).toMatchObject({ kind: 'InvalidInput' });
    expect(proofs.reads).toHaveLength(0);
    expect(await refusal(c.subscribe('q', 'bolt11_mint_quote', ['q1', 'nope']))).toMatchObject({
      kind: 'NotFound',
      info: { what: 'mint quote', id: 'nope' },
    });
    expect(quotes.reads).toHaveLength(1);
    await c.subscribe('q', 'bolt11_mint_quote', ['q1']);
    expect(await refusal(c.subscribe('q', 'proof_state', [Y1]))).toMatchObject({
      kind: 'InvalidInput',
      info: { argument: 'params.subId' },
    });
    expect(c.got).toEqual(['ok q', 'q UNPAID']);
  });

  it('bounds subscriptions per connection, filters per subscription, per client and in all', async () => {
    const { hub, proofs, connect } = setup({
      subscriptionsPerConnection: 3,
      filtersPerSubscription: 4,
      filtersPerClient: 6,
      filters: 9,
    });
    const ys = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => `02${(from + i).toString(16).padStart(64, '0')}`);
    const c = connect('192.0.2.1');
    expect(await refusal(c.subscribe('big', 'proof_state', ys(5)))).toMatchObject({
      kind: 'SubscriptionLimit',
      info: { limit: 'filters', max: 4 },
    });
    await c.subscribe('a', 'proof_state', ys(1));
    await c.subscribe('b', 'proof_state', ys(1, 1));
    await c.subscribe('c', 'proof_state', ys(1, 2));
    expect(await refusal(c.subscribe('d', 'proof_state', ys(1, 3)))).toMatchObject({
      kind: 'SubscriptionLimit',
      info: { limit: 'subscriptions', max: 3 },
    });
    // Per client: a second connection of the same client shares its 6 filters.
    const c2 = connect('192.0.2.1');
    expect(await refusal(c2.subscribe('e', 'proof_state', ys(4, 10)))).toMatchObject({
      kind: 'SubscriptionLimit',
      info: { limit: 'filters', max: 6 },
    });
    await c2.subscribe('e', 'proof_state', ys(3, 10));
    // In all: another client gets what is left of the 9.
    const other = connect('192.0.2.9');
    expect(await refusal(other.subscribe('f', 'proof_state', ys(4, 20)))).toMatchObject({
      kind: 'SubscriptionLimit',
      info: { limit: 'filters', max: 9 },
    });
    const readsBefore = proofs.reads.length;
    // Unsubscribing gives the places back.
    c.peer.unsubscribe({ subId: 'a' });
    await other.subscribe('f', 'proof_state', ys(1, 20));
    expect(proofs.reads.length).toBe(readsBefore + 1);
    expect(await refusal(() => c.peer.unsubscribe({ subId: 'a' }))).toMatchObject({ kind: 'NotFound' });
    c.peer.close();
    c2.peer.close();
    await connect('192.0.2.1').subscribe('g', 'proof_state', ys(4, 30));
    expect(hub.size).toBe(2);
  });

  it('bounds connections per client (an IPv6 client by its /64) and in all; closing gives them back', () => {
    const { hub, connect } = setup({ connectionsPerClient: 2, connections: 3 });
    const peers: Peer[] = [connect('2001:db8:1:2::1').peer, connect('2001:db8:1:2::ffff').peer];
    expect(() => connect('2001:db8:1:2:aaaa::1')).toThrow(/connections/);
    peers.push(connect('192.0.2.1').peer);
    expect(() => connect('192.0.2.2')).toThrow(/this server/);
    peers[0]!.close();
    connect('2001:db8:1:2::3');
    expect(hub.size).toBe(3);
    hub.close();
    expect(hub.size).toBe(0);
    expect(() => connect('192.0.2.3')).toThrow(/closing/);
  });

  it('stops notifying an unsubscribed or closed connection', async () => {
    const { proofs, changes, connect } = setup();
    const a = connect();
    const b = connect('192.0.2.2');
    await a.subscribe('a', 'proof_state', [Y1]);
    await b.subscribe('b', 'proof_state', [Y1]);
    a.peer.unsubscribe({ subId: 'a' });
    proofs.states.set(Y1, 'PENDING');
    changes.publish('proof_state', [Y1]);
    await b.next(3);
    b.peer.close();
    proofs.states.set(Y1, 'SPENT');
    changes.publish('proof_state', [Y1]);
    await new Promise((r) => setImmediate(r));
    expect(a.got).toEqual(['ok a', 'a UNSPENT']);
    expect(b.got).toEqual(['ok b', 'b UNSPENT', 'b PENDING']);
  });

  it('limits the requests of one connection per second', () => {
    const { connect } = setup({ requestsPerSecond: 2 });
    const c = connect();
    for (let i = 0; i < 4; i++) c.peer.take();
    expect(() => c.peer.take()).toThrow(/too many requests/);
  });

  it('limits the requests of one client over all its connections, also after it reconnects', () => {
    const { connect } = setup({ requestsPerSecond: 2 });
    // A client with two connections had twice the rate when it was counted per connection.
    const [a, b] = [connect('192.0.2.7'), connect('192.0.2.7')];
    a.peer.take();
    a.peer.take();
    b.peer.take();
    b.peer.take();
    expect(() => b.peer.take()).toThrow(/too many requests/);
    expect(() => a.peer.take()).toThrow(/too many requests/);
    // Closing every connection and opening a new one does not refill the bucket.
    a.peer.close();
    b.peer.close();
    expect(() => connect('192.0.2.7').peer.take()).toThrow(/too many requests/);
    // Another client has its own.
    const other = connect('192.0.2.8');
    for (let i = 0; i < 4; i++) other.peer.take();
  });
});
