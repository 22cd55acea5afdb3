/**
 * The issue server's service on every dialect: a holder's envelope in, notes signed and the account
 * debited in one transaction, the sealed answer replayed byte for byte; every refusal leaves the
 * books as they were; 50 parallel issues against a balance of 10 give exactly 10; duplicates of one
 * key racing give one debit; on PostgreSQL the same from two connection pools.
 */
import { randomUUID } from 'node:crypto';
import { base64urlnopad } from '@scure/base';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hex } from '../../core/bytes.js';
import { defaultCurve } from '../../core/crypto/index.js';
import { verifyDleq } from '../../core/crypto/nut12.js';
import { generateEncryptionKeyPair } from '../../core/envelope/index.js';
import { isLancashError, type LancashError } from '../../core/errors.js';
import { inThreadCrypto } from '../../mint/crypto.js';
import { Mint } from '../../mint/mint.js';
import { openStore, type Store } from '../../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { makeOutputs } from '../../test-support/notes.js';
import { codeOf, refusalOf } from '../../test-support/refusals.js';
import {
  bankState,
  type Holder,
  newHolder,
  openIssueAnswer,
  sealIssue,
  sealReceive,
  type TestBank,
  testBank,
} from '../../test-support/wide-bank.js';
import { auditWideBank } from '../audit.js';
import { IssueService } from './service.js';

const curve = defaultCurve();

/** Rows of every table a refused request must leave alone. */
async function snapshot(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['mint_signatures', 'bank_entries', 'bank_requests'] as const) {
    const r = await store.db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    out[t] = Number(r.n);
  }
  return out;
}

