/**
 * The live events' follower (`follow.ts`) on one PostgreSQL mailbox shared by two "processes" (two
 * `Mailbox`es on one database, the follower of the second one's process looked by hand, no timers): a
 * deposit through the first is told to the second's streams at its next look, once; the second's own
 * deposits are told once, whether its look or its own commit comes first; an acked message (a
 * tombstone) is not told; an inbox watched anew hears a deposit made between the watch and the first
 * look; a look reads pages while they come back full, a bounded number; nothing watched, a look makes
 * no statement. PostgreSQL only: a SQLite mailbox is one process's.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import type { Store } from '../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { ArrivalFollower, PAGES_PER_LOOK } from './follow.js';
import { DRAIN_TYPE, type StoredMessage } from './protocol.js';
import { Mailbox } from './service.js';

describe.skipIf(!DIALECTS.includes('postgres'))('the live events follow other processes (PostgreSQL)', () => {
  let store: TestStore;
  let server: EncryptionKeyPair;
  /** What the second process's streams were told, by inbox key. */
  const told: { recipient: string; message: StoredMessage }[] = [];
  let follower: ArrivalFollower;
  /** The first process's mailbox (its deposits are the others'), and the second's (told through its follower). */
  let first: Mailbox;
  let second: Mailbox;

  beforeAll(async () => {
    store = await freshStore('postgres');
    server = await generateEncryptionKeyPair();
    follower = new ArrivalFollower({
      store,
      publish: (recipient, message) => told.push({ recipient, message }),
    });
    first = new Mailbox({ store, serverKey: server, network: 'lan' });
    second = new Mailbox({
      store,
      serverKey: server,
      network: 'lan',
      onArrived: (recipient, message) => follower.stored(recipient, message),
    });
  });
  afterAll(async () => {
    await store?.close();
  });

  async function inbox() {
    const owner = await generateEncryptionKeyPair();
    return {
      owner,
      key: bytesToHex(owner.publicKey),
      address: encodeAddress({ network: 'lan', publicKey: owner.publicKey }),
    };
  }
  async function letter(to: Uint8Array, transferId: string) {
    return sealJson({
      type: 'test.letter',
      transferId,
      sender: await generateEncryptionKeyPair(),
      recipient: to,
      payload: {},
    });
  }
  /** The owner's drain through the first process, acking `ack`. */
  async function drainAs(a: Awaited<ReturnType<typeof inbox>>, ack: string[]) {
    const request = await sealJson({
      type: DRAIN_TYPE,
      transferId: bytesToHex(randomBytes(16)),
      sender: a.owner,
      recipient: server.publicKey,
      payload: { ack, at: Date.now() },
    });
    return first.drain(a.address, request);
  }
  const drained = () => told.splice(0).map((t) => [t.recipient, t.message.envelope.transferId]);

  it("tells another process's deposit at the next look, once, and only to the inbox watched", async () => {
    const a = await inbox();
    const b = await inbox();
    const unwatch = follower.watch(a.key);
    await first.deposit(a.address, await letter(a.owner.publicKey, 'a-1'));
    await first.deposit(b.address, await letter(b.owner.publicKey, 'b-1'));
    expect(drained()).toEqual([]);
    await follower.look();
    expect(told.map((t) => t.message.id)).toEqual([expect.stringMatching(/^[1-9][0-9]*$/)]);
    expect(drained()).toEqual([[a.key, 'a-1']]);
    await follower.look();
    expect(drained()).toEqual([]);
    await first.deposit(a.address, await letter(a.owner.publicKey, 'a-2'));
    await follower.look();
    expect(drained()).toEqual([[a.key, 'a-2']]);
    unwatch();
    await first.deposit(a.address, await letter(a.owner.publicKey, 'a-3'));
    await follower.look();
    expect(drained()).toEqual([]);
  });

  it('tells its own deposits once, whether its look or its commit tells first', async () => {
    const a = await inbox();
    const unwatch = follower.watch(a.key);
    // Its commit first: the look that reads the row tells nothing.
    await second.deposit(a.address, await letter(a.owner.publicKey, 'own-1'));
    expect(drained()).toEqual([[a.key, 'own-1']]);
    await follower.look();
    expect(drained()).toEqual([]);
    // The look first (the row read before the process told it): the commit's telling is dropped.
    const text = await letter(a.owner.publicKey, 'own-2');
    let held: StoredMessage | undefined;
    const late = new Mailbox({
      store,
      serverKey: server,
      network: 'lan',
      onArrived: (_recipient, message) => {
        held = message;
      },
    });
    await late.deposit(a.address, text);
    await follower.look();
    expect(drained()).toEqual([[a.key, 'own-2']]);
    follower.stored(a.key, held!);
    expect(drained()).toEqual([]);
    unwatch();
  });

  it('does not tell a message acked before the look, and reads on past it', async () => {
    const a = await inbox();
    const unwatch = follower.watch(a.key);
    await first.deposit(a.address, await letter(a.owner.publicKey, 'acked'));
    const { messages } = await drainAs(a, []);
    expect(messages).toHaveLength(1);
    await drainAs(a, [messages[0]!.id]);
    await follower.look();
    expect(drained()).toEqual([]);
    await first.deposit(a.address, await letter(a.owner.publicKey, 'after'));
    await follower.look();
    expect(drained()).toEqual([[a.key, 'after']]);
    unwatch();
  });

  it('a look reads pages while they come back full, PAGES_PER_LOOK at most; the next look reads on', async () => {
    const a = await inbox();
    const b = await inbox();
    const heard: string[] = [];
    const paged = new ArrivalFollower({
      store,
      page: 2,
      publish: (_recipient, message) => heard.push(message.envelope.transferId),
    });
    const offA = paged.watch(a.key);
    const offB = paged.watch(b.key);
    const many = PAGES_PER_LOOK * 2 + 3;
    for (let i = 0; i < many; i++) {
      const [to, name] = i % 2 === 0 ? [a, 'a'] : [b, 'b'];
      await first.deposit(to.address, await letter(to.owner.publicKey, `${name}-${i}`));
    }
    await paged.look();
    expect(heard).toHaveLength(PAGES_PER_LOOK * 2);
    await paged.look();
    expect(heard).toHaveLength(many);
    expect(new Set(heard).size).toBe(many);
    await paged.look();
    expect(heard).toHaveLength(many);
    offA();
    offB();
  });

  it("once a look has passed a quiet inbox watched anew, it reads on by sequence number: a depositor's late clock does not hide a deposit", async () => {
    const a = await inbox();
    const heard: string[] = [];
    const f = new ArrivalFollower({ store, publish: (_r, m) => heard.push(m.envelope.transferId) });
    await first.deposit(a.address, await letter(a.owner.publicKey, 'before'));
    const off = f.watch(a.key);
    await f.look();
    // Deposited within the overlap before the watch: told (the stream's bare `arrived` said it too).
    expect(heard).toEqual(['before']);
    // A process whose clock runs an hour behind: its message is older than the watch, yet told.
    const late = new Mailbox({ store, serverKey: server, network: 'lan', now: () => Date.now() - 3_600_000 });
    await late.deposit(a.address, await letter(a.owner.publicKey, 'late-clock'));
    await f.look();
    expect(heard).toEqual(['before', 'late-clock']);
    const b = await inbox();
    const offB = f.watch(b.key);
    await f.look(); // quiet: its cursor is its highest number (none yet: 0)
    await late.deposit(b.address, await letter(b.owner.publicKey, 'late-b'));
    await f.look();
    expect(heard).toEqual(['before', 'late-clock', 'late-b']);
    off();
    offB();
  });

  it('nothing watched: a look makes no statement', async () => {
    const refuse = (): never => {
      throw new Error('a look with nothing watched made a statement');
    };
    const refusing = {
      dialect: 'postgres',
      get db(): Store['db'] {
        return refuse();
      },
      transaction: async () => refuse(),
    } as unknown as Store;
    const warned: object[] = [];
    const idle = new ArrivalFollower({
      store: refusing,
      publish: () => undefined,
      log: { warn: (o) => warned.push(o) },
    });
    await idle.look();
    expect(warned).toEqual([]);
    const unwatch = idle.watch('00'.repeat(32));
    await idle.look();
    expect(warned).toHaveLength(1);
    unwatch();
    expect(idle.watching).toBe(0);
  });
});
