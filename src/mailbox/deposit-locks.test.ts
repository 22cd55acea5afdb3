/**
 * A deposit's locks on PostgreSQL, where its rest after the inbox's slot is one data-modifying CTE
 * (`repository.storeIfNew`): the mailbox's lock order (inbox, depositor, totals shard; no message row
 * waited on) must hold inside that statement too, or a deposit and a drain could wait for each other.
 * Locks are held by a second connection and probed with `lock_timeout` (a poll, never a timed
 * assertion): a deposit stopped at a totals shard holds the inbox and the depositor's row already;
 * a replay of bytes whose stored copy a drain holds answers at once, without waiting for that drain.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { holdInTransaction, isLockTimeout } from '../test-support/held.js';
import { Mailbox } from './service.js';

const STRANGER = '10.0.0.7';

describe.runIf(DIALECTS.includes('postgres'))('mailbox deposit locks on postgres', () => {
  let store: TestStore;
  let other: Store;
  let probe: Store;
  let mailbox: Mailbox;
  let alice: EncryptionKeyPair;
  let bob: EncryptionKeyPair;
  let address: string;

  beforeEach(async () => {
    store = await freshStore('postgres');
    other = await openStore(store.config);
    probe = await openStore(store.config);
    const server = await generateEncryptionKeyPair();
    [alice, bob] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
    address = encodeAddress({ network: 'lan', publicKey: alice.publicKey });
    mailbox = new Mailbox({ store, serverKey: server, network: 'lan', now: () => 1_750_000_000_000 });
  });
  afterEach(async () => {
    await other.close();
    await probe.close();
    await store.close();
  });

  const letter = (transferId: string) =>
    sealJson({ type: 'test.letter', transferId, sender: bob, recipient: alice.publicKey, payload: {} });

  /** Whether another transaction holds a lock on the rows `statement` updates (polled until it does). */
  async function heldBy(statement: ReturnType<typeof sql>): Promise<boolean> {
    for (let i = 0; i < 200; i++) {
      const locked = await probe.transaction(async (trx) => {
        await sql`set local lock_timeout = '20ms'`.execute(trx);
        return statement.execute(trx).then(() => false, isLockTimeout);
      });
      if (locked) return true;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  }

  it('a deposit stopped at its totals shard holds the inbox and the depositor row already', async () => {
    // The depositor's row exists (a first deposit), so the second one's share updates it under its lock.
    await mailbox.deposit(address, await letter('first'), STRANGER);
    const inbox = bytesToHex(alice.publicKey);
    // Every shard held: whichever the deposit tries first, it waits there.
    const holder = await holdInTransaction(other, (trx) =>
      sql`update mailbox_totals set messages = messages`.execute(trx),
    );
    try {
      const second = mailbox.deposit(address, await letter('second'), STRANGER);
      const depositorTaken = await heldBy(
        sql`update mailbox_depositors set messages = messages where depositor = ${STRANGER}`,
      );
      const inboxTaken = await heldBy(
        sql`update mailbox_inboxes set messages = messages where recipient = ${inbox}`,
      );
      await holder.release();
      expect(await second).toEqual({ duplicate: false });
      expect(depositorTaken).toBe(true);
      expect(inboxTaken).toBe(true);
      const row = await store.db
        .selectFrom('mailbox_depositors')
        .select(['messages'])
        .where('depositor', '=', STRANGER)
        .executeTakeFirstOrThrow();
      expect(Number(row.messages)).toBe(2);
    } finally {
      await holder.release();
    }
  });

  it('a replay whose stored copy a drain holds answers duplicate without waiting for the drain', async () => {
    const envelope = await letter('replayed');
    expect(await mailbox.deposit(address, envelope, STRANGER)).toEqual({ duplicate: false });
    // As a drain acking it would: the message's row first; the inbox row would come next.
    const drainLike = await holdInTransaction(
      other,
      (trx) =>
        sql`update mailbox_messages set acked_at = acked_at where recipient = ${bytesToHex(alice.publicKey)}`.execute(
          trx,
        ),
      (trx) =>
        sql`update mailbox_inboxes set messages = messages where recipient = ${bytesToHex(alice.publicKey)}`.execute(
          trx,
        ),
    );
    try {
      // Answered while the row is held (were the deposit to wait for that row, this would hang).
      expect(await mailbox.deposit(address, envelope, STRANGER)).toEqual({ duplicate: true });
    } finally {
      await drainLike.release();
    }
    const counters = await store.db
      .selectFrom('mailbox_inboxes')
      .select(['messages'])
      .executeTakeFirstOrThrow();
    expect(Number(counters.messages)).toBe(1);
  });
});
