/**
 * Attack: clients from many addresses write to a mailbox at once (deposits, drains), each within its
 * own rate limit, so that their writes hold every connection of the server's pool (on PostgreSQL each
 * holds one through its own commit) and the server's own writes (the wide bank's issues and receives)
 * wait behind them. The mailbox lets `maxNetworkWrites` of them into the database at once, queues
 * `maxNetworkWritesWaiting` more (holding no connection) and refuses the rest at once with 429
 * `MailboxBusy` (71012) and `Retry-After`, before any database work; a trusted depositor's deposit
 * (the gateway's at the bank) never passes the gate. One client (an address, an IPv6 /64) sending many
 * writes at once holds at most its share of the waiting places (`maxClientWaitingPercent`), so the
 * others still get one. Counted, not timed: the writes inside the
 * database at once while the database is held (a commit that waits on the test, or on PostgreSQL a
 * table lock the strangers' writes queue on).
 */
import { sql } from 'kysely';
import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { defaultCurve } from '../core/crypto/index.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { ERRORS } from '../core/errors.js';
import { createServer, type LancashServer, listen } from '../core/http/server.js';
import { inThreadCrypto } from '../mint/crypto.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { holdInTransaction } from '../test-support/held.js';
import { metricValue } from '../test-support/http.js';
import { createWideBank, type WideBank } from '../wide-bank/server.js';
import { registerMailboxRoutes } from './http.js';
import { DRAIN_TYPE } from './protocol.js';
import type { MailboxLimits, WriteCommit } from './service.js';

/** Strangers, each from its own loopback address (Linux routes all of 127/8 to loopback). */
const STRANGERS = 24;
const TRUSTED = '127.0.0.250';
const LIMITS: Partial<MailboxLimits> = { maxNetworkWrites: 2, maxNetworkWritesWaiting: 6 };
const RUNNING = LIMITS.maxNetworkWrites!;
const ADMITTED = RUNNING + LIMITS.maxNetworkWritesWaiting!;
const BUSY = ERRORS.MailboxBusy.code;

const agents = new Map<string, Agent>();
afterEach(async () => {
  await Promise.all([...agents.values()].map((a) => a.close()));
  agents.clear();
});

interface Answer {
  status: number;
  code: number | undefined;
  retryAfter: string | undefined;
}

