/**
 * A deposit as one statement on PostgreSQL (migration 034, `repository.depositInOne`): the server's
 * plain deposit runs outside any transaction and answers as the transaction did (stored, duplicate);
 * a stranger's plain deposit, and one inside a caller's transaction, are that one statement in the
 * transaction; one that is not plain (a full inbox, a depositor past its share, no room in the totals)
 * leaves every mailbox row as it was and is given its refusal by the transaction path; the migration
 * can run again, and works on a mailbox written before it (on every dialect: SQLite keeps the
 * transaction).
 */
import { createHash } from 'node:crypto';
import { type Kysely, type KyselyPlugin, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { isLancashError } from '../core/errors.js';
import { openStore, type Store } from '../store/index.js';
import { up } from '../store/migrations/034_mailbox_deposit_function.js';
import {
  DIALECTS,
  type FreshDatabase,
  freshDatabase,
  freshStore,
  type TestStore,
} from '../test-support/dialects.js';
import { migratedUpTo } from '../test-support/older-database.js';
import { Mailbox, type MailboxLimits } from './service.js';

const STRANGER = '203.0.113.9';

describe.runIf(DIALECTS.includes('postgres'))('mailbox deposit in one statement on postgres', () => {
  let store: TestStore;
  let transactions: number;
  /** Statements run inside the counted transactions. */
  let statements: number;
  let counting: Store;
  let server: EncryptionKeyPair;
  let alice: EncryptionKeyPair;
  let bob: EncryptionKeyPair;
  let address: string;

  beforeEach(async () => {
    store = await freshStore('postgres');
    transactions = 0;
    statements = 0;
    const counter: KyselyPlugin = {
      transformQuery: (a) => a.node,
      transformResult: async (a) => {
        statements++;
        return a.result;
      },
    };
    counting = {
      dialect: store.dialect,
      db: store.db,
      secrets: store.secrets,
      transaction: (fn) => {
        transactions++;
        return store.transaction((trx) => fn(trx.withPlugin(counter)));
      },
      afterCommit: (db, fn) => store.afterCommit(db, fn),
      overwriteSecurely: (fn) => store.overwriteSecurely(fn),
      close: async () => {},
    };
    server = await generateEncryptionKeyPair();
    [alice, bob] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
    address = encodeAddress({ network: 'wan', publicKey: alice.publicKey });
  });
  afterEach(() => store.close());

  const mailboxWith = (limits: Partial<MailboxLimits> = {}) =>
    new Mailbox({ store: counting, serverKey: server, network: 'wan', limits, now: () => 1_750_000_000_000 });
  const letter = (transferId: string) =>
    sealJson({ type: 'test.letter', transferId, sender: bob, recipient: alice.publicKey, payload: {} });

  /** Every row of the mailbox's tables, in a fixed order. */
  async function rows(db: Kysely<unknown>): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const [table, order] of [
      ['mailbox_inboxes', 'recipient'],
      ['mailbox_messages', 'recipient, seq'],
      ['mailbox_depositors', 'depositor'],
      ['mailbox_totals', 'id'],
    ] as const) {
      const r = await sql.raw(`select * from ${table} order by ${order}`).execute(db);
      out.push(table, r.rows);
    }
    return out;
  }

  it("the server's plain deposit is one statement outside any transaction, its replay too; a stranger's is a transaction", async () => {
    const mailbox = mailboxWith();
    const envelope = await letter('t1');
    expect(await mailbox.deposit(address, envelope)).toEqual({ duplicate: false });
    expect(await mailbox.deposit(address, envelope)).toEqual({ duplicate: true });
    expect(transactions).toBe(0);
    // A stranger's deposit updates its depositor's row: it stays in the group's transaction, as the
    // function's one statement there.
    expect(await mailbox.deposit(address, envelope, STRANGER)).toEqual({ duplicate: true });
    expect(await mailbox.deposit(address, await letter('t2'), STRANGER)).toEqual({ duplicate: false });
    expect([transactions, statements]).toEqual([2, 2]);
    const inbox = await store.db
      .selectFrom('mailbox_inboxes')
      .select(['messages', 'bytes', 'last_seq'])
      .where('recipient', '=', bytesToHex(alice.publicKey))
      .executeTakeFirstOrThrow();
    expect(Number(inbox.messages)).toBe(2);
    expect(Number(inbox.last_seq)).toBe(2);
    const stranger = await store.db
      .selectFrom('mailbox_depositors')
      .select(['messages'])
      .where('depositor', '=', STRANGER)
      .executeTakeFirstOrThrow();
    expect(Number(stranger.messages)).toBe(1);
  });

  it('a deposit that is not plain changes nothing in the statement and is refused by the transaction', async () => {
    // A full inbox: the statement's inbox counters pass the limit.
    const full = mailboxWith({ maxMessages: 1 });
    const first = await letter('t1');
    expect(await full.deposit(address, first)).toEqual({ duplicate: false });
    const before = await rows(store.db as Kysely<unknown>);
    const refused = await full.deposit(address, await letter('t2')).catch((e: unknown) => e);
    expect(isLancashError(refused, 'MailboxFull')).toBe(true);
    expect(transactions).toBe(1);
    // A replay into the full inbox is still a no-op (the transaction looks for the copy).
    expect(await full.deposit(address, first)).toEqual({ duplicate: true });
    expect(transactions).toBe(2);
    expect(await rows(store.db as Kysely<unknown>)).toEqual(before);
  });

  it("a stranger's deposit that is not plain: the statement changes nothing, the transaction after it refuses", async () => {
    // The stranger may fill half of the inbox (4 of 8 messages; the strangers' part is 7).
    const mailbox = mailboxWith({ maxMessages: 8, maxDepositorInboxPercent: 50 });
    for (const id of ['a1', 'a2', 'a3', 'a4'])
      expect(await mailbox.deposit(address, await letter(id), STRANGER)).toEqual({ duplicate: false });
    expect([transactions, statements]).toEqual([4, 4]);
    const before = await rows(store.db as Kysely<unknown>);
    const refused = await mailbox.deposit(address, await letter('a5'), STRANGER).catch((e: unknown) => e);
    expect(isLancashError(refused, 'MailboxDepositorLimit')).toBe(true);
    // The function's transaction, then `insert`'s (which counts the depositor's messages and refuses),
    // then the sweep a refusal for lack of room makes once before it gives up.
    expect(transactions).toBe(4 + 3);
    expect(await rows(store.db as Kysely<unknown>)).toEqual(before);
    // Another depositor still finds room (the inbox's own part is not the stranger's).
    expect(await mailbox.deposit(address, await letter('b1'), '198.51.100.7')).toEqual({ duplicate: false });
  });

  it("the server's deposit inside a caller's transaction: one statement; not plain, it aborts that transaction", async () => {
    const mailbox = mailboxWith({ maxMessages: 1 });
    const first = mailbox.depositInTransaction(address, await letter('c1'));
    await counting.transaction((trx) => first!.write(trx));
    first!.committed();
    expect([transactions, statements]).toEqual([1, 1]);
    const before = await rows(store.db as Kysely<unknown>);
    // The inbox is full: the statement refuses, the caller's transaction rolls back.
    const second = mailbox.depositInTransaction(address, await letter('c2'));
    const refused = await counting.transaction((trx) => second!.write(trx)).catch((e: unknown) => e);
    expect(isLancashError(refused)).toBe(true);
    expect(await rows(store.db as Kysely<unknown>)).toEqual(before);
    // The deposit on its own gives the refusal the caller delivers with later.
    const again = await mailbox.deposit(address, await letter('c2')).catch((e: unknown) => e);
    expect(isLancashError(again, 'MailboxFull')).toBe(true);
  });

  it('a deposit whose totals shard has no room changes nothing in the statement; the transaction tries the others, then refuses', async () => {
    // One message in all: shard 0 holds the room, every other shard none.
    const capped = mailboxWith({ maxTotalMessages: 1 });
    expect(await capped.deposit(address, await letter('s1'))).toEqual({ duplicate: false });
    const before = await rows(store.db as Kysely<unknown>);
    const refused = await capped.deposit(address, await letter('s2')).catch((e: unknown) => e);
    expect(isLancashError(refused, 'MailboxQuotaExceeded')).toBe(true);
    expect(await rows(store.db as Kysely<unknown>)).toEqual(before);
  });

  it('the function raises LM001 for a deposit that is not plain, and the migration runs again', async () => {
    await up(store.db as Kysely<unknown>);
    const before = await rows(store.db as Kysely<unknown>);
    const call = sql`select lancash_mailbox_deposit('ab', 'cd', 't', 'dd', '', 0, '{}', 2, 1, 0, 0, 10, 10, 10, 10)`;
    const e = await call.execute(store.db).catch((err: unknown) => err);
    expect((e as { code?: string }).code).toBe('LM001');
    expect(await rows(store.db as Kysely<unknown>)).toEqual(before);
  });
});

