/**
 * Attack on the live events' follower (`follow.ts`: on PostgreSQL, one statement a look over the inboxes
 * this process's streams watch, so a stream connected here hears another process's deposits). Watching
 * an inbox needs its owner's proof, but the route watches the inbox while the proof is being checked
 * (so a deposit meanwhile is not missed), so a stranger holds a place in the watched set for that
 * moment, and a stranger is the owner of as many inboxes of its own as it likes. Against a real
 * listener, strangers from many clients (each its own loopback address; Linux routes all of 127/8 to
 * loopback) show what they can and cannot do:
 *   - the watched set never holds more inboxes than the streams' bounds allow (per client and in
 *     total, 429 before any decryption), and a look reads no more inboxes than that, one statement a
 *     page: counted in the follower's statements, not timed;
 *   - a refused proof (forged, garbage, missing, stale, replayed) leaves nothing watched once its 403 is
 *     answered;
 *   - a client gone while its proof was checked gives its place and its watch back (the hole this test
 *     found: the stream opened on the closed answer kept both until the server stopped; `core/http/sse.ts`);
 *   - the owner's own stream hears another process's deposits throughout.
 * The follower runs on PostgreSQL only (a SQLite mailbox is one process's); the place of a client
 * gone during its check is checked on every dialect.
 */
import { connect } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { ERRORS } from '../core/errors.js';
import { clientOf } from '../core/http/client-key.js';
import { createServer, type LancashServer, listen } from '../core/http/server.js';
import { type SseHub, sseHub } from '../core/http/sse.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { type EventReader, openEvents } from '../test-support/sse.js';
import { inboxEventsUrl } from './client.js';
import type * as Follow from './follow.js';
import type * as FollowRepo from './follow-repository.js';
import { registerMailboxRoutes } from './http.js';
import { DRAIN_TYPE } from './protocol.js';
import { Mailbox, type MailboxLimits, type WriteCommit } from './service.js';

/** The followers made by the routes (one a server), and the inboxes each of their statements read. */
const followers: Follow.ArrivalFollower[] = [];
const statements: number[] = [];

vi.mock('./follow.js', async (original) => {
  const real = await original<typeof Follow>();
  class Seen extends real.ArrivalFollower {
    constructor(o: Follow.ArrivalFollowerOptions) {
      super(o);
      followers.push(this);
    }
  }
  return { ...real, ArrivalFollower: Seen };
});
vi.mock('./follow-repository.js', async (original) => {
  const real = await original<typeof FollowRepo>();
  return {
    ...real,
    messagesAfter: (...a: Parameters<typeof real.messagesAfter>) => {
      statements.push(a[1].length);
      return real.messagesAfter(...a);
    },
  };
});

/** Small stream bounds, so a handful of clients reaches them. */
const PER_CLIENT = 4;
const TOTAL = 12;
const REFUSED = ERRORS.InboxWatchRefused.code;
const RATE_LIMITED = ERRORS.RateLimited.code;

const agents = new Map<string, Agent>();
/** An undici agent sending from loopback address `from`: one client. */
const from = (address: string): Agent => {
  let agent = agents.get(address);
  if (agent === undefined) {
    agent = new Agent({ localAddress: address });
    agents.set(address, agent);
  }
  return agent;
};
const stranger = (i: number) => `127.0.0.${20 + i}`;
const OWNER = '127.0.0.2';

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.close()));
});

