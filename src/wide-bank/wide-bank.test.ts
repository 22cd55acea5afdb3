/**
 * The real `lancash wide-bank` process on a loopback port, over HTTP: issue and receive round trips
 * through the client calls of `core/protocol/bank.ts`, byte-identical replays, refusals that change
 * nothing, hostile bodies on every route answered 4xx with a code (never 5xx), the account CLI and
 * `lancash audit` (exit 1 on a tampered ledger row). The audit of invariant 1 runs after every test.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import { generateEncryptionKeyPair } from '../core/envelope/index.js';
import { isLancashError } from '../core/errors.js';
import { requestIssue, requestReceive, verifyReceipt } from '../core/protocol/bank.js';
import type { Proof } from '../core/protocol/cashu.js';
import { openStore, type Store } from '../store/index.js';
import { cashuTsFlow } from '../test-support/cashu-ts-flow.js';
import { makeOutputs } from '../test-support/notes.js';
import { killAll, runLancash, type Started, startProcess, wideBankArgs } from '../test-support/process.js';
import {
  type Holder,
  newHolder,
  oversizedPost,
  type RemoteBank,
  rawPost,
  remoteBank,
  sealIssue,
  unblindAll,
} from '../test-support/wide-bank.js';
import { auditWideBank } from './audit.js';
import { Ledger } from './ledger/service.js';

const curve = defaultCurve();

describe('wide-bank process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-wb-'));
  const dbFile = join(dir, 'wide-bank.db');
  let proc: Started;
  let bank: RemoteBank;
  let store: Store;
  let ledger: Ledger;
  let holder: Holder;
  let account: string;

  beforeAll(async () => {
    proc = await startProcess(wideBankArgs(dir));
    bank = await remoteBank(proc.url);
    store = await openStore({ dialect: 'sqlite', file: dbFile });
    ledger = new Ledger(store);
    holder = await newHolder();
    account = (await ledger.openAccount(holder.key)).id;
  });
  afterEach(async () => {
    const audit = await auditWideBank(store);
    expect(audit.differences).toEqual([]);
    expect((await request(`${proc.url}/healthz`)).statusCode).toBe(200);
  });
  afterAll(async () => {
    await killAll();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const outputsFor = (amounts: number[]) => makeOutputs(curve, bank.keysetId, amounts);

  /** Wide notes for `holder`, through the issue server. */
  async function notes(amounts: number[]): Promise<Proof[]> {
    const outs = outputsFor(amounts);
    const { signatures } = await requestIssue({
      bank: bank.peer,
      holder: holder.pair,
      transferId: randomUUID(),
      amount: amounts.reduce((a, b) => a + b, 0),
      outputs: outs.map((o) => o.message),
    });
    return unblindAll(curve, bank.K, outs, signatures);
  }

  it('serves cashu-ts 4 as an ordinary mint: bolt11 mint, send, receive, checkstate, melt, restore', async () => {
    const { balance } = await cashuTsFlow(proc.url);
    expect(balance).toBe(100 - 30 - 21);
  });

  it('prints its URL first, serves its info, health, metrics and OpenAPI document', async () => {
    expect(proc.stdout().split('\n')[0]).toBe(`listening on ${proc.url}`);
    expect(bank.info).toMatchObject({ currency: 'EUR', unit: 'eur', roles: ['issue', 'receive'] });
    const info = await (await request(`${proc.url}/v1/info`)).body.json();
    expect(info).toMatchObject({
      version: expect.stringMatching(/^lancash\/\d+\.\d+\.\d+/),
      nuts: {
        '4': { methods: [expect.objectContaining({ method: 'bolt11', unit: 'eur' })], disabled: false },
        '5': { methods: [expect.objectContaining({ method: 'bolt11', unit: 'eur' })], disabled: false },
        '7': { supported: true },
        '8': { supported: true },
        '9': { supported: true },
        '12': { supported: true },
      },
    });
    const doc = (await (await request(`${proc.url}/docs/json`)).body.json()) as {
      paths: Record<string, unknown>;
    };
    for (const p of ['/v1/bank/issue', '/v1/bank/receive', '/v1/bank/info', '/v1/swap'])
      expect(doc.paths[p]).toBeDefined();
    expect(proc.stderr()).toContain('FAKE LIGHTNING');
  });

  it('issues notes against the account and receives them into another, with a verified receipt', async () => {
    await ledger.deposit(account, 100, randomUUID());
    const proofs = await notes([1, 4, 8]);
    expect(await ledger.balance(account)).toBe(87);

    const payee = await newHolder();
    const payeeAccount = (await ledger.openAccount(payee.key)).id;
    const receipt = await requestReceive({
      bank: bank.peer,
      sender: holder.pair,
      transferId: randomUUID(),
      account: payee.key,
      proofs,
    });
    expect(receipt).toMatchObject({ account: payee.key, amount: 13, unit: 'eur' });
    expect(verifyReceipt(receipt, bank.info.receiptKey)).toBe(true);
    expect(await ledger.balance(payeeAccount)).toBe(13);
    const states = await rawPost(proc.url, '/v1/checkstate', { Ys: receipt.Ys });
    expect(states.json.states.map((s: { state: string }) => s.state)).toEqual(['SPENT', 'SPENT', 'SPENT']);
    // Notes already received are refused, naming them, and credit nothing.
    const again = await requestReceive({
      bank: bank.peer,
      sender: holder.pair,
      transferId: randomUUID(),
      account: payee.key,
      proofs,
    }).catch((e: unknown) => e);
    expect(isLancashError(again, 'ProofsAlreadySpent') && [...again.info.Ys].sort()).toEqual(
      [...receipt.Ys].sort(),
    );
    expect(await ledger.balance(payeeAccount)).toBe(13);
  });

  it('answers a replay with the same bytes and a reused key with another request with 409', async () => {
    await ledger.deposit(account, 10, randomUUID());
    const outs = outputsFor([2, 4]).map((o) => o.message);
    const key = randomUUID();
    const env = await sealIssue(bank.peer.encryptionKey, holder, key, 6, outs);
    const first = await rawPost(proc.url, '/v1/bank/issue', env);
    expect(first.status).toBe(200);
    const before = await ledger.balance(account);
    const replay = await rawPost(proc.url, '/v1/bank/issue', env);
    expect(replay.status).toBe(200);
    expect(replay.text).toBe(first.text);
    const resealed = await sealIssue(bank.peer.encryptionKey, holder, key, 6, outs);
    expect((await rawPost(proc.url, '/v1/bank/issue', resealed)).text).toBe(first.text);
    const other = await sealIssue(
      bank.peer.encryptionKey,
      holder,
      key,
      4,
      outputsFor([4]).map((o) => o.message),
    );
    const conflict = await rawPost(proc.url, '/v1/bank/issue', other);
    expect(conflict.status).toBe(409);
    expect(conflict.json.code).toBe(72001);
    expect(await ledger.balance(account)).toBe(before);
  });

  it('refuses wrong keys, bad envelopes and a short balance with 4xx and a code, changing nothing', async () => {
    const holder = await newHolder();
    const account = (await ledger.openAccount(holder.key)).id;
    await ledger.deposit(account, 5, randomUUID());
    const before = await ledger.balance(account);
    const stranger = await newHolder();
    const otherBank = await generateEncryptionKeyPair();
    const good = await sealIssue(
      bank.peer.encryptionKey,
      holder,
      randomUUID(),
      4,
      outputsFor([4]).map((o) => o.message),
    );
    const cases: [string, unknown, number][] = [
      [
        'sender without an account',
        await sealIssue(
          bank.peer.encryptionKey,
          stranger,
          randomUUID(),
          4,
          outputsFor([4]).map((o) => o.message),
        ),
        73001,
      ],
      [
        'sealed to another bank',
        await sealIssue(
          otherBank.publicKey,
          holder,
          randomUUID(),
          4,
          outputsFor([4]).map((o) => o.message),
        ),
        71003,
      ],
      ['sender key swapped', { ...good, sender: stranger.key }, 71002],
      ['truncated envelope', JSON.stringify(good).slice(0, 120), 70000],
      ['truncated ciphertext', { ...good, ct: good.ct.slice(0, 40) }, 71002],
      ['garbage', 'garbage', 70000],
      ['not an envelope', { hello: 'world' }, 70000],
      [
        'balance too short',
        await sealIssue(
          bank.peer.encryptionKey,
          holder,
          randomUUID(),
          8,
          outputsFor([8]).map((o) => o.message),
        ),
        73002,
      ],
      [
        '1001 outputs',
        await sealIssue(
          bank.peer.encryptionKey,
          holder,
          randomUUID(),
          1001,
          outputsFor(Array(1001).fill(1)).map((o) => o.message),
        ),
        11015,
      ],
    ];
    for (const [name, body, code] of cases) {
      for (const path of ['/v1/bank/issue', '/v1/bank/receive']) {
        const r = await rawPost(proc.url, path, body);
        expect(r.status, `${name} → ${path}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(r.status, name).toBeLessThan(500);
        if (path === '/v1/bank/issue') expect(r.json.code, name).toBe(code);
        else expect(typeof r.json.code, name).toBe('number');
      }
    }
    expect(await ledger.balance(account)).toBe(before);
  });

  it('answers hostile bodies on every route with 4xx and a code, never 5xx', async () => {
    await ledger.deposit(account, 64, randomUUID());
    const [p1, p2] = await notes([4, 8]);
    const out = (amount: number) => outputsFor([amount])[0]!.message;
    const signed = out(4);
    await rawPost(proc.url, '/v1/swap', { inputs: [p1], outputs: [signed] }).then((r) =>
      expect(r.status).toBe(200),
    );
    const [p3] = await notes([16]);
    const point = `02${'ff'.repeat(32)}`;
    const swap = (inputs: unknown, outputs: unknown) => ({ inputs, outputs });
    const deep = 10_000;
    const bodies: [string, string, unknown, number][] = [
      ['negative amount', '/v1/swap', swap([p2], [{ ...out(8), amount: -8 }]), 70000],
      ['zero amount', '/v1/swap', swap([p2], [{ ...out(8), amount: 0 }]), 70000],
      ['fractional amount', '/v1/swap', swap([p2], [{ ...out(8), amount: 7.5 }]), 70000],
      ['string amount', '/v1/swap', swap([p2], [{ ...out(8), amount: '8' }]), 70000],
      ['2^64 amount', '/v1/swap', swap([p2], [{ ...out(8), amount: 2 ** 64 }]), 70000],
      [
        'input amount forged',
        '/v1/swap',
        swap([{ ...p2!, amount: 2 ** 31 }], [out(2 ** 30), out(2 ** 30)]),
        10001,
      ],
      [
        'outputs summing beyond the inputs',
        '/v1/swap',
        swap(
          [p2],
          Array.from({ length: 1000 }, () => out(2 ** 31)),
        ),
        11005,
      ],
      ['1001 outputs', '/v1/swap', swap([p2], Array(1001).fill(out(8))), 11015],
      ['invalid point B_', '/v1/swap', swap([p2], [{ ...out(8), B_: point }]), 70003],
      ['invalid point C', '/v1/swap', swap([{ ...p2!, C: point }], [out(8)]), 10001],
      ['unknown keyset', '/v1/swap', swap([p2], [{ ...out(8), id: '00ffffffffffffff' }]), 12001],
      ['duplicate inputs', '/v1/swap', swap([p2, p2], [out(16)]), 11007],
      ['duplicate outputs', '/v1/swap', swap([p3], Array(2).fill(out(8))), 11008],
      ['already signed output', '/v1/swap', swap([p2], [out(4), signed]), 11003],
      ['spent input', '/v1/swap', swap([p1], [out(4)]), 11001],
      ['nested JSON', '/v1/swap', `{"inputs":${'['.repeat(deep)}${']'.repeat(deep)},"outputs":[1]}`, 70000],
      ['nested envelope', '/v1/bank/receive', `${'{"a":'.repeat(deep)}1${'}'.repeat(deep)}`, 70000],
      ['invalid checkstate', '/v1/checkstate', { Ys: [point.slice(0, 10)] }, 70000],
      ['restore of nothing', '/v1/restore', { outputs: [] }, 70006],
      ['__proto__', '/v1/swap', '{"__proto__":{"inputs":[]}}', 70000],
    ];
    for (const [name, path, body, code] of bodies) {
      const r = await rawPost(proc.url, path, body);
      expect(r.status, `${name}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, name).toBeLessThan(500);
      expect(r.json?.code, `${name}: ${r.text.slice(0, 200)}`).toBe(code);
    }
    const oversized: [string, string, unknown][] = [
      ['100 000 outputs', '/v1/swap', swap([p2], Array(100_000).fill(out(8)))],
      ['8 MB body', '/v1/swap', swap([{ ...p2!, secret: 'x'.repeat(8 * 1024 * 1024) }], [out(8)])],
      ['8 MB envelope', '/v1/bank/issue', { v: 1, ct: 'A'.repeat(8 * 1024 * 1024) }],
      ['8 MB restore', '/v1/restore', { outputs: Array(70_000).fill(out(8)) }],
    ];
    for (const [name, path, body] of oversized) {
      const r = await oversizedPost(proc.url, path, JSON.stringify(body));
      expect(r.status, `${name}: ${r.text.slice(0, 200)}`).toBe(413);
      expect(r.json.code, name).toBe(72004);
    }
    // p2 and p3 were never spent by any of these.
    const unspent = await rawPost(proc.url, '/v1/swap', swap([p2, p3], [out(8), out(16)]));
    expect(unspent.status, unspent.text).toBe(200);
  });

  it('books bolt11 mints and melts (fake Lightning) between funding and notes outstanding', async () => {
    const before = (await auditWideBank(store)).totals;
    const quote = await rawPost(proc.url, '/v1/mint/quote/bolt11', { amount: 16, unit: 'eur' });
    expect(quote.status, quote.text).toBe(200);
    const outs = outputsFor([16]);
    const minted = await rawPost(proc.url, '/v1/mint/bolt11', {
      quote: quote.json.quote,
      outputs: outs.map((o) => o.message),
    });
    expect(minted.status, minted.text).toBe(200);
    const proofs = unblindAll(curve, bank.K, outs, minted.json.signatures);
    let now = (await auditWideBank(store)).totals;
    expect(now.funding - before.funding).toBe(-16);
    expect(now.notesOutstanding - before.notesOutstanding).toBe(16);

    const invoice = await rawPost(proc.url, '/v1/mint/quote/bolt11', { amount: 8, unit: 'eur' });
    const meltQuote = await rawPost(proc.url, '/v1/melt/quote/bolt11', {
      request: invoice.json.request,
      unit: 'eur',
    });
    expect(meltQuote.status, meltQuote.text).toBe(200);
    const melted = await rawPost(proc.url, '/v1/melt/bolt11', {
      quote: meltQuote.json.quote,
      inputs: proofs,
    });
    expect(melted.status, melted.text).toBe(200);
    expect(melted.json.state).toBe('PAID');
    // No blank outputs: the overpayment is kept, and all 16 leave circulation.
    now = (await auditWideBank(store)).totals;
    expect(now.funding).toBe(before.funding);
    expect(now.notesOutstanding).toBe(before.notesOutstanding);
  });

  it('account CLI acts on the same database; lancash audit passes, then names a tampered row and exits 1', async () => {
    const h = await newHolder();
    const opened = await runLancash(['wide-bank', 'account', 'open', '--data', dir, '--holder-key', h.key]);
    expect(opened.code, opened.stderr).toBe(0);
    const id = JSON.parse(opened.stdout).id as string;
    const dep = await runLancash([
      'wide-bank',
      'account',
      'deposit',
      '--data',
      dir,
      '--account',
      h.key,
      '--amount',
      '0.25',
      '--ref',
      'wire-7',
    ]);
    expect(JSON.parse(dep.stdout)).toMatchObject({ account: id, amount: 25, balance: 25 });
    const over = await runLancash([
      'wide-bank',
      'account',
      'withdraw',
      '--data',
      dir,
      '--account',
      id,
      '--amount',
      '0.26',
    ]);
    expect(over.code).toBe(1);
    expect(JSON.parse(over.stderr).error.code).toBe(73002);
    // Amounts are typed in major units: a third decimal is a usage mistake, refused before the database opens.
    const mistyped = await runLancash([
      'wide-bank',
      'account',
      'deposit',
      '--data',
      dir,
      '--account',
      id,
      '--amount',
      '0.255',
    ]);
    expect([mistyped.code, mistyped.stderr]).toEqual([
      2,
      'lancash wide-bank: --amount: EUR has 2 decimals, got "0.255"\n',
    ]);
    // The amount is in the mint's currency: another --currency would scale it wrongly, so it is refused.
    const yen = await runLancash([
      'wide-bank',
      'account',
      'deposit',
      '--data',
      dir,
      '--account',
      id,
      '--currency',
      'JPY',
      '--amount',
      '1250',
    ]);
    expect([yen.code, yen.stderr]).toEqual([
      2,
      "lancash wide-bank: --currency JPY: this wide bank's mint holds EUR\n",
    ]);
    const shown = await runLancash(['wide-bank', 'account', 'show', '--data', dir, '--account', id]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, balance: 25, holderKey: h.key });
    const usage = await runLancash(['wide-bank', 'account', 'show']);
    expect(usage.code).toBe(2);

    const ok = await runLancash(['audit', '--wide-bank-db', dbFile]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).balanced).toBe(true);

    const entry = await store.db
      .selectFrom('bank_entries')
      .selectAll()
      .where('account_id', '=', id)
      .executeTakeFirstOrThrow();
    await store.db.updateTable('bank_entries').set({ amount: 2500 }).where('id', '=', entry.id).execute();
    try {
      const audit = await auditWideBank(store);
      expect(audit.balanced).toBe(false);
      expect(audit.differences).toContainEqual(
        expect.objectContaining({ row: entry.id, tx: entry.tx_id, account: id, expected: 25, actual: 2500 }),
      );
      expect(audit.differences).toContainEqual(
        expect.objectContaining({ tx: entry.tx_id, expected: 0, actual: 2475 }),
      );
      expect(audit.differences).toContainEqual(
        expect.objectContaining({ account: id, expected: 2500, actual: 25 }),
      );
      const bad = await runLancash(['audit', '--wide-bank-db', dbFile]);
      expect(bad.code).toBe(1);
      expect(JSON.stringify(JSON.parse(bad.stdout).wideBank.differences)).toContain(entry.id);
    } finally {
      await store.db
        .updateTable('bank_entries')
        .set({ amount: entry.amount })
        .where('id', '=', entry.id)
        .execute();
    }
  });

  it('a process with only the receive role has no issue route', async () => {
    const only = await startProcess(wideBankArgs(dir, '--roles', 'receive'));
    expect((await rawPost(only.url, '/v1/bank/issue', {})).status).toBe(404);
    expect((await rawPost(only.url, '/v1/bank/receive', {})).status).toBe(400);
    expect(await only.kill('SIGTERM')).toBe(0);
  });
});
