/**
 * A property test of the mailbox service against a model, on every dialect: over random sequences of
 * deposits (new, replayed, into a full inbox) and drains (acking random subsets of what the last
 * answer held, random page sizes), the answers are the model's pending messages oldest first, and
 * the inbox counters always equal the count and bytes of what is pending, and the mailbox's totals
 * the sum of every inbox's. Writes that arrive together share one transaction.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import {
  type EncryptionKeyPair,
  type Envelope,
  generateEncryptionKeyPair,
  sealJson,
} from '../core/envelope/index.js';
import { isLancashError } from '../core/errors.js';
import type { Store, TransactionOptions } from '../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { commitMode } from '../test-support/durability.js';
import { DRAIN_TYPE, WATCH_TYPE } from './protocol.js';
import { totals } from './repository.js';
import { Mailbox, parseMailboxLimits } from './service.js';

const LETTERS = 6;
/** A depositor from the network (client IP). */
const STRANGER = '198.51.100.9';
const MAX_MESSAGES = 4;

type Op = { kind: 'deposit'; i: number } | { kind: 'drain'; ackMask: number; max: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('deposit' as const), i: fc.integer({ min: 0, max: LETTERS - 1 }) }),
  fc.record({
    kind: fc.constant('drain' as const),
    ackMask: fc.integer({ min: 0, max: 2 ** MAX_MESSAGES - 1 }),
    max: fc.integer({ min: 1, max: MAX_MESSAGES }),
  }),
);