describe.each(DIALECTS)('issue service on %s', (dialect) => {
  let store: TestStore;
  let bank: TestBank;
  let holder: Holder;
  let account: string;

  beforeEach(async () => {
    store = await freshStore(dialect);
    bank = await testBank(store, curve);
    holder = await newHolder();
    account = (await bank.ledger.openAccount(holder.key)).id;
  });
  afterEach(async () => {
    const audit = await auditWideBank(store);
    expect(audit.differences).toEqual([]);
    await store.close();
  });

  const outputsFor = (amounts: number[]) => makeOutputs(curve, bank.mint.keysets.current().id, amounts);
  const request = (amounts: number[], transferId: string = randomUUID(), amount?: number, who = holder) =>
    sealIssue(
      bank.keys.encryption.publicKey,
      who,
      transferId,
      amount ?? amounts.reduce((a, b) => a + b, 0),
      outputsFor(amounts).map((o) => o.message),
    );

  it('debits the account and answers signatures with DLEQ proofs, sealed to the holder', async () => {
    await bank.ledger.deposit(account, 20, 'd');
    const outs = outputsFor([1, 4, 8]);
    const env = await sealIssue(
      bank.keys.encryption.publicKey,
      holder,
      'transfer-1',
      13,
      outs.map((o) => o.message),
    );
    const answer = await bank.issue.issue(env);
    const sigs = await openIssueAnswer(answer, holder, bank.keys.encryption.publicKey);
    expect(sigs.map((s) => s.amount)).toEqual([1, 4, 8]);
    for (const [i, s] of sigs.entries()) {
      const K = bank.mint.keysets.current().publicKeys.get(s.amount)!;
      const ok = verifyDleq(
        curve,
        K,
        hex(outs[i]!.message.B_, 'B_', 33),
        hex(s.C_, 'C_', 33),
        hex(s.dleq!.e, 'e', 32),
        hex(s.dleq!.s, 's', 32),
      );
      expect(ok).toBe(true);
    }
    expect(await bank.ledger.balance(account)).toBe(7);
    expect(await bank.ledger.balance('notes_outstanding')).toBe(13);

    // The same envelope, or the same request sealed again under the same transfer id: the stored bytes.
    expect(await bank.issue.issue(env)).toBe(answer);
    const resealed = await sealIssue(
      bank.keys.encryption.publicKey,
      holder,
      'transfer-1',
      13,
      outs.map((o) => o.message),
    );
    expect(await bank.issue.issue(JSON.stringify(resealed))).toBe(answer);
    // A second bank over the same database (another process, a restart) answers the same.
    const again = await testBank(store, curve);
    expect(await again.issue.issue(env)).toBe(answer);
    expect(await bank.ledger.balance(account)).toBe(7);
  });

  it('reads the stored answer only for a repeat, which signs nothing (its outputs are signed)', async () => {
    await bank.ledger.deposit(account, 20, 'd');
    let jobs = 0;
    const inner = inThreadCrypto(curve);
    const mint = await Mint.open({
      store,
      unit: 'eur',
      curve,
      crypto: {
        ...inner,
        run: (job) => {
          jobs++;
          return inner.run(job);
        },
      },
    });
    const issue = new IssueService({ mint, ledger: bank.ledger, keys: bank.keys });
    const reads = vi.spyOn(bank.ledger, 'answered');
    const env = await request([1, 4], 'counted');
    const answer = await issue.issue(env);
    // The first time: signed once, and no look for a stored answer (the outputs' own read is the one).
    expect([jobs, reads.mock.calls.length]).toEqual([1, 0]);
    expect(await issue.issue(env)).toBe(answer);
    expect([jobs, reads.mock.calls.length]).toEqual([1, 1]);
    expect(await bank.ledger.balance(account)).toBe(15);
  });

  it('refuses the same transfer id with another request (72001), changing nothing', async () => {
    await bank.ledger.deposit(account, 20, 'd');
    await bank.issue.issue(await request([4], 'same'));
    const before = await snapshot(store);
    expect(await codeOf(bank.issue.issue(await request([8], 'same')))).toBe(72001);
    expect(await codeOf(bank.issue.issue(await request([2, 2], 'same', 4)))).toBe(72001);
    expect(await snapshot(store)).toEqual(before);
    expect(await bank.ledger.balance(account)).toBe(16);
  });

  it('refuses bad envelopes and bad requests with a code, changing nothing', async () => {
    await bank.ledger.deposit(account, 20, 'd');
    const stranger = await newHolder();
    const good = await request([4]);
    const tamperedCt = base64urlnopad.decode(good.ct);
    tamperedCt[0]! ^= 1;
    const otherBank = await generateEncryptionKeyPair();
    const cases: [string, Promise<unknown>, number][] = [
      ['unknown holder', request([4], undefined, undefined, stranger), 73001],
      ['tampered ciphertext', Promise.resolve({ ...good, ct: base64urlnopad.encode(tamperedCt) }), 71002],
      ['sender swapped', Promise.resolve({ ...good, sender: stranger.key }), 71002],
      ['transfer id swapped', Promise.resolve({ ...good, transferId: 'other' }), 71002],
      ['sealed to another key', sealIssue(otherBank.publicKey, holder, 't', 4, []), 71003],
      ['a receive request', sealReceive(bank.keys.encryption.publicKey, holder, 't', holder.key, []), 71002],
      ['truncated', Promise.resolve(JSON.stringify(good).slice(0, 100)), 71001],
      ['garbage', Promise.resolve('garbage'), 71001],
      ['not an object', Promise.resolve(42), 71001],
      ['short balance', request([16, 8]), 73002],
      ['outputs total differs from amount', request([4], undefined, 5), 11005],
      ['amount 0', request([4], undefined, 0), 70000],
      ['amount 2^64', request([4], undefined, 2 ** 64), 70000],
      ['amount fractional', request([4], undefined, 1.5), 70000],
      ['no outputs', request([], undefined, 4), 70006],
    ];
    const before = await snapshot(store);
    for (const [name, env, code] of cases) {
      expect(await codeOf(bank.issue.issue(await env)), name).toBe(code);
    }
    expect(await snapshot(store)).toEqual(before);
    expect(await bank.ledger.balance(account)).toBe(20);
  });

  it('refuses outputs signed before (11003) and an account that cannot cover (73002), changing nothing', async () => {
    await bank.ledger.deposit(account, 8, 'd');
    const outs = outputsFor([4]);
    const msgs = outs.map((o) => o.message);
    await bank.issue.issue(await sealIssue(bank.keys.encryption.publicKey, holder, 'a', 4, msgs));
    const before = await snapshot(store);
    const state = await bankState(store);
    expect(
      await codeOf(bank.issue.issue(await sealIssue(bank.keys.encryption.publicKey, holder, 'b', 4, msgs))),
    ).toBe(11003);
    // A fresh output before the one signed: its signature is written first, then refused with the rest.
    const mixed = [...outputsFor([2]).map((o) => o.message), ...msgs];
    const refused = await refusalOf(
      bank.issue.issue(await sealIssue(bank.keys.encryption.publicKey, holder, 'c', 6, mixed)),
    );
    expect(refused.code).toBe(11003);
    expect(isLancashError(refused, 'OutputsAlreadySigned') && refused.info.B_).toEqual([msgs[0]!.B_]);
    // Fresh outputs the balance does not cover: written, then the debit refuses all of it.
    expect(await codeOf(bank.issue.issue(await request([8])))).toBe(73002);
    expect(
      await codeOf(bank.issue.issue(await request([1], randomUUID(), undefined, await newHolder()))),
    ).toBe(73001);
    expect(await snapshot(store)).toEqual(before);
    // Nothing else either: no log line, counter, running total, chain link or balance moved.
    expect(await bankState(store)).toBe(state);
    expect(await bank.ledger.balance(account)).toBe(4);
  });

  it('50 parallel issues of 1 against a balance of 10: exactly 10 succeed, the balance ends at 0', async () => {
    await bank.ledger.deposit(account, 10, 'd');
    const envs = await Promise.all(Array.from({ length: 50 }, () => request([1])));
    const results = await Promise.allSettled(envs.map((e) => bank.issue.issue(e)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as LancashError).code).toBe(73002);
    }
    expect(await bank.ledger.balance(account)).toBe(0);
    expect(await bank.ledger.balance('notes_outstanding')).toBe(10);
  });

  it('20 racing duplicates of one request: one debit, one answer for all', async () => {
    await bank.ledger.deposit(account, 10, 'd');
    const outs = outputsFor([2, 4]).map((o) => o.message);
    const envs = await Promise.all(
      Array.from({ length: 20 }, () => sealIssue(bank.keys.encryption.publicKey, holder, 'dup', 6, outs)),
    );
    const answers = await Promise.all(envs.map((e) => bank.issue.issue(e)));
    expect(new Set(answers).size).toBe(1);
    expect(await bank.ledger.balance(account)).toBe(4);
  });

  it.runIf(dialect === 'postgres')(
    'two connection pools (two processes) on one database: never more than the balance',
    async () => {
      const other = await openStore(store.config);
      try {
        const banks = [bank, await testBank(other, curve)];
        await bank.ledger.deposit(account, 10, 'd');
        const envs = await Promise.all(Array.from({ length: 50 }, () => request([1])));
        const dupOuts = outputsFor([1]).map((o) => o.message);
        const dups = await Promise.all(
          Array.from({ length: 10 }, () =>
            sealIssue(bank.keys.encryption.publicKey, holder, 'dup', 1, dupOuts),
          ),
        );
        const results = await Promise.allSettled(
          [...envs, ...dups].map((e, i) => banks[i % 2]!.issue.issue(e)),
        );
        const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        // 10 units: each success debits 1; the duplicates count once.
        expect(new Set(ok).size).toBe(10);
        expect(await bank.ledger.balance(account)).toBe(0);
      } finally {
        await other.close();
      }
    },
  );
});
