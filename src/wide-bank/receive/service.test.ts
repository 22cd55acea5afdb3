/**
 * The receiving server's service on every dialect: notes in an envelope are verified, marked spent and
 * credited in one transaction; the receipt verifies offline with the published receipt key; a replay
 * returns the same sealed receipt; notes already spent are refused naming them and nothing is
 * credited; 100 parallel receives of the same notes credit exactly once (also from two pools on
 * PostgreSQL).
 */
import { randomUUID } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultCurve } from '../../core/crypto/index.js';
import { isLancashError, type LancashError } from '../../core/errors.js';
import { receiptMessage, verifyReceipt } from '../../core/protocol/bank.js';
import type { Proof } from '../../core/protocol/cashu.js';
import { openStore } from '../../store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { makeOutputs } from '../../test-support/notes.js';
import { refusalOf } from '../../test-support/refusals.js';
import {
  bankState,
  type Holder,
  newHolder,
  openIssueAnswer,
  openReceiveAnswer,
  sealIssue,
  sealReceive,
  type TestBank,
  testBank,
  unblindAll,
} from '../../test-support/wide-bank.js';
import { auditWideBank } from '../audit.js';

const curve = defaultCurve();

describe.each(DIALECTS)('receive service on %s', (dialect) => {
  let store: TestStore;
  let bank: TestBank;
  let payer: Holder;
  let payee: Holder;
  let payeeAccount: string;

  beforeEach(async () => {
    store = await freshStore(dialect);
    bank = await testBank(store, curve);
    payer = await newHolder();
    payee = await newHolder();
    const payerAccount = (await bank.ledger.openAccount(payer.key)).id;
    payeeAccount = (await bank.ledger.openAccount(payee.key)).id;
    await bank.ledger.deposit(payerAccount, 1000, 'd');
  });
  afterEach(async () => {
    const audit = await auditWideBank(store);
    expect(audit.differences).toEqual([]);
    await store.close();
  });

  /** Wide notes issued to the payer through the issue server, as the gateway gets them. */
  async function notes(amounts: number[]): Promise<Proof[]> {
    const outs = makeOutputs(curve, bank.mint.keysets.current().id, amounts);
    const bankKey = bank.keys.encryption.publicKey;
    const env = await sealIssue(
      bankKey,
      payer,
      randomUUID(),
      amounts.reduce((a, b) => a + b, 0),
      outs.map((o) => o.message),
    );
    const sigs = await openIssueAnswer(await bank.issue.issue(env), payer, bankKey);
    return unblindAll(curve, (amount, id) => bank.mint.keysets.get(id).publicKeys.get(amount)!, outs, sigs);
  }

  const send = (proofs: Proof[], transferId: string = randomUUID(), account = payee.key) =>
    sealReceive(bank.keys.encryption.publicKey, payer, transferId, account, proofs);

  it('credits the account and answers a receipt that verifies offline; a replay gets the same bytes', async () => {
    const proofs = await notes([2, 8]);
    const env = await send(proofs, 'receive-1');
    const answer = await bank.receive.receive(env);
    const receipt = await openReceiveAnswer(answer, payer, bank.keys.encryption.publicKey);
    expect(receipt).toMatchObject({
      v: 1,
      transferId: 'receive-1',
      account: payee.key,
      amount: 10,
      unit: 'eur',
    });
    expect(receipt.Ys).toEqual((await bank.mint.prepareInputs(proofs)).Ys);
    expect(verifyReceipt(receipt, bank.keys.receiptKey)).toBe(true);
    expect(verifyReceipt(receipt, bank.keys.receiptKeyHex)).toBe(true);
    // Any change to a signed field, or another key, and it no longer verifies.
    expect(verifyReceipt({ ...receipt, amount: 11 }, bank.keys.receiptKey)).toBe(false);
    expect(verifyReceipt({ ...receipt, account: payer.key }, bank.keys.receiptKey)).toBe(false);
    expect(verifyReceipt(receipt, ed25519.getPublicKey(ed25519.utils.randomSecretKey()))).toBe(false);
    expect(verifyReceipt({ ...receipt, signature: 'zz' }, bank.keys.receiptKey)).toBe(false);
    expect(verifyReceipt(null, bank.keys.receiptKey)).toBe(false);
    expect(new TextDecoder().decode(receiptMessage(receipt))).toMatch(
      /^lancash-receipt-v1\n\[1,"receive-1",/,
    );

    expect(await bank.ledger.balance(payeeAccount)).toBe(10);
    expect((await bank.mint.checkState(receipt.Ys)).map((s) => s.state)).toEqual(['SPENT', 'SPENT']);
    expect(await bank.receive.receive(env)).toBe(answer);
    expect(await bank.receive.receive(await send(proofs, 'receive-1'))).toBe(answer);
    expect(await bank.ledger.balance(payeeAccount)).toBe(10);
  });

  it('answers a replayed receive from the stored row, verifying none of its notes again', async () => {
    const proofs = await notes([4, 16]);
    const env = await send(proofs, 'receive-replayed');
    const answer = await bank.receive.receive(env);
    const verify = vi.spyOn(bank.mint, 'prepareInputs');
    try {
      // A captured envelope sent again must not buy a whole request's curve work at the bank.
      expect(await bank.receive.receive(env)).toBe(answer);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });

  it('refuses notes already spent naming them (11001), crediting nothing', async () => {
    const [a, b] = await notes([4, 16]);
    await bank.receive.receive(await send([a!]));
    const state = await bankState(store);
    const e = await refusalOf(bank.receive.receive(await send([b!, a!])));
    expect(e.code).toBe(11001);
    // b's row was written before a's refused it, and went with the rest: no row, total or counter moved.
    expect(await bankState(store)).toBe(state);
    expect(isLancashError(e, 'ProofsAlreadySpent') && e.info.Ys).toEqual([
      (await bank.mint.prepareInputs([a])).Ys[0],
    ]);
    expect(await bank.ledger.balance(payeeAccount)).toBe(4);
    // b was not spent by the refused request.
    expect((await bank.mint.checkState((await bank.mint.prepareInputs([b])).Ys))[0]!.state).toBe('UNSPENT');
  });

  it('refuses unknown accounts, forged notes, bad payloads and other transfer ids of the same key', async () => {
    const [a] = await notes([4]);
    const cases: [string, Promise<unknown>, number][] = [
      ['unknown account', send([a!], undefined, (await newHolder()).key), 73001],
      ['forged signature', send([{ ...a!, amount: 8 }]), 10001],
      ['unknown keyset', send([{ ...a!, id: '00ffffffffffffff' }]), 12001],
      ['no proofs', send([]), 70006],
      ['account not hex', send([a!], undefined, 'x'.repeat(64)), 70000],
      ['duplicate notes', send([a!, a!]), 11007],
      ['an issue request', sealIssue(bank.keys.encryption.publicKey, payer, 't', 4, []), 71002],
    ];
    for (const [name, env, code] of cases)
      expect((await refusalOf(bank.receive.receive(await env))).code, name).toBe(code);
    expect(await bank.ledger.balance(payeeAccount)).toBe(0);
    await bank.receive.receive(await send([a!], 'k'));
    expect((await refusalOf(bank.receive.receive(await send([a!], 'k', payer.key)))).code).toBe(72001);
  });

  it('100 parallel receives of the same notes: exactly one credit, the rest refused as spent', async () => {
    const proofs = await notes([1, 2, 4]);
    const envs = await Promise.all(Array.from({ length: 100 }, () => send(proofs)));
    const results = await Promise.allSettled(envs.map((e) => bank.receive.receive(e)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as LancashError).code).toBe(11001);
    }
    expect(await bank.ledger.balance(payeeAccount)).toBe(7);
  });

  it.runIf(dialect === 'postgres')(
    'two connection pools: 100 parallel receives of the same notes credit once',
    async () => {
      const other = await openStore(store.config);
      try {
        const banks = [bank, await testBank(other, curve)];
        const proofs = await notes([8, 32]);
        const envs = await Promise.all(Array.from({ length: 100 }, () => send(proofs)));
        const replay = await send(proofs, 'replayed');
        const results = await Promise.allSettled(
          [...envs, replay, replay, replay].map((e, i) => banks[i % 2]!.receive.receive(e)),
        );
        const ok = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
        expect(ok.size).toBe(1);
        expect(await bank.ledger.balance(payeeAccount)).toBe(40);
      } finally {
        await other.close();
      }
    },
  );
});