/** Waits until `check` holds (at most 1000 looks, 10 ms apart): the assertion is on the state. */
async function until(check: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

interface Server {
  app: LancashServer;
  base: string;
  hub: SseHub;
  serverKey: EncryptionKeyPair;
  /** Inboxes the follower watches (0 without one: SQLite). */
  watching: () => number;
}

/** A WAN mailbox on a real listener with small stream bounds, its follower looking every 20 ms. */
async function mailboxServer(
  store: TestStore,
  o: { commit?: WriteCommit; limits?: Partial<MailboxLimits> } = {},
): Promise<Server> {
  const serverKey = await generateEncryptionKeyPair();
  const app = await createServer({ name: 'mailbox', logger: false });
  // Made first, so the routes share its bounds (`sseHub` keeps one hub a server).
  const hub = sseHub(app, { clientOf, limits: { perClient: PER_CLIENT, total: TOTAL } });
  const made = followers.length;
  registerMailboxRoutes(app, { store, serverKey, network: 'wan', follow: { everyMs: 20 }, ...o });
  const follower = followers[made];
  return {
    app,
    base: await listen(app, '127.0.0.1:0'),
    hub,
    serverKey,
    watching: () => follower?.watching ?? 0,
  };
}

async function inbox() {
  const pair = await generateEncryptionKeyPair();
  return { pair, address: encodeAddress({ network: 'wan', publicKey: pair.publicKey }) };
}

/** A fresh watch proof's URL for `owner`'s inbox at `s`. */
const watchUrl = (s: Server, owner: Awaited<ReturnType<typeof inbox>>, at?: number) =>
  inboxEventsUrl(s.base, {
    owner: owner.pair,
    address: owner.address,
    serverKey: s.serverKey.publicKey,
    ...(at !== undefined ? { at } : {}),
  });

describe.skipIf(!DIALECTS.includes('postgres'))('strangers against the follower, on postgres', () => {
  let store: TestStore;
  let s: Server;
  /** Another process on the same database: its deposits reach this one's streams through the follower. */
  let other: Mailbox;
  let owner: Awaited<ReturnType<typeof inbox>>;
  let ownerStream: EventReader;

  beforeAll(async () => {
    store = await freshStore('postgres');
    s = await mailboxServer(store);
    other = new Mailbox({ store, serverKey: s.serverKey, network: 'wan' });
    owner = await inbox();
    ownerStream = await openEvents(await watchUrl(s, owner), {}, from(OWNER));
    expect(ownerStream.status).toBe(200);
  });
  afterAll(async () => {
    ownerStream?.close();
    await s?.app.close();
    await store?.close();
  });

  /** Another process deposits a letter for the owner; the owner's stream must tell it. */
  async function ownerHears(transferId: string): Promise<void> {
    const sender = await generateEncryptionKeyPair();
    const letter = await sealJson({
      type: 'test.letter',
      transferId,
      sender,
      recipient: owner.pair.publicKey,
      payload: {},
    });
    await other.deposit(owner.address, letter);
    const event = await ownerStream.next();
    expect(event).toMatchObject({ type: 'arrived', data: { envelope: { transferId } } });
  }

  it('strangers from many clients hold at most the streams’ bounds in the watched set, and a look reads no more', async () => {
    statements.length = 0;
    // Six clients, each asking for more streams (inboxes of its own, good proofs) than it may hold.
    const clients = 6;
    const asks = await Promise.all(
      Array.from({ length: clients * (PER_CLIENT + 2) }, async (_, k) => {
        const i = k % clients;
        const mine = await inbox();
        return { i, url: await watchUrl(s, mine) };
      }),
    );
    const opened = await Promise.all(asks.map((a) => openEvents(a.url, {}, from(stranger(a.i)))));
    const held = opened.filter((r) => r.status === 200);
    const perClient = new Map<number, number>();
    for (const [k, r] of opened.entries()) {
      if (r.status === 200) perClient.set(asks[k]!.i, (perClient.get(asks[k]!.i) ?? 0) + 1);
      else expect([r.status, r.refusal?.code]).toEqual([429, RATE_LIMITED]);
    }
    // The owner holds one place: the strangers the rest, none more than its share.
    expect(held).toHaveLength(TOTAL - 1);
    expect(Math.max(...perClient.values())).toBeLessThanOrEqual(PER_CLIENT);
    expect(s.hub.size).toBe(TOTAL);
    expect(s.watching()).toBe(TOTAL);

    // Full: more strangers, good proofs or forged ones, get 429 before any decryption; nothing more is watched.
    const late = await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const url =
          k % 2 === 0
            ? await watchUrl(s, await inbox())
            : `${s.base}/v1/inbox/${owner.address}/events?proof=AAAA`;
        return openEvents(url, {}, from(stranger(clients + k)));
      }),
    );
    expect(late.map((r) => [r.status, r.refusal?.code])).toEqual(late.map(() => [429, RATE_LIMITED]));
    expect(s.watching()).toBe(TOTAL);

    // The looks read every inbox watched, and never more, one statement a page.
    expect(await until(() => statements.includes(TOTAL))).toBe(true);
    expect(Math.max(...statements)).toBe(TOTAL);
    await ownerHears('while-full');
    expect(Math.max(...statements)).toBe(TOTAL);

    for (const r of held) r.close();
    expect(await until(() => s.hub.size === 1 && s.watching() === 1)).toBe(true);
    await ownerHears('after-the-strangers');
  });

  it('refused proofs leave nothing watched once answered, and the owner hears on', async () => {
    statements.length = 0;
    const stale = Date.now() - 3_600_000;
    const ownerPath = `/v1/inbox/${owner.address}/events`;
    // A proof the owner used already (seen on the wire): it opens, and is refused at its nonce.
    const used = await watchUrl(s, owner);
    const first = await openEvents(used, {}, from(OWNER));
    expect(first.status).toBe(200);
    first.close();
    expect(await until(() => s.hub.size === 1)).toBe(true);
    const forged = async (to: string) => {
      // Sealed from a stranger's key: the route reads it as the owner's, HPKE auth mode says otherwise.
      const mine = await inbox();
      const url = await watchUrl(s, mine);
      return url.replace(`/v1/inbox/${mine.address}/events`, to);
    };
    const kinds = [
      () => forged(ownerPath),
      async () => `${s.base}${ownerPath}?proof=AAAA`,
      async () => `${s.base}${ownerPath}`,
      () => watchUrl(s, owner, stale),
      async () => used,
      // A stranger's own inbox with a proof for the owner's: refused as well.
      async () => {
        const mine = await inbox();
        return (await watchUrl(s, owner)).replace(ownerPath, `/v1/inbox/${mine.address}/events`);
      },
    ];
    // Six clients, each at its bound at once: every kind from every client.
    const attempts = await Promise.all(
      Array.from({ length: 6 * PER_CLIENT }, async (_, k) => {
        const url = await kinds[k % kinds.length]!();
        return openEvents(url, {}, from(stranger(k % 6)));
      }),
    );
    // The owner's inbox allows 4 streams at once (`maxInboxStreams`): a stranger's attempt over it is
    // 429, as the owner's would be; every other one is refused by its proof.
    for (const r of attempts) {
      expect([
        [403, REFUSED],
        [429, RATE_LIMITED],
      ]).toContainEqual([r.status, r.refusal?.code]);
    }
    expect(attempts.filter((r) => r.status === 403).length).toBeGreaterThan(0);
    // Every refusal gave its place and its watch back before it was answered.
    expect(s.hub.size).toBe(1);
    expect(s.watching()).toBe(1);
    await ownerHears('after-the-forgeries');
    expect(Math.max(0, ...statements)).toBeLessThanOrEqual(TOTAL);
  });
});