describe.each(DIALECTS)('mailbox service on %s (property)', (dialect) => {
  let store: TestStore;
  let server: EncryptionKeyPair;
  let sender: EncryptionKeyPair;
  const clock = 1_750_000_000_000;

  beforeAll(async () => {
    store = await freshStore(dialect);
    server = await generateEncryptionKeyPair();
    sender = await generateEncryptionKeyPair();
  });
  afterAll(async () => {
    await store.close();
  });

  it('answers match the model and the counters match what is pending', async () => {
    let nonce = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        // A new owner per run: a fresh inbox in the same database.
        const owner = await generateEncryptionKeyPair();
        const address = encodeAddress({ network: 'wan', publicKey: owner.publicKey });
        const mailbox = new Mailbox({
          store,
          serverKey: server,
          network: 'wan',
          limits: { maxMessages: MAX_MESSAGES },
          now: () => clock,
        });
        const letters: Envelope[] = await Promise.all(
          Array.from({ length: LETTERS }, (_, i) =>
            sealJson({
              type: 'test.letter',
              transferId: `t${i}`,
              sender,
              recipient: owner.publicKey,
              payload: { i, pad: 'x'.repeat(i * 7) },
            }),
          ),
        );
        const sizeOf = (i: number) => JSON.stringify(letters[i]).length;
        const everStored = new Set<number>();
        let pending: number[] = []; // letter indexes, oldest first
        let lastAnswer: { id: string; i: number }[] = [];

        for (const o of ops) {
          if (o.kind === 'deposit') {
            const outcome = await mailbox.deposit(address, letters[o.i]!).catch((e: unknown) => e);
            if (everStored.has(o.i)) expect(outcome).toEqual({ duplicate: true });
            else if (pending.length >= MAX_MESSAGES)
              expect(isLancashError(outcome, 'MailboxFull')).toBe(true);
            else {
              expect(outcome).toEqual({ duplicate: false });
              everStored.add(o.i);
              pending.push(o.i);
            }
          } else {
            const acked = lastAnswer.filter((_, k) => (o.ackMask >> k) & 1);
            const request = await sealJson({
              type: DRAIN_TYPE,
              transferId: `n${nonce++}`,
              sender: owner,
              recipient: server.publicKey,
              payload: { ack: acked.map((a) => a.id), max: o.max, at: clock },
            });
            const answer = await mailbox.drain(address, request);
            pending = pending.filter((i) => !acked.some((a) => a.i === i));
            lastAnswer = answer.messages.map((m) => ({
              id: m.id,
              i: Number(m.envelope.transferId.slice(1)),
            }));
            expect(lastAnswer.map((a) => a.i)).toEqual(pending.slice(0, o.max));
            expect(answer.more).toBe(pending.length > o.max);
          }
          const counters = await store.db
            .selectFrom('mailbox_inboxes')
            .select(['messages', 'bytes'])
            .where('recipient', '=', bytesToHex(owner.publicKey))
            .executeTakeFirst();
          expect(counters ?? { messages: 0, bytes: 0 }).toEqual({
            messages: pending.length,
            bytes: pending.reduce((sum, i) => sum + sizeOf(i), 0),
          });
          // The totals (their shards' sum) are the sum of every inbox's counters (all runs share the database).
          const all = await store.db
            .selectFrom('mailbox_inboxes')
            .select((eb) => [
              eb.fn.sum<number>('messages').as('messages'),
              eb.fn.sum<number>('bytes').as('bytes'),
            ])
            .executeTakeFirstOrThrow();
          const sum = await totals(store.db);
          expect([sum.messages, sum.bytes]).toEqual([Number(all.messages ?? 0), Number(all.bytes ?? 0)]);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('deposits and drains that arrive together commit as one group on SQLite; a refused one changes nothing', async () => {
    let transactions = 0;
    const counting: Store = {
      dialect: store.dialect,
      db: store.db,
      secrets: store.secrets,
      transaction: (fn) => {
        transactions++;
        return store.transaction(fn);
      },
      afterCommit: (db, fn) => store.afterCommit(db, fn),
      overwriteSecurely: (fn) => store.overwriteSecurely(fn),
      // The test's store is closed by `afterAll`.
      close: async () => {},
    };
    const owner = await generateEncryptionKeyPair();
    const address = encodeAddress({ network: 'wan', publicKey: owner.publicKey });
    const mailbox = new Mailbox({
      store: counting,
      serverKey: server,
      network: 'wan',
      limits: { maxMessages: 2, strangersPercent: 100, maxDepositorInboxPercent: 100 },
      now: () => clock,
    });
    const letters = await Promise.all(
      [0, 1, 2].map((i) =>
        sealJson({
          type: 'test.letter',
          transferId: `g${i}`,
          sender,
          recipient: owner.publicKey,
          payload: { i },
        }),
      ),
    );
    const drainRequest = await sealJson({
      type: DRAIN_TYPE,
      transferId: 'group-drain',
      sender: owner,
      recipient: server.publicKey,
      payload: { ack: [], at: clock },
    });
    // Queued in one turn of the event loop (a deposit's checks before its write are synchronous):
    // one group, in arrival order.
    // A stranger's (on PostgreSQL the server's own plain deposit is a statement of its own, outside
    // any group: `deposit-in-one.test.ts`).
    const outcomes = await Promise.all(
      letters.map((l) => mailbox.deposit(address, l, '198.51.100.4').catch((e: unknown) => e)),
    );
    // SQLite, one group: run plainly, then once more with a savepoint per write after the refusal
    // (`GroupCommit`), instead of one transaction per deposit (3). PostgreSQL: one transaction per
    // deposit (grouped, a write waiting for an inbox held the group's shards: `Mailbox.commit`), each
    // migration 034's one statement; the one that is not plain (the inbox is full) gets its refusal
    // from a second transaction of its own.
    expect(transactions).toBe(dialect === 'postgres' ? 4 : 2);
    // Which deposit finds the inbox full is the arrival order in the group (SQLite: the last), and on
    // PostgreSQL whichever transaction takes the inbox's row last.
    const refused = outcomes.findIndex((o) => isLancashError(o, 'MailboxFull'));
    if (dialect === 'sqlite') expect(refused).toBe(2);
    const stored = [0, 1, 2].filter((i) => i !== refused);
    expect(stored.map((i) => outcomes[i])).toEqual([{ duplicate: false }, { duplicate: false }]);
    const answer = await mailbox.drain(address, drainRequest);
    expect(answer.messages.map((m) => m.envelope.transferId).sort()).toEqual(stored.map((i) => `g${i}`));
    // The refused deposit rolled back alone: the counters hold the two stored letters.
    const counters = await store.db
      .selectFrom('mailbox_inboxes')
      .select(['messages', 'bytes'])
      .where('recipient', '=', bytesToHex(owner.publicKey))
      .executeTakeFirstOrThrow();
    expect(counters).toEqual({
      messages: 2,
      bytes: stored.reduce((n, i) => n + JSON.stringify(letters[i]).length, 0),
    });
  });

  it("a drain's and a watch's commits are relaxed, a deposit's durable; a lost drain delivers the same messages again", async () => {
    const modes: string[] = [];
    const recording: Store = {
      dialect: store.dialect,
      db: store.db,
      secrets: store.secrets,
      // The mode each transaction runs in, read inside it: what the store did with the options.
      transaction: (fn, options?: TransactionOptions) =>
        store.transaction(async (trx) => {
          modes.push(await commitMode(trx, store.dialect));
          return fn(trx);
        }, options),
      afterCommit: (db, fn) => store.afterCommit(db, fn),
      overwriteSecurely: (fn) => store.overwriteSecurely(fn),
      close: async () => {},
    };
    const owner = await generateEncryptionKeyPair();
    const address = encodeAddress({ network: 'wan', publicKey: owner.publicKey });
    const recipient = bytesToHex(owner.publicKey);
    const mailbox = new Mailbox({ store: recording, serverKey: server, network: 'wan', now: () => clock });
    const letter = await sealJson({
      type: 'test.letter',
      transferId: 'lost-ack',
      sender,
      recipient: owner.publicKey,
      payload: {},
    });
    // A stranger's deposit (a transaction on every dialect): durable.
    await mailbox.deposit(address, letter, STRANGER);
    const drain = async (ack: string[], id: string) =>
      mailbox.drain(
        address,
        await sealJson({
          type: DRAIN_TYPE,
          transferId: id,
          sender: owner,
          recipient: server.publicKey,
          payload: { ack, at: clock },
        }),
      );
    const first = await drain([], 'lost-1');
    expect(first.messages.map((m) => m.envelope.transferId)).toEqual(['lost-ack']);
    // What the acking drain changes: the message, its inbox's, depositor's and totals' counters.
    const before = {
      messages: await store.db
        .selectFrom('mailbox_messages')
        .selectAll()
        .where('recipient', '=', recipient)
        .execute(),
      inbox: await store.db
        .selectFrom('mailbox_inboxes')
        .selectAll()
        .where('recipient', '=', recipient)
        .execute(),
      depositor: await store.db
        .selectFrom('mailbox_depositors')
        .selectAll()
        .where('depositor', '=', STRANGER)
        .execute(),
      totals: await store.db.selectFrom('mailbox_totals').selectAll().execute(),
    };
    const acked = await drain([first.messages[0]!.id], 'lost-2');
    expect(acked.messages).toEqual([]);
    await mailbox.checkWatch(
      address,
      await sealJson({
        type: WATCH_TYPE,
        transferId: 'lost-3',
        sender: owner,
        recipient: server.publicKey,
        payload: { at: clock },
      }),
    );
    expect(modes).toEqual(['durable', 'relaxed', 'relaxed', 'relaxed']);

    // A power loss takes the acking drain's commit (its nonce with it): the message is pending again.
    await store.transaction(async (trx) => {
      await trx.deleteFrom('mailbox_messages').where('recipient', '=', recipient).execute();
      await trx.insertInto('mailbox_messages').values(before.messages).execute();
      await trx
        .updateTable('mailbox_inboxes')
        .set(before.inbox[0]!)
        .where('recipient', '=', recipient)
        .execute();
      await trx.deleteFrom('mailbox_depositors').where('depositor', '=', STRANGER).execute();
      await trx.insertInto('mailbox_depositors').values(before.depositor).execute();
      for (const t of before.totals)
        await trx.updateTable('mailbox_totals').set(t).where('id', '=', t.id).execute();
      await trx.deleteFrom('mailbox_nonces').where('nonce', '=', 'lost-2').execute();
    });
    // The owner's next drain gets it again, the same id and bytes: the same transfer, taken once by
    // its sender and transfer id (`wallet/receive.ts`).
    const again = await drain([], 'lost-4');
    expect(again.messages).toEqual(first.messages);
  });

  it('refuses limits that are not positive integers or that make a drain answer too large', () => {
    const make = (limits: object) => () => new Mailbox({ store, serverKey: server, network: 'wan', limits });
    expect(make({ maxMessages: 0 })).toThrow(/limits.maxMessages/);
    expect(make({ maxDrain: 1.5 })).toThrow(/limits.maxDrain/);
    expect(make({ maxDrain: 1000, maxEnvelopeBytes: 64 * 1024 })).toThrow(/maxDrain × maxEnvelopeBytes/);
  });

  it('reads operator limits from JSON, refusing unknown names, non-positive values and bad JSON', () => {
    expect(parseMailboxLimits('{"maxTotalBytes":1048576,"maxAgeMs":60000}')).toEqual({
      maxTotalBytes: 1048576,
      maxAgeMs: 60000,
    });
    for (const bad of ['{"maxTotalBytez":1}', '{"maxAgeMs":0}', '{"maxAgeMs":1.5}', '[]', '{', '"x"']) {
      expect(() => parseMailboxLimits(bad, '--mailbox-limits')).toThrow(/--mailbox-limits/);
    }
  });
});
