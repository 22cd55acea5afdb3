/**
 * On PostgreSQL a mailbox with no commit of its caller's (the wide bank's) runs each deposit and each
 * drain as a transaction of its own (`Mailbox.commit`). Grouped, a write held its inbox's row and its
 * totals shard while the group went on to the next write's inbox; a trusted one-statement deposit or a
 * drain holding that inbox and waiting for the shard closed a circle that only `deadlock_timeout` (1 s)
 * broke. Here a stranger's deposit whose inbox another transaction holds must not hold up a deposit
 * into another inbox, as it would in a group (the second deposit would wait in the next group).
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { holdInTransaction } from '../test-support/held.js';
import { Mailbox } from './service.js';

const STRANGER = '10.0.0.7';

describe.runIf(DIALECTS.includes('postgres'))('the wide mailbox’s writes on postgres', () => {
  let store: TestStore;
  let other: Store;
  let mailbox: Mailbox;
  let bob: EncryptionKeyPair;
  let alice: EncryptionKeyPair;
  let carol: EncryptionKeyPair;

  beforeEach(async () => {
    store = await freshStore('postgres');
    other = await openStore(store.config);
    [bob, alice, carol] = await Promise.all([
      generateEncryptionKeyPair(),
      generateEncryptionKeyPair(),
      generateEncryptionKeyPair(),
    ]);
    const server = await generateEncryptionKeyPair();
    mailbox = new Mailbox({ store, serverKey: server, network: 'wan', now: () => 1_750_000_000_000 });
  });
  afterEach(async () => {
    await other.close();
    await store.close();
  });

  const address = (k: EncryptionKeyPair) => encodeAddress({ network: 'wan', publicKey: k.publicKey });
  const letter = (to: EncryptionKeyPair, transferId: string) =>
    sealJson({ type: 'test.letter', transferId, sender: bob, recipient: to.publicKey, payload: {} });

  /** Whether a backend of this database waits for a row lock (polled until one does). */
  async function someoneWaits(): Promise<boolean> {
    for (let i = 0; i < 200; i++) {
      const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(other.db);
      if (Number(rows[0]?.n) > 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  }

  it('a stranger’s deposit waiting for its inbox holds up no deposit into another inbox', async () => {
    // Carol's inbox row exists (a first deposit), so the next deposit into it waits for its lock.
    expect(await mailbox.deposit(address(carol), await letter(carol, 'first'), STRANGER)).toEqual({
      duplicate: false,
    });
    const holder = await holdInTransaction(other, (trx) =>
      sql`update mailbox_inboxes set messages = messages where recipient = ${bytesToHex(carol.publicKey)}`.execute(
        trx,
      ),
    );
    try {
      const waiting = mailbox.deposit(address(carol), await letter(carol, 'second'), STRANGER);
      expect(await someoneWaits()).toBe(true);
      // Stored while carol's inbox is still held (grouped behind the waiting deposit, this would hang).
      expect(await mailbox.deposit(address(alice), await letter(alice, 'meanwhile'), STRANGER)).toEqual({
        duplicate: false,
      });
      await holder.release();
      expect(await waiting).toEqual({ duplicate: false });
    } finally {
      await holder.release();
    }
    const depositor = await store.db
      .selectFrom('mailbox_depositors')
      .select(['messages'])
      .where('depositor', '=', STRANGER)
      .executeTakeFirstOrThrow();
    expect(Number(depositor.messages)).toBe(3);
  });
});