describe.each(DIALECTS)('a client gone while its proof is checked, on %s', (dialect) => {
  let store: TestStore;
  let s: Server;
  let letGo = () => {};

  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(async () => {
    letGo();
    await s?.app.close();
    await store.close();
  });

  it('gives its stream place and its watch back', async () => {
    // One write from the network in the database at once, and a drain holding it in its commit: the
    // watch's check waits in the gate, its inbox watched, its place taken.
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let inside = 0;
    const commit: WriteCommit = async (write, options) => {
      inside++;
      await held;
      return store.transaction(write, options);
    };
    s = await mailboxServer(store, { commit, limits: { maxNetworkWrites: 1 } });
    const drainer = await inbox();
    const drain = fetch(`${s.base}/v1/inbox/${drainer.address}/drain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        await sealJson({
          type: DRAIN_TYPE,
          transferId: 'held-drain',
          sender: drainer.pair,
          recipient: s.serverKey.publicKey,
          payload: { ack: [], at: Date.now() },
        }),
      ),
    });
    expect(await until(() => inside === 1)).toBe(true);

    // The client: a socket that asks for the stream, then goes (a reset) while the check waits.
    const gone = await inbox();
    const { pathname, search } = new URL(await watchUrl(s, gone));
    const socket = connect(Number(new URL(s.base).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET ${pathname}${search} HTTP/1.1\r\nhost: x\r\n\r\n`);
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        s.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
      );
    expect(await until(() => s.hub.size === 1)).toBe(true);
    expect(s.watching()).toBe(dialect === 'postgres' ? 1 : 0);
    const before = await connections();
    socket.destroy();
    // The server has seen the client go before its check goes on.
    expect(await until(async () => (await connections()) < before)).toBe(true);
    letGo();
    expect((await drain).status).toBe(200);
    // The check passes (a good proof), its stream opens on the closed answer: place and watch given back.
    expect(await until(() => s.hub.size === 0 && s.watching() === 0)).toBe(true);
    // And the client's places are all there: it opens its bound of streams again.
    const again = await Promise.all(
      Array.from({ length: PER_CLIENT }, async () => openEvents(await watchUrl(s, await inbox()))),
    );
    expect(again.map((r) => r.status)).toEqual(again.map(() => 200));
    for (const r of again) r.close();
  });
});
