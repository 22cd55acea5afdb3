/**
 * Holder-authenticated account opening on every dialect: the sender key of a `bank.account.open`
 * envelope gets its account, once (a replay or a second envelope answers the same account); envelopes
 * sealed to another key, of another type or with a payload are refused and open nothing. Over HTTP
 * through `requestOpenAccount` against a real in-process wide bank.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../../core/crypto/index.js';
import { generateEncryptionKeyPair, sealJson } from '../../core/envelope/index.js';
import { isLancashError } from '../../core/errors.js';
import { listen } from '../../core/http/server.js';
import { BANK_ACCOUNT_OPEN, bankPeer, requestOpenAccount } from '../../core/protocol/bank.js';
import { inThreadCrypto } from '../../mint/crypto.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { newHolder, type TestBank, testBank } from '../../test-support/wide-bank.js';
import { auditWideBank } from '../audit.js';
import { createWideBank } from '../server.js';
import { AccountsService } from './accounts.js';

const curve = defaultCurve();

async function refusal(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
}

describe.each(DIALECTS)('account opening on %s', (dialect) => {
  let store: TestStore;
  let bank: TestBank;
  let service: AccountsService;

  beforeEach(async () => {
    store = await freshStore(dialect);
    bank = await testBank(store, curve);
    service = new AccountsService({ ledger: bank.ledger, keys: bank.keys });
  });
  afterEach(async () => {
    expect((await auditWideBank(store)).differences).toEqual([]);
    await store.close();
  });

  const seal = (
    sender: Awaited<ReturnType<typeof newHolder>>,
    o: { type?: string; payload?: unknown } = {},
  ) =>
    sealJson({
      type: o.type ?? BANK_ACCOUNT_OPEN,
      transferId: `open-${Math.random().toString(36).slice(2)}`,
      sender: sender.pair,
      recipient: bank.keys.encryption.publicKey,
      payload: o.payload ?? {},
    });

  it('opens the sender key’s account once; a replay or a new envelope answers the same account', async () => {
    const holder = await newHolder();
    const env = await seal(holder);
    const first = await service.open(env);
    expect(first).toMatchObject({ holderKey: holder.key, created: true });
    expect(first.account).toMatch(/^acct_[0-9a-f]{16}$/);
    expect(await service.open(env)).toEqual({ ...first, created: false });
    expect(await service.open(await seal(holder))).toEqual({ ...first, created: false });
    expect(await bank.ledger.balance(first.account)).toBe(0);
    const holders = (await bank.ledger.accounts()).filter((a) => a.kind === 'holder');
    expect(holders.map((a) => a.holderKey)).toEqual([holder.key]);
  });

  it('refuses envelopes sealed to another key, of another type or with a payload, opening nothing', async () => {
    const holder = await newHolder();
    const other = await generateEncryptionKeyPair();
    const toOther = await sealJson({
      type: BANK_ACCOUNT_OPEN,
      transferId: 'x',
      sender: holder.pair,
      recipient: other.publicKey,
      payload: {},
    });
    expect(isLancashError(await refusal(service.open(toOther)), 'EnvelopeWrongRecipient')).toBe(true);
    const wrongType = await seal(holder, { type: 'bank.issue.request' });
    expect(isLancashError(await refusal(service.open(wrongType)), 'EnvelopeOpenFailed')).toBe(true);
    const withPayload = await seal(holder, { payload: { account: 'acct_0' } });
    expect(isLancashError(await refusal(service.open(withPayload)), 'InvalidInput')).toBe(true);
    expect(isLancashError(await refusal(service.open({ v: 1 })), 'EnvelopeMalformed')).toBe(true);
    expect((await bank.ledger.accounts()).filter((a) => a.kind === 'holder')).toEqual([]);
  });
});

describe('POST /v1/bank/accounts/open', () => {
  it('opens the account through requestOpenAccount, idempotently', async () => {
    const store = await freshStore('sqlite');
    const wb = await createWideBank({
      store,
      currency: 'EUR',
      crypto: inThreadCrypto(curve),
      logger: false,
      lightning: 'none',
    });
    try {
      const url = await listen(wb.app, '127.0.0.1:0');
      const holder = await newHolder();
      const peer = bankPeer(url, wb.info);
      const first = await requestOpenAccount({ bank: peer, holder: holder.pair });
      expect(first).toMatchObject({ holderKey: holder.key, created: true });
      expect(await requestOpenAccount({ bank: peer, holder: holder.pair })).toEqual({
        ...first,
        created: false,
      });
      expect((await wb.ledger.accountOfHolder(holder.key)).id).toBe(first.account);
    } finally {
      await wb.app.close();
      await wb.close();
      await store.close();
    }
  });
});
