/**
 * The holder's request log (docs/wide-bank.md, "The request log") on every dialect, through a real
 * wide bank on loopback: each request a holder makes on its own account is numbered 1, 2, … in commit
 * order without gaps (also when 20 race), listed to that holder only, paged, with its recovery record
 * only when asked for; migration 009 numbers the requests made before it the same way.
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../../core/crypto/index.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../../core/envelope/index.js';
import { listen } from '../../core/http/server.js';
import {
  type BankPeer,
  bankPeer,
  requestDepositClaim,
  requestLog,
  requestWithdraw,
} from '../../core/protocol/bank.js';
import { inThreadCrypto } from '../../mint/crypto.js';
import { up as migration009 } from '../../store/migrations/009_bank_request_log.js';
import { up as migration024 } from '../../store/migrations/024_bank_log_seq.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { refusalOf } from '../../test-support/refusals.js';
import { auditWideBank } from '../audit.js';
import { createWideBank, type WideBank } from '../server.js';

const curve = defaultCurve();

describe.each(DIALECTS)('the request log on %s', (dialect) => {
  let store: TestStore;
  let bank: WideBank;
  let peer: BankPeer & { receiptKey: Uint8Array };
  let holder: EncryptionKeyPair;
  let account: string;

  beforeEach(async () => {
    store = await freshStore(dialect);
    bank = await createWideBank({
      store,
      currency: 'EUR',
      crypto: inThreadCrypto(curve),
      lightning: 'none',
      logger: false,
      rateLimit: false,
    });
    peer = bankPeer(await listen(bank.app, '127.0.0.1:0'), bank.info);
    holder = await generateEncryptionKeyPair();
    account = (await bank.ledger.openAccount(holder.publicKey)).id;
    await bank.ledger.deposit(account, 1000, 'in');
  });
  afterEach(async () => {
    expect((await auditWideBank(store)).differences).toEqual([]);
    await bank.app.close();
    await bank.close();
    await store.close();
  });

  const list = (after: number, limit: number, recovery?: boolean, who = holder) =>
    requestLog({ bank: peer, holder: who, after, limit, ...(recovery !== undefined ? { recovery } : {}) });

  it('numbers the holder’s requests, lists them to it in pages, records only when asked', async () => {
    const record = await sealJson({
      type: 'gateway.recovery',
      transferId: 'w1',
      sender: holder,
      recipient: holder.publicKey,
      payload: { anything: 1 },
    });
    await requestDepositClaim({ bank: peer, holder, ref: 'in', amount: 1000 });
    await requestWithdraw({ bank: peer, holder, ref: 'w1', amount: 30, recovery: record });
    await requestWithdraw({ bank: peer, holder, ref: 'w1', amount: 30, recovery: record }); // a replay
    await requestWithdraw({ bank: peer, holder, ref: 'w2', amount: 20 });
    // The operator's own postings are not the holder's requests.
    await bank.ledger.withdraw(account, 5, 'operator');

    const all = await list(0, 10);
    expect(all.last).toBe(3);
    expect(all.requests.map(({ seq, kind, ref, amount }) => ({ seq, kind, ref, amount }))).toEqual([
      { seq: 1, kind: 'claim', ref: 'in', amount: 1000 },
      { seq: 2, kind: 'payout', ref: 'w1', amount: 30 },
      { seq: 3, kind: 'payout', ref: 'w2', amount: 20 },
    ]);
    expect(all.requests.some((r) => r.recovery !== undefined)).toBe(false);
    const page = await list(1, 1, true);
    expect(page).toMatchObject({ last: 3, requests: [{ seq: 2, ref: 'w1', recovery: record }] });
    expect((await list(3, 10)).requests).toEqual([]);

    // Another holder sees its own (empty) log; a key with no account is refused.
    const other = await generateEncryptionKeyPair();
    await bank.ledger.openAccount(other.publicKey);
    expect(await list(0, 10, false, other)).toEqual({ requests: [], last: 0 });
    expect((await refusalOf(list(0, 10, false, await generateEncryptionKeyPair()))).code).toBe(73001);
  });

  it('racing requests are numbered without gaps, in commit order', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => requestWithdraw({ bank: peer, holder, ref: `r${i}`, amount: 70 })),
    );
    const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(ok).toBe(14);
    const { requests, last } = await list(0, 100);
    expect(last).toBe(ok);
    expect(requests.map((r) => r.seq)).toEqual(Array.from({ length: ok }, (_, i) => i + 1));
  });

  it('migration 009 numbers the requests made before it, oldest first', async () => {
    await requestDepositClaim({ bank: peer, holder, ref: 'in', amount: 1000 });
    await requestWithdraw({ bank: peer, holder, ref: 'w1', amount: 30 });
    const before = (await list(0, 10)).requests.map(({ seq, kind, ref, amount }) => ({
      seq,
      kind,
      ref,
      amount,
    }));
    await store.db.schema.dropTable('bank_request_log').execute();
    await migration009(store.db as unknown as Kysely<unknown>);
    const after = (await list(0, 10)).requests.map(({ seq, kind, ref, amount }) => ({
      seq,
      kind,
      ref,
      amount,
    }));
    expect(after).toEqual(before);
  });

  it("migration 024 counts each account's log, so the next request follows its last line", async () => {
    await requestDepositClaim({ bank: peer, holder, ref: 'in', amount: 1000 });
    await requestWithdraw({ bank: peer, holder, ref: 'w1', amount: 30 });
    // The database as it was before 024 (no counter), then 024 itself.
    await store.db.schema.alterTable('bank_accounts').dropColumn('log_seq').execute();
    await migration024(store.db as unknown as Kysely<unknown>);
    const row = await store.db
      .selectFrom('bank_accounts')
      .select('log_seq')
      .where('id', '=', account)
      .executeTakeFirstOrThrow();
    expect(Number(row.log_seq)).toBe(2);
    await requestWithdraw({ bank: peer, holder, ref: 'w2', amount: 30 });
    const { requests, last } = await list(0, 10);
    expect(last).toBe(3);
    expect(requests.map((r) => [r.seq, r.ref])).toEqual([
      [1, 'in'],
      [2, 'w1'],
      [3, 'w2'],
    ]);
  });
});
