/**
 * The wide bank across crashes and processes, with the real `lancash wide-bank`:
 *   - killed (SIGKILL via LANCASH_FAULT) after the issue or receive transaction committed but before
 *     the answer left: the caller sees an unclear outcome; after a restart the retry with the same
 *     transfer id returns the same signatures / receipt, and the account moved once;
 *   - two processes on one PostgreSQL database: parallel issues against one account never exceed its
 *     balance, and parallel receives of the same notes credit once.
 * The audit of invariant 1 runs after every test.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import { isLancashError } from '../core/errors.js';
import { isUnclear } from '../core/http/client.js';
import { requestIssue, requestReceive } from '../core/protocol/bank.js';
import type { Proof } from '../core/protocol/cashu.js';
import { openStore, type Store, type StoreConfig } from '../store/index.js';
import { DIALECTS, freshDatabaseUrl } from '../test-support/dialects.js';
import { rotateToFee } from '../test-support/fee-keyset.js';
import { makeOutputs } from '../test-support/notes.js';
import { killAll, startProcess } from '../test-support/process.js';
import {
  type Holder,
  newHolder,
  type RemoteBank,
  rawPost,
  remoteBank,
  sealIssue,
  unblindAll,
} from '../test-support/wide-bank.js';
import { auditWideBank } from './audit.js';
import { Ledger } from './ledger/service.js';

const curve = defaultCurve();
const dir = mkdtempSync(join(tmpdir(), 'lancash-wb-crash-'));
const stores: Store[] = [];

afterEach(async () => {
  for (const s of stores) {
    const audit = await auditWideBank(s);
    expect(audit.differences).toEqual([]);
  }
  await killAll();
  for (const s of stores.splice(0)) await s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function storeAt(config: StoreConfig): Promise<{ store: Store; ledger: Ledger }> {
  const store = await openStore(config);
  stores.push(store);
  return { store, ledger: new Ledger(store) };
}

async function funded(ledger: Ledger, amount: number): Promise<Holder> {
  const h = await newHolder();
  const { id } = await ledger.openAccount(h.key);
  await ledger.deposit(id, amount, randomUUID());
  return h;
}

describe('wide-bank process crashes after commit', () => {
  const start = (data: string, fault?: string) =>
    startProcess(
      ['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', '--data', data],
      fault ? { env: { LANCASH_FAULT: fault } } : {},
    );

  it('issue: the retry after a restart returns the same signatures and debits once', async () => {
    const data = join(dir, 'issue');
    const first = await start(data, 'wide-bank:issue:after-commit');
    expect(first.stderr()).toContain('LANCASH_FAULT');
    const { store, ledger } = await storeAt({ dialect: 'sqlite', file: join(data, 'wide-bank.db') });
    const holder = await funded(ledger, 20);
    let bank = await remoteBank(first.url);
    const outs = makeOutputs(curve, bank.keysetId, [4, 8]);
    const call = () =>
      requestIssue({
        bank: bank.peer,
        holder: holder.pair,
        transferId: 'crash-1',
        amount: 12,
        outputs: outs.map((o) => o.message),
      });
    const lost = await call().catch((e: unknown) => e);
    expect(isUnclear(lost)).toBe(true);
    expect(await first.kill()).toBe(null); // killed by its own SIGKILL
    expect(first.stderr()).toContain('fault injected at wide-bank:issue:after-commit');
    // The transaction committed: the account is already debited.
    expect(await ledger.balance(holder.key)).toBe(8);
    const committed = await store.db
      .selectFrom('mint_signatures')
      .select(['b_', 'c_'])
      .where('operation', '=', `issue:${holder.key}:crash-1`)
      .execute();
    expect(committed).toHaveLength(2);

    const second = await start(data);
    bank = await remoteBank(second.url);
    const { signatures } = await call();
    expect(new Set(signatures.map((s) => s.C_))).toEqual(new Set(committed.map((c) => c.c_)));
    expect(await ledger.balance(holder.key)).toBe(8);
    // They are good notes: they swap.
    const proofs = unblindAll(curve, bank.K, outs, signatures);
    const fresh = makeOutputs(curve, bank.keysetId, [4, 8]).map((o) => o.message);
    expect((await rawPost(second.url, '/v1/swap', { inputs: proofs, outputs: fresh })).status).toBe(200);
    // And again, the same bytes as the retry.
    const env = await sealIssue(
      bank.peer.encryptionKey,
      holder,
      'crash-1',
      12,
      outs.map((o) => o.message),
    );
    const a = await rawPost(second.url, '/v1/bank/issue', env);
    const b = await rawPost(second.url, '/v1/bank/issue', env);
    expect(a.status).toBe(200);
    expect(b.text).toBe(a.text);
  });

  /**
   * A receive killed just after its commit: the retry after a restart answers the same receipt and
   * credits once. With `feePpk` the bank first rotates to a fee keyset (NUT-02) and the credit is the
   * notes' 18 less their fee; the audit after each test checks the fee booked under the receive.
   */
  async function receiveKilledAfterCommit(name: string, feePpk: number, credit: number): Promise<void> {
    const data = join(dir, name);
    const first = await start(data, 'wide-bank:receive:after-commit');
    const { ledger } = await storeAt({ dialect: 'sqlite', file: join(data, 'wide-bank.db') });
    const keysetId =
      feePpk === 0
        ? undefined
        : (await rotateToFee('wide-bank', ['--data', data], feePpk, first.url)).listed.id;
    const payer = await funded(ledger, 20);
    const payee = await newHolder();
    await ledger.openAccount(payee.key);
    let bank = await remoteBank(first.url);
    const outs = makeOutputs(curve, keysetId ?? bank.keysetId, [2, 16]);
    const { signatures } = await requestIssue({
      bank: bank.peer,
      holder: payer.pair,
      transferId: randomUUID(),
      amount: 18,
      outputs: outs.map((o) => o.message),
    });
    const proofs = unblindAll(curve, bank.K, outs, signatures);
    const call = () =>
      requestReceive({
        bank: bank.peer,
        sender: payer.pair,
        transferId: `crash-${name}`,
        account: payee.key,
        proofs,
        ...(feePpk === 0 ? {} : { credit }),
      });
    expect(isUnclear(await call().catch((e: unknown) => e))).toBe(true);
    await first.kill();
    expect(await ledger.balance(payee.key)).toBe(credit);

    const second = await start(data);
    bank = await remoteBank(second.url);
    const receipt = await call();
    const again = await call();
    expect(again).toEqual(receipt);
    expect(receipt.amount).toBe(credit);
    expect(await ledger.balance(payee.key)).toBe(credit);
  }

  it('receive: the retry after a restart returns the same receipt and credits once', () =>
    receiveKilledAfterCommit('receive', 0, 18));

  // One minor unit per note spent (NUT-02): two notes worth 18 credit 16.
  it('receive with an input fee: the retry after a restart credits the notes less their fee once, the fee booked once', () =>
    receiveKilledAfterCommit('receive-fee', 1000, 16));
});