describe.each(DIALECTS)('migration 034 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  it('a mailbox written before it: a replay of a stored letter is a duplicate, a new one numbered on', async () => {
    fresh = await freshDatabase(dialect);
    const db = await migratedUpTo(fresh.config, '034_mailbox_deposit_function');
    const [server, owner, sender] = await Promise.all([
      generateEncryptionKeyPair(),
      generateEncryptionKeyPair(),
      generateEncryptionKeyPair(),
    ]);
    const recipient = bytesToHex(owner.publicKey);
    const letter = (transferId: string) =>
      sealJson({ type: 'test.letter', transferId, sender, recipient: owner.publicKey, payload: {} });
    const stored = await letter('p1');
    // As the deposit stored it: the envelope's compact JSON in schema order, and its SHA-256.
    const text = JSON.stringify(stored);
    const digest = createHash('sha256').update(text).digest('hex');
    await db
      .insertInto('mailbox_inboxes')
      .values({ recipient, messages: 1, bytes: text.length, last_seq: 7 })
      .execute();
    await db
      .insertInto('mailbox_messages')
      .values({
        recipient,
        seq: 7,
        sender: stored.sender,
        transfer_id: 'p1',
        digest,
        depositor: '',
        shard: 3,
        envelope: text,
        size: text.length,
        created_at: 1,
        acked_at: 0,
      })
      .execute();
    await db
      .updateTable('mailbox_totals')
      .set({ messages: 1, bytes: text.length })
      .where('id', '=', 3)
      .execute();
    await db.destroy();

    store = await openStore(fresh.config);
    const mailbox = new Mailbox({ store, serverKey: server, network: 'wan', now: () => 1_750_000_000_000 });
    const address = encodeAddress({ network: 'wan', publicKey: owner.publicKey });
    expect(await mailbox.deposit(address, stored)).toEqual({ duplicate: true });
    const next = await letter('p2');
    expect(await mailbox.deposit(address, next)).toEqual({ duplicate: false });
    const inbox = await store.db
      .selectFrom('mailbox_inboxes')
      .select(['messages', 'bytes', 'last_seq'])
      .where('recipient', '=', recipient)
      .executeTakeFirstOrThrow();
    expect([Number(inbox.messages), Number(inbox.bytes), Number(inbox.last_seq)]).toEqual([
      2,
      text.length + JSON.stringify(next).length,
      8,
    ]);
  });
});
