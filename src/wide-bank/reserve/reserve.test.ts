/**
 * The holder's reserve requests on every dialect, through a real wide bank on loopback and the client
 * calls of `core/protocol/bank.ts`: a deposit is claimed exactly once (replays answer the same signed
 * receipt, racing claims record one), unknown refs, other accounts' deposits and wrong amounts are
 * refused changing nothing; a withdrawal moves holder → funding once per ref and is refused when the
 * balance is short; the receipts verify offline and break on any changed field; the holder reads its
 * balance with its request log's position, sealed to it alone. The wide bank's audit (invariant 1)
 * runs after every test.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../core/bytes.js';
import { defaultCurve } from '../../core/crypto/index.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, sealJson } from '../../core/envelope/index.js';
import type { LancashError } from '../../core/errors.js';
import { listen } from '../../core/http/server.js';
import {
  BANK_DEPOSIT_CLAIM_PATH,
  BANK_DEPOSIT_CLAIM_REQUEST,
  type BankPeer,
  bankPeer,
  type ReserveReceipt,
  requestBalance,
  requestDepositClaim,
  requestWithdraw,
  signReceipt,
  verifyReceipt,
  verifyReserveReceipt,
} from '../../core/protocol/bank.js';
import { inThreadCrypto } from '../../mint/crypto.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { refusalOf } from '../../test-support/refusals.js';
import { rawPost } from '../../test-support/wide-bank.js';
import { auditWideBank } from '../audit.js';
import { createWideBank, type WideBank } from '../server.js';
import { reserveRequestKey } from './service.js';

const curve = defaultCurve();

describe.each(DIALECTS)('reserve requests on %s', (dialect) => {
  let store: TestStore;
  let bank: WideBank;
  let url: string;
  let peer: BankPeer & { receiptKey: Uint8Array };
  let holder: EncryptionKeyPair;
  let holderKey: string;
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
    url = await listen(bank.app, '127.0.0.1:0');
    peer = bankPeer(url, bank.info);
    holder = await generateEncryptionKeyPair();
    holderKey = bytesToHex(holder.publicKey);
    account = (await bank.ledger.openAccount(holderKey)).id;
  });
  afterEach(async () => {
    expect((await auditWideBank(store)).differences).toEqual([]);
    await bank.app.close();
    await bank.close();
    await store.close();
  });

  const claim = (ref: string, amount: number, who = holder) =>
    requestDepositClaim({ bank: peer, holder: who, ref, amount });
  const withdraw = (ref: string, amount: number, who = holder) =>
    requestWithdraw({ bank: peer, holder: who, ref, amount });
  const requestRows = (key: string) =>
    store.db.selectFrom('bank_requests').select(['key', 'kind']).where('key', '=', key).execute();

  it('balance: the holder reads its balance and request-log position; a stranger has no account (73001)', async () => {
    expect(await requestBalance({ bank: peer, holder })).toMatchObject({ account, balance: 0, last: 0 });
    await bank.ledger.deposit(account, 500, 'pay-1');
    await claim('pay-1', 500);
    await withdraw('out-1', 120);
    const b = await requestBalance({ bank: peer, holder });
    expect(b).toMatchObject({ account, balance: 380, last: 2 });
    expect(b.at).toBeGreaterThan(0);
    const stranger = await generateEncryptionKeyPair();
    const refused = await refusalOf(requestBalance({ bank: peer, holder: stranger }));
    expect(refused.code).toBe(73001);
  });

  it('claims a deposit once: a signed receipt, the same receipt on every replay, no money moved', async () => {
    await bank.ledger.deposit(account, 500, 'payroll-2026-11');
    const receipt = await claim('payroll-2026-11', 500);
    expect(receipt).toMatchObject({
      v: 1,
      kind: 'claim',
      account: holderKey,
      ref: 'payroll-2026-11',
      amount: 500,
      unit: 'eur',
    });
    expect(verifyReserveReceipt(receipt, bank.info.receiptKey)).toBe(true);
    expect(await claim('payroll-2026-11', 500)).toEqual(receipt);
    expect(await requestRows(reserveRequestKey('claim', holderKey, 'payroll-2026-11'))).toEqual([
      { key: `claim:${holderKey}:payroll-2026-11`, kind: 'claim' },
    ]);
    // The deposit credited the account; the claim only records that it is spoken for.
    expect(await bank.ledger.balance(account)).toBe(500);
    // Another amount under a claimed ref names another request.
    expect((await refusalOf(claim('payroll-2026-11', 499))).code).toBe(72001);
  });

  it('a replayed claim envelope gets the same bytes back', async () => {
    await bank.ledger.deposit(account, 7, 'r7');
    const envelope = await sealJson({
      type: BANK_DEPOSIT_CLAIM_REQUEST,
      transferId: 'claim-r7',
      sender: holder,
      recipient: peer.encryptionKey,
      payload: { ref: 'r7', amount: 7 },
    });
    const first = await rawPost(url, BANK_DEPOSIT_CLAIM_PATH, envelope);
    const again = await rawPost(url, BANK_DEPOSIT_CLAIM_PATH, envelope);
    expect(first.status).toBe(200);
    expect(again.text).toBe(first.text);
  });

  it('refuses unknown refs, other accounts’ deposits, wrong amounts and strangers, changing nothing', async () => {
    const other = await generateEncryptionKeyPair();
    const otherAccount = (await bank.ledger.openAccount(other.publicKey)).id;
    await bank.ledger.deposit(otherAccount, 300, 'theirs');
    await bank.ledger.deposit(account, 500, 'ours');

    const unknown = await refusalOf(claim('nope', 500));
    expect(unknown).toMatchObject({ code: 72002, info: { what: 'deposit', id: 'nope' } });
    expect((await refusalOf(claim('theirs', 300))).code).toBe(72002);
    const wrong = await refusalOf(claim('ours', 400));
    expect(wrong.code).toBe(70001);
    expect(wrong.message).toContain('500');
    const stranger = await generateEncryptionKeyPair();
    expect((await refusalOf(claim('ours', 500, stranger))).code).toBe(73001);
    const rows = await store.db
      .selectFrom('bank_requests')
      .select('key')
      .where('kind', '=', 'claim')
      .execute();
    expect(rows).toEqual([]);

    // A refusal stores nothing: the right amount is claimed afterwards.
    expect((await claim('ours', 500)).amount).toBe(500);
    expect((await claim('theirs', 300, other)).amount).toBe(300);
  });

  it('withdraws once per ref (holder → funding), refuses a short balance and stores nothing then', async () => {
    await bank.ledger.deposit(account, 500, 'in');
    const receipt = await withdraw('payout-1', 200);
    expect(receipt).toMatchObject({ kind: 'withdraw', account: holderKey, ref: 'payout-1', amount: 200 });
    expect(verifyReserveReceipt(receipt, bank.info.receiptKey)).toBe(true);
    expect(await withdraw('payout-1', 200)).toEqual(receipt);
    expect(await bank.ledger.balance(account)).toBe(300);
    expect(await bank.ledger.balance('funding')).toBe(-300);
    const entries = await store.db
      .selectFrom('bank_entries')
      .select(['account_id', 'amount', 'kind'])
      .where('ref', '=', `payout:${holderKey}:payout-1`)
      .orderBy('amount')
      .execute();
    expect(entries.map((e) => [e.account_id, Number(e.amount), e.kind])).toEqual([
      [account, -200, 'withdraw'],
      ['funding', 200, 'withdraw'],
    ]);

    const short = await refusalOf(withdraw('payout-2', 400));
    expect(short).toMatchObject({ code: 73002 });
    expect(await bank.ledger.balance(account)).toBe(300);
    expect(await requestRows(reserveRequestKey('withdraw', holderKey, 'payout-2'))).toEqual([]);
    await bank.ledger.deposit(account, 100, 'more');
    expect((await withdraw('payout-2', 400)).amount).toBe(400);
    expect(await bank.ledger.balance(account)).toBe(0);
    // The operator's own withdrawal keys (`withdraw:<ref>`) never meet a holder's (`payout:…`).
    await bank.ledger.deposit(account, 1, 'one');
    expect((await bank.ledger.withdraw(account, 1, 'payout-1')).amount).toBe(1);
  });

  it('racing duplicates: one claim recorded, one withdrawal per ref, never more than the balance', async () => {
    await bank.ledger.deposit(account, 100, 'race');
    const claims = await Promise.all(Array.from({ length: 20 }, () => claim('race', 100)));
    expect(new Set(claims.map((r) => r.signature)).size).toBe(1);
    expect(await requestRows(reserveRequestKey('claim', holderKey, 'race'))).toHaveLength(1);

    const same = await Promise.all(Array.from({ length: 10 }, () => withdraw('w-same', 30)));
    expect(new Set(same.map((r) => r.signature)).size).toBe(1);
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => withdraw(`w-${i}`, 10)));
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    expect(ok).toHaveLength(7);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect((o.reason as LancashError).code).toBe(73002);
    }
    expect(await bank.ledger.balance(account)).toBe(0);
  });

  it('receipts verify offline only as issued: any changed field, another key or the note label breaks them', async () => {
    await bank.ledger.deposit(account, 42, 'prop');
    const receipt = await claim('prop', 42);
    const fields: (keyof ReserveReceipt)[] = ['kind', 'account', 'ref', 'amount', 'unit', 'at', 'signature'];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.nat({ max: 1000 }), (field, n) => {
        const changed: Record<string, unknown> = { ...receipt };
        const v = changed[field];
        if (field === 'kind') changed[field] = 'withdraw';
        else if (typeof v === 'number') changed[field] = v + 1 + n;
        else if (field === 'account' || field === 'signature')
          changed[field] = `${(v as string).slice(0, -1)}${(v as string).endsWith('0') ? '1' : '0'}`;
        else changed[field] = `${v as string}x`;
        return !verifyReserveReceipt(changed, bank.info.receiptKey);
      }),
    );
    expect(verifyReserveReceipt(receipt, bytesToHex(peer.encryptionKey))).toBe(false);
    // A note receipt signed by the same key is not a reserve receipt, and the other way round.
    const secret = new Uint8Array(32).fill(7);
    const note = signReceipt(
      {
        v: 1,
        transferId: 't',
        account: holderKey,
        amount: 42,
        unit: 'eur',
        Ys: [`02${'11'.repeat(32)}`],
        receivedAt: 1,
      },
      secret,
    );
    expect(verifyReserveReceipt({ ...receipt, signature: note.signature }, bank.info.receiptKey)).toBe(false);
    expect(verifyReceipt(receipt, bank.info.receiptKey)).toBe(false);
  });
});