describe.runIf(DIALECTS.includes('postgres'))('two wide-bank processes on one PostgreSQL database', () => {
  it('parallel issues against one account never exceed its balance; parallel receives credit once', async () => {
    const url = await freshDatabaseUrl('postgres');
    const procs = await Promise.all(
      [0, 1].map(() =>
        startProcess(['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', '--db', url]),
      ),
    );
    const { ledger } = await storeAt({ dialect: 'postgres', url });
    const holder = await funded(ledger, 10);
    const banks: RemoteBank[] = await Promise.all(procs.map((p) => remoteBank(p.url)));
    expect(banks[0]!.info).toEqual(banks[1]!.info); // one set of keys, shared through the database
    expect(banks[0]!.keysetId).toBe(banks[1]!.keysetId);

    const outs = Array.from({ length: 50 }, () => makeOutputs(curve, banks[0]!.keysetId, [1]));
    const results = await Promise.allSettled(
      outs.map((o, i) =>
        requestIssue({
          bank: banks[i % 2]!.peer,
          holder: holder.pair,
          transferId: randomUUID(),
          amount: 1,
          outputs: o.map((x) => x.message),
        }),
      ),
    );
    const ok = results.flatMap((r, i) =>
      r.status === 'fulfilled' ? [[outs[i]!, r.value.signatures] as const] : [],
    );
    expect(ok).toHaveLength(10);
    for (const r of results) {
      if (r.status === 'rejected') expect(isLancashError(r.reason, 'InsufficientBalance')).toBe(true);
    }
    expect(await ledger.balance(holder.key)).toBe(0);

    const proofs: Proof[] = ok.flatMap(([o, sigs]) => unblindAll(curve, banks[0]!.K, o, sigs));
    const payee = await newHolder();
    await ledger.openAccount(payee.key);
    const receives = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        requestReceive({
          bank: banks[i % 2]!.peer,
          sender: holder.pair,
          transferId: randomUUID(),
          account: payee.key,
          proofs,
        }),
      ),
    );
    expect(receives.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of receives) {
      if (r.status === 'rejected') expect(isLancashError(r.reason, 'ProofsAlreadySpent')).toBe(true);
    }
    expect(await ledger.balance(payee.key)).toBe(10);
  });
});
