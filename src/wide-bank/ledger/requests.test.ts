/**
 * The issues and receives written together (`Ledger.onceWith`; on PostgreSQL one statement a batch,
 * migration 033, each request in its own subtransaction): a refused request of a batch leaves nothing
 * of itself and its neighbours commit as if it had not been sent; a batch whose statement fails as a
 * whole runs each request again alone (a request the server cannot take fails alone; one the lost call
 * wrote is answered as a replay); requests whose answers are lost alone too are unclear, and their
 * retries under the same keys settle each once. On SQLite each request is its own transaction.
 */
import { randomUUID } from 'node:crypto';
import type { KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../../core/crypto/index.js';
import type { Store } from '../../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { makeOutputs } from '../../test-support/notes.js';
import { codeOf } from '../../test-support/refusals.js';
import { newHolder, type TestBank, testBank } from '../../test-support/wide-bank.js';
import { auditWideBank } from '../audit.js';
import { logLine } from '../request-log/service.js';
import { issuePostings, Ledger, type RequestKey, requestHash } from './service.js';

const curve = defaultCurve();

describe.each(DIALECTS)('requests written together on %s', (dialect) => {
  let store: TestStore;
  let bank: TestBank;
  let account: string;
  /** Statements of `lancash_bank_requests` run (seen by their result's `answers` column). */
  let batches: number;
  /** How many of the next statements run and commit, and then lose their answer. */
  let answersToLose: number;
  let ledger: Ledger;

  beforeEach(async () => {
    store = await freshStore(dialect);
    bank = await testBank(store, curve);
    account = (await bank.ledger.openAccount((await newHolder()).key)).id;
    await bank.ledger.deposit(account, 10, 'd');
    batches = 0;
    answersToLose = 0;
    const spy: KyselyPlugin = {
      transformQuery: ({ node }) => node,
      transformResult: async ({ result }) => {
        const first = result.rows[0] as { answers?: unknown } | undefined;
        if (first?.answers === undefined) return result;
        batches++;
        if (answersToLose > 0) {
          answersToLose--;
          throw new Error('connection lost after the commit');
        }
        return result;
      },
    };
    const spied: Store = {
      dialect: store.dialect,
      db: store.db.withPlugin(spy),
      transaction: (fn) => store.transaction(fn),
      afterCommit: (db, fn) => store.afterCommit(db, fn),
      secrets: store.secrets,
      overwriteSecurely: (fn) => store.overwriteSecurely(fn),
      close: () => store.close(),
    };
    ledger = new Ledger(spied);
  });
  afterEach(async () => {
    const audit = await auditWideBank(store);
    expect(audit.differences).toEqual([]);
    await store.close();
  });

  /** An issue of `amounts` under a fresh key (or `key`), with its log line, ready to write. */
  async function issue(amounts: number[], o: { key?: string; outputs?: ReturnType<typeof outputs> } = {}) {
    const key = o.key ?? `issue:test:${randomUUID()}`;
    const outs = o.outputs ?? outputs(amounts);
    const prepared = await bank.mint.prepareOutputs(outs.map((x) => x.message));
    const amount = amounts.reduce((a, b) => a + b, 0);
    const r: RequestKey = { key, kind: 'issue', account, requestHash: requestHash([key, amount]) };
    const log = logLine({ key, kind: 'issue', ref: key, amount, account, recovery: undefined }, Date.now());
    return {
      key,
      write: () =>
        ledger.onceWith(
          r,
          `answer of ${key}`,
          bank.mint.outputsWrite(prepared, key),
          issuePostings(account, amount, key, { log }),
        ),
    };
  }
  const outputs = (amounts: number[]) => makeOutputs(curve, bank.mint.keysets.current().id, amounts);

  async function count(
    table: 'bank_requests' | 'bank_request_log' | 'bank_entries',
    column: 'key' | 'ref',
    value: string,
  ) {
    const r = await store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(column as never, '=', value as never)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  it("a batch's refused requests leave nothing of themselves; their neighbours commit", async () => {
    // Prepared (checked) before another request signs its output: refused when written, 11003.
    const signedBefore = outputs([1]);
    const earlier = await issue([1], { outputs: signedBefore });
    const signed = await issue([1], { outputs: signedBefore });
    await earlier.write();
    const a = await issue([4]);
    const short = await issue([8]); // after a's 4 the balance is 5: 73002
    const d = await issue([2]);
    const before = batches;
    // All in one turn: one batch (one statement on PostgreSQL).
    const results = await Promise.allSettled([a, signed, short, d].map((x) => x.write()));
    if (dialect === 'postgres') expect(batches - before).toBe(1);
    expect(results.map((x) => (x.status === 'fulfilled' ? x.value : 'refused'))).toEqual([
      `answer of ${a.key}`,
      'refused',
      'refused',
      `answer of ${d.key}`,
    ]);
    expect(await codeOf(Promise.reject((results[1] as PromiseRejectedResult).reason))).toBe(11003);
    expect(await codeOf(Promise.reject((results[2] as PromiseRejectedResult).reason))).toBe(73002);
    for (const refused of [signed, short]) {
      expect(await count('bank_requests', 'key', refused.key)).toBe(0);
      expect(await count('bank_request_log', 'key', refused.key)).toBe(0);
      expect(await count('bank_entries', 'ref', refused.key)).toBe(0);
    }
    for (const written of [a, d]) {
      expect(await count('bank_requests', 'key', written.key)).toBe(1);
      expect(await count('bank_request_log', 'key', written.key)).toBe(1);
      expect(await count('bank_entries', 'ref', written.key)).toBe(2);
    }
    // 10 − 1 − 4 − 2; the log's lines numbered without a gap; the audit (afterEach) checks the chain,
    // the mint's running totals against its rows and the books.
    expect(await bank.ledger.balance(account)).toBe(3);
    const lines = await store.db
      .selectFrom('bank_request_log')
      .select('seq')
      .where('account_id', '=', account)
      .orderBy('seq')
      .execute();
    expect(lines.map((l) => Number(l.seq))).toEqual([1, 2, 3]);
  });

  it.runIf(dialect === 'postgres')(
    'a batch whose answer is lost after its commit: each request runs again alone and is answered once',
    async () => {
      const rs = await Promise.all([issue([1]), issue([2]), issue([4])]);
      answersToLose = 1;
      const before = batches;
      expect(await Promise.all(rs.map((x) => x.write()))).toEqual(rs.map((x) => `answer of ${x.key}`));
      // The batch, then each request alone (a replay of what the batch wrote).
      expect(batches - before).toBe(1 + rs.length);
      expect(await bank.ledger.balance(account)).toBe(10 - 7);
      for (const x of rs) expect(await count('bank_entries', 'ref', x.key)).toBe(2);
    },
  );

  it.runIf(dialect === 'postgres')(
    'answers lost again alone leave every request unclear; their retries settle each once',
    async () => {
      const rs = await Promise.all([issue([1]), issue([2]), issue([4])]);
      answersToLose = 1 + rs.length;
      const first = await Promise.allSettled(rs.map((x) => x.write()));
      // Unclear: each request failed with the connection's error (not a refusal), though all were written.
      for (const f of first) {
        expect(f.status).toBe('rejected');
        expect(String((f as PromiseRejectedResult).reason)).toContain('connection lost');
      }
      // The caller retries each under the same key: the stored answer, nothing written again.
      const retried = await Promise.all(rs.map((x) => x.write()));
      expect(retried).toEqual(rs.map((x) => `answer of ${x.key}`));
      expect(await Promise.all(rs.map((x) => x.write()))).toEqual(retried);
      expect(await bank.ledger.balance(account)).toBe(10 - 7);
      for (const x of rs) expect(await count('bank_entries', 'ref', x.key)).toBe(2);
    },
  );

  it.runIf(dialect === 'postgres')(
    "a request the server cannot take fails alone: its batch's neighbours are written",
    async () => {
      // A NUL character: PostgreSQL's jsonb refuses the whole argument, so the batch's statement fails.
      const poisoned = await issue([1], { key: `issue:test:${randomUUID()}\u0000` });
      const rs = [await issue([2]), poisoned, await issue([4])];
      const results = await Promise.allSettled(rs.map((x) => x.write()));
      expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await bank.ledger.balance(account)).toBe(10 - 6);
      expect(await count('bank_entries', 'ref', rs[0]!.key)).toBe(2);
      expect(await count('bank_entries', 'ref', rs[2]!.key)).toBe(2);
    },
  );

  it.runIf(dialect === 'postgres')(
    'a batch whose statement fails before it commits writes nothing; the retries write each once',
    async () => {
      const rs = await Promise.all([issue([1]), issue([2])]);
      // A request the statement cannot take (not a refusal of its own): the batch fails as a whole.
      const head = await store.db.selectFrom('bank_chain').selectAll().executeTakeFirstOrThrow();
      await store.db.deleteFrom('bank_chain').execute();
      const first = await Promise.allSettled(rs.map((x) => x.write()));
      for (const f of first) expect(f.status).toBe('rejected');
      for (const x of rs) expect(await count('bank_requests', 'key', x.key)).toBe(0);
      expect(await bank.ledger.balance(account)).toBe(10);
      // Chain head back as it was (the audit then checks the links from it).
      await store.db.insertInto('bank_chain').values(head).execute();
      expect(await Promise.all(rs.map((x) => x.write()))).toEqual(rs.map((x) => `answer of ${x.key}`));
      expect(await bank.ledger.balance(account)).toBe(7);
    },
  );
});
