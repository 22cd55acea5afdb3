/**
 * Migration 007 on a mailbox that already holds messages, on every dialect: pending rows keep their
 * envelope and get its sha256 as `digest`, tombstones keep their keys with an unknown digest, every
 * row is copied across page edges, the totals shards start with the pending rows dealt to them, and
 * the mailbox works on the migrated rows (a replay of a stored envelope is a duplicate, an ack gives
 * the totals back).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../test-support/dialects.js';
import { migratedUpTo } from '../test-support/older-database.js';
import { DRAIN_TYPE } from './protocol.js';
import { TOTAL_SHARDS, totals } from './repository.js';
import { Mailbox } from './service.js';

describe.each(DIALECTS)('migration 007 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  it('copies pending messages with their digest and tombstones without, and sums the totals', async () => {
    fresh = await freshDatabase(dialect);
    const config = fresh.config;
    const db = await migratedUpTo(config, '007_mailbox_hardening');

    const [owner, sender, server] = await Promise.all([
      generateEncryptionKeyPair(),
      generateEncryptionKeyPair(),
      generateEncryptionKeyPair(),
    ]);
    const recipient = bytesToHex(owner.publicKey);
    const letter = await sealJson({
      type: 't',
      transferId: 'p1',
      sender,
      recipient: owner.publicKey,
      payload: {},
    });
    const text = JSON.stringify(letter);
    await db
      .insertInto('mailbox_inboxes')
      .values({ recipient, messages: 1, bytes: text.length, last_seq: 2 })
      .execute();
    const row = { recipient, sender: letter.sender, created_at: 1 };
    await db
      .insertInto('mailbox_messages')
      .values([
        { ...row, seq: 1, transfer_id: 'gone', envelope: '', size: 10, acked_at: 5 },
        { ...row, seq: 2, transfer_id: 'p1', envelope: text, size: text.length, acked_at: 0 },
      ])
      .execute();
    // Two more inboxes of 700 pending rows each, one sorting before and one after: the copy goes in
    // pages of 500, so page edges fall inside an inbox.
    const BULK = 700;
    for (const bulk of ['0'.repeat(64), 'f'.repeat(64)]) {
      for (let from = 1; from <= BULK; from += 100) {
        const values = Array.from({ length: 100 }, (_, k) => ({
          recipient: bulk,
          seq: from + k,
          sender: letter.sender,
          transfer_id: `b${from + k}`,
          envelope: `{"n":${from + k}}`,
          size: 7,
          created_at: 1,
          acked_at: 0,
        }));
        await db.insertInto('mailbox_messages').values(values).execute();
      }
    }
    await db.destroy();

    store = await openStore(config);
    const copied = await store.db
      .selectFrom('mailbox_messages')
      .select((eb) => ['recipient', eb.fn.countAll<number>().as('n')])
      .groupBy('recipient')
      .orderBy('recipient')
      .execute();
    expect(copied.map((c) => [c.recipient, Number(c.n)])).toEqual([
      ['0'.repeat(64), BULK],
      [recipient, 2],
      ['f'.repeat(64), BULK],
    ]);
    const rows = await store.db
      .selectFrom('mailbox_messages')
      .select(['seq', 'digest', 'depositor', 'shard', 'envelope'])
      .where('recipient', '=', recipient)
      .orderBy('seq')
      .execute();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ digest: '', depositor: '', envelope: '' });
    expect(rows[1]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[1]!.envelope).toBe(text);
    // Pending rows are dealt to the shards in turn: each shard starts with its part, they add up.
    const shards = await store.db.selectFrom('mailbox_totals').selectAll().orderBy('id').execute();
    expect(shards.map((r) => r.id)).toEqual(Array.from({ length: TOTAL_SHARDS }, (_, k) => k));
    const counts = shards.map((r) => r.messages);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(await totals(store.db)).toEqual({ messages: 1 + 2 * BULK, bytes: text.length + 2 * BULK * 7 });

    const mailbox = new Mailbox({ store, serverKey: server, network: 'wan', now: () => 1_000 });
    const address = encodeAddress({ network: 'wan', publicKey: owner.publicKey });
    expect(await mailbox.deposit(address, letter)).toEqual({ duplicate: true });
    const drain = (ack: string[], n: string) =>
      sealJson({
        type: DRAIN_TYPE,
        transferId: n,
        sender: owner,
        recipient: server.publicKey,
        payload: { ack, at: 1_000 },
      }).then((request) => mailbox.drain(address, request));
    const { messages } = await drain([], 'n1');
    expect(messages.map((m) => m.id)).toEqual(['2']);
    await drain(['2'], 'n2');
    expect(await totals(store.db)).toEqual({ messages: 2 * BULK, bytes: 2 * BULK * 7 });
  });
});