/** POSTs `body` from local address `from`; the answer's status, lancash code and `Retry-After`. */
async function post(base: string, path: string, body: unknown, from: string): Promise<Answer> {
  const dispatcher = agents.get(from) ?? new Agent({ localAddress: from });
  agents.set(from, dispatcher);
  const res = await request(`${base}${path}`, {
    dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.body.json()) as { code?: number };
  const retryAfter = res.headers['retry-after'];
  return {
    status: res.statusCode,
    code: json.code,
    retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
  };
}

const strangerAddress = (i: number) => `127.0.0.${10 + i}`;
const addressOf = (k: EncryptionKeyPair, network: 'wan' | 'lan') =>
  encodeAddress({ network, publicKey: k.publicKey });

/** Polls `done` (at most 500 times, 10 ms apart) and answers its last value. */
async function settle(done: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/** One stranger's request: a deposit into an inbox of its own (even `i`) or a drain of its own inbox. */
async function strangerRequest(
  i: number,
  network: 'wan' | 'lan',
  serverKey: Uint8Array,
): Promise<{ path: string; body: unknown }> {
  const [owner, sender] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
  const address = addressOf(owner, network);
  if (i % 2 === 0) {
    const envelope = await sealJson({
      type: 'test.letter',
      transferId: `letter-${i}`,
      sender,
      recipient: owner.publicKey,
      payload: {},
    });
    return { path: `/v1/inbox/${address}`, body: envelope };
  }
  const drain = await sealJson({
    type: DRAIN_TYPE,
    transferId: `nonce-${i}`,
    sender: owner,
    recipient: serverKey,
    payload: { ack: [], at: Date.now() },
  });
  return { path: `/v1/inbox/${address}/drain`, body: drain };
}

/**
 * A WAN mailbox server whose database is "held": every write waits in its commit until `letGo`,
 * counted while inside (`inside`).
 */
async function heldMailbox(
  store: Store,
  limits: Partial<MailboxLimits>,
): Promise<{
  app: LancashServer;
  base: string;
  serverKey: EncryptionKeyPair;
  inside: () => number;
  letGo: () => void;
}> {
  const serverKey = await generateEncryptionKeyPair();
  let inside = 0;
  let letGo = () => {};
  const held = new Promise<void>((resolve) => {
    letGo = resolve;
  });
  const commit: WriteCommit = async (write, options) => {
    inside++;
    try {
      await held;
      return await store.transaction(write, options);
    } finally {
      inside--;
    }
  };
  const app = await createServer({ name: 'mailbox', logger: false });
  registerMailboxRoutes(app, {
    store,
    serverKey,
    network: 'wan',
    commit,
    limits,
    trustedDepositors: [TRUSTED],
  });
  return { app, base: await listen(app, '127.0.0.1:0'), serverKey, inside: () => inside, letGo };
}

describe.each(DIALECTS)('strangers’ writes to a mailbox at once, on %s', (dialect) => {
  let store: TestStore;
  let app: LancashServer;

  beforeEach(async () => {
    store = await freshStore(dialect);
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });

  it('at most maxNetworkWrites are in the database, the next ones wait, the rest get 429 MailboxBusy; trusted deposits pass', async () => {
    const held = await heldMailbox(store, LIMITS);
    const { serverKey, base, letGo } = held;
    app = held.app;
    const requests = await Promise.all(
      Array.from({ length: STRANGERS }, (_, i) => strangerRequest(i, 'wan', serverKey.publicKey)),
    );
    const answers: (Answer | undefined)[] = Array.from({ length: STRANGERS }, () => undefined);
    const sent = requests.map((r, i) =>
      post(base, r.path, r.body, strangerAddress(i)).then((a) => {
        answers[i] = a;
        return a;
      }),
    );
    try {
      const refused = () => answers.filter((a) => a !== undefined).length;
      // Settled: everyone past the gate's places answered, or more writes inside than the bound.
      await settle(
        () => held.inside() > RUNNING || (refused() === STRANGERS - ADMITTED && held.inside() === RUNNING),
      );
      expect(held.inside()).toBe(RUNNING);
      expect(refused()).toBe(STRANGERS - ADMITTED);
      for (const a of answers.filter((a) => a !== undefined)) {
        expect(a).toEqual({ status: 429, code: BUSY, retryAfter: '1' });
      }
      expect(await metricValue(base, 'lancash_mailbox_busy_total')).toBe(STRANGERS - ADMITTED);
      expect(await metricValue(base, 'lancash_mailbox_network_writes')).toBe(ADMITTED);
      // The gateway's deposit at the bank (a trusted address) is never refused by the gate.
      const owner = await generateEncryptionKeyPair();
      const trusted = post(
        base,
        `/v1/inbox/${addressOf(owner, 'wan')}`,
        await sealJson({
          type: 'test.letter',
          transferId: 'delivery',
          sender: serverKey,
          recipient: owner.publicKey,
          payload: {},
        }),
        TRUSTED,
      );
      letGo();
      expect(await trusted).toMatchObject({ status: 200 });
    } finally {
      letGo();
    }
    const all = await Promise.all(sent);
    expect(all.filter((a) => a.status === 200)).toHaveLength(ADMITTED);
    // Refused before any database work: sent again, one at a time as `Retry-After` spaces a client's
    // retries, each is stored once.
    const again: Answer[] = [];
    for (const [i, a] of all.entries()) {
      again.push(
        a.status === 200 ? a : await post(base, requests[i]!.path, requests[i]!.body, strangerAddress(i)),
      );
    }
    expect(again.map((a) => a.status)).toEqual(Array<number>(STRANGERS).fill(200));
    const stored = await store.db
      .selectFrom('mailbox_messages')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(STRANGERS / 2 + 1);
  });

  it('one client sending many writes at once holds at most its share of the waiting places: another client’s drain still waits its turn', async () => {
    // 2 running, 6 waiting, one client at most 3 of them (50 %). The old gate let one client take all 8.
    const limits: Partial<MailboxLimits> = { ...LIMITS, maxClientWaitingPercent: 50 };
    const share = 3;
    const held = await heldMailbox(store, limits);
    app = held.app;
    const { base, serverKey, letGo } = held;
    const flood = 12;
    // The flood: deposits into inboxes of its own, from one address; the victim: a drain of its inbox.
    const floods = await Promise.all(
      Array.from({ length: flood }, (_, i) => strangerRequest(2 * i, 'wan', serverKey.publicKey)),
    );
    const drain = await strangerRequest(1, 'wan', serverKey.publicKey);
    const attacker = strangerAddress(0);
    let answered = 0;
    const sent = floods.map((r) =>
      post(base, r.path, r.body, attacker).then((a) => {
        answered++;
        return a;
      }),
    );
    let victim: Promise<Answer> | undefined;
    try {
      const refused = flood - RUNNING - share;
      await settle(() => held.inside() > RUNNING || (answered === refused && held.inside() === RUNNING));
      expect([held.inside(), answered]).toEqual([RUNNING, refused]);
      victim = post(base, drain.path, drain.body, strangerAddress(1));
      // Admitted: it waits (the old gate answered it 429 at once, every place being the attacker's).
      expect(
        await settle(
          async () => (await metricValue(base, 'lancash_mailbox_network_writes')) === RUNNING + share + 1,
        ),
      ).toBe(true);
    } finally {
      letGo();
    }
    expect(await victim).toEqual({ status: 200, code: undefined, retryAfter: undefined });
    const all = await Promise.all(sent);
    expect(all.filter((a) => a.status === 200)).toHaveLength(RUNNING + share);
    for (const a of all.filter((a) => a.status !== 200)) {
      expect(a).toEqual({ status: 429, code: BUSY, retryAfter: '1' });
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))(
  'the wide bank’s pool under strangers’ writes, on postgres',
  () => {
    let store: TestStore;
    let other: Store;
    let bank: WideBank;

    beforeEach(async () => {
      store = await freshStore('postgres');
      other = await openStore(store.config);
      bank = await createWideBank({
        store,
        currency: 'EUR',
        crypto: inThreadCrypto(defaultCurve()),
        lightning: 'none',
        logger: false,
        mailboxLimits: LIMITS,
      });
    });
    afterEach(async () => {
      await bank.app.close();
      await bank.close();
      await other.close();
      await store.close();
    });

    /** Backends of this database waiting for a lock. */
    async function lockWaiters(): Promise<number> {
      const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(other.db);
      return Number(rows[0]?.n);
    }

    it('strangers whose writes wait on the database hold maxNetworkWrites connections; the bank’s own writes get one', async () => {
      const base = await listen(bank.app, '127.0.0.1:0');
      const serverKey = bank.keys.encryption.publicKey;
      const requests = await Promise.all(
        Array.from({ length: STRANGERS }, (_, i) => strangerRequest(i, 'wan', serverKey)),
      );
      const holder = await generateEncryptionKeyPair();
      const account = (await bank.ledger.openAccount(holder.publicKey)).id;
      // Every stranger's write waits on these tables (a slow disk, a long sweep, a lock held elsewhere):
      // a deposit charges a totals shard, a drain records its nonce.
      const lock = await holdInTransaction(other, (trx) =>
        sql`lock table mailbox_totals, mailbox_nonces in exclusive mode`.execute(trx),
      );
      let sent: Promise<Answer[]> | undefined;
      try {
        let answered = 0;
        sent = Promise.all(
          requests.map((r, i) =>
            post(base, r.path, r.body, strangerAddress(i)).then((a) => {
              answered++;
              return a;
            }),
          ),
        );
        let waiting = 0;
        await settle(async () => {
          waiting = await lockWaiters();
          return waiting > RUNNING || (answered === STRANGERS - ADMITTED && waiting === RUNNING);
        });
        // Without the bound every connection of the pool (10) waits here, and so would the bank.
        expect(waiting).toBe(RUNNING);
        expect(answered).toBe(STRANGERS - ADMITTED);
        // The bank's own write (an account's deposit, as an issue or a receive) commits meanwhile.
        await bank.ledger.deposit(account, 5, 'meanwhile');
        expect(await lockWaiters()).toBe(RUNNING);
      } finally {
        await lock.release();
      }
      const all = await sent;
      expect(all.filter((a) => a.status === 200)).toHaveLength(ADMITTED);
      expect(all.filter((a) => a.status === 429 && a.code === BUSY)).toHaveLength(STRANGERS - ADMITTED);
    });
  },
);
