/**
 * The audit's blind spots (issue 12 item 4) as tamper tests: a real `lancash wide-bank` process takes
 * real traffic (a bolt11 mint over fake Lightning, swaps, a melt with change, issue and receive for a
 * holder), then each test changes the database with direct SQL as an intruder would and expects the
 * audit to fail naming the table, the row and the amount; it then puts the row back, and the audit
 * after each test must be clean again. The last test mints a quote set back to PAID a second time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import { requestIssue, requestReceive } from '../core/protocol/bank.js';
import type { Proof } from '../core/protocol/cashu.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../test-support/dialects.js';
import { makeOutputs } from '../test-support/notes.js';
import { killAll, runLancash, type Started, startProcess, wideBankArgs } from '../test-support/process.js';
import { newHolder, type RemoteBank, rawPost, remoteBank, unblindAll } from '../test-support/wide-bank.js';
import { type AuditDifference, type AuditOptions, auditWideBank } from './audit.js';
import { CHECKPOINT_MARGIN_MS } from './checkpoint/checkpoint.js';
import { CHAIN_GENESIS, linkHash } from './ledger/chain.js';
import { Ledger } from './ledger/service.js';

const curve = defaultCurve();

describe.each(DIALECTS)('wide bank audit on %s: tampered rows are named with their amounts', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-tamper-'));
  let fresh: FreshDatabase | undefined;
  /** The database as `lancash audit --wide-bank-db` takes it. */
  let dbUrl = join(dir, 'wide-bank.db');
  let proc: Started;
  let bank: RemoteBank;
  let store: Store;
  /** The traffic's operations, as the mint recorded them. */
  let mintQuote: string;
  let swapA: string;
  let swapB: string;
  let issueOp: string;
  let receiveOp: string;
  let checkAfter = true;

  async function swap(inputs: Proof[], amounts: number[]): Promise<Proof[]> {
    const outs = makeOutputs(curve, bank.keysetId, amounts);
    const r = await rawPost(proc.url, '/v1/swap', { inputs, outputs: outs.map((o) => o.message) });
    expect(r.status, r.text).toBe(200);
    return unblindAll(curve, bank.K, outs, r.json.signatures);
  }

  async function mintOver(amount: number): Promise<{ quote: string; proofs: Proof[] }> {
    const quote = await rawPost(proc.url, '/v1/mint/quote/bolt11', { amount, unit: 'eur' });
    expect(quote.status, quote.text).toBe(200);
    const outs = makeOutputs(curve, bank.keysetId, [amount]);
    const minted = await rawPost(proc.url, '/v1/mint/bolt11', {
      quote: quote.json.quote,
      outputs: outs.map((o) => o.message),
    });
    expect(minted.status, minted.text).toBe(200);
    return { quote: quote.json.quote, proofs: unblindAll(curve, bank.K, outs, minted.json.signatures) };
  }

  /** The operation that holds a row of the mint, read back from the database. */
  async function opOfSignature(C_: string): Promise<string> {
    const r = await store.db
      .selectFrom('mint_signatures')
      .select('operation')
      .where('c_', '=', C_)
      .executeTakeFirstOrThrow();
    return r.operation;
  }

  beforeAll(async () => {
    if (dialect === 'sqlite') {
      proc = await startProcess(wideBankArgs(dir));
      store = await openStore({ dialect: 'sqlite', file: dbUrl });
    } else {
      fresh = await freshDatabase(dialect);
      dbUrl = fresh.url;
      proc = await startProcess([
        'wide-bank',
        '--lightning',
        'fake',
        '--listen',
        '127.0.0.1:0',
        '--db',
        dbUrl,
      ]);
      store = await openStore(fresh.config);
    }
    bank = await remoteBank(proc.url);
    const ledger = new Ledger(store);
    const holder = await newHolder();
    const account = (await ledger.openAccount(holder.key)).id;
    await ledger.deposit(account, 100, randomUUID());
    const payee = await newHolder();
    await ledger.openAccount(payee.key);

    // Lightning in: 64 minted against a paid invoice.
    const minted = await mintOver(64);
    mintQuote = minted.quote;
    // Two swaps: 64 → 32+16+8+8, then 32 → 16+16.
    const [n32, n16, n8a, n8b] = await swap(minted.proofs, [32, 16, 8, 8]);
    const halves = await swap([n32!], [16, 16]);
    // Issue 1+2+4 against the holder's account, then receive them and a 16 into the payee's.
    const outs = makeOutputs(curve, bank.keysetId, [1, 2, 4]);
    const transfer = randomUUID();
    const { signatures } = await requestIssue({
      bank: bank.peer,
      holder: holder.pair,
      transferId: transfer,
      amount: 7,
      outputs: outs.map((o) => o.message),
    });
    const issued = unblindAll(curve, bank.K, outs, signatures);
    const receipt = await requestReceive({
      bank: bank.peer,
      sender: holder.pair,
      transferId: randomUUID(),
      account: payee.key,
      proofs: [...issued, n16!],
    });
    expect(receipt.amount).toBe(23);
    // Lightning out: a melt of 8 paid with 8+8, change on blank outputs.
    const invoice = await rawPost(proc.url, '/v1/mint/quote/bolt11', { amount: 8, unit: 'eur' });
    const meltQuote = await rawPost(proc.url, '/v1/melt/quote/bolt11', {
      request: invoice.json.request,
      unit: 'eur',
    });
    expect(meltQuote.status, meltQuote.text).toBe(200);
    const blanks = makeOutputs(curve, bank.keysetId, [1, 1, 1, 1]);
    const melted = await rawPost(proc.url, '/v1/melt/bolt11', {
      quote: meltQuote.json.quote,
      inputs: [n8a, n8b],
      outputs: blanks.map((o) => o.message),
    });
    expect(melted.status, melted.text).toBe(200);
    expect(melted.json.state).toBe('PAID');

    swapA = await opOfSignature(
      (
        await store.db
          .selectFrom('mint_signatures')
          .select('c_')
          .where('operation', 'like', 'swap:%')
          .where('amount', '=', 32)
          .executeTakeFirstOrThrow()
      ).c_,
    );
    swapB = (
      await store.db
        .selectFrom('mint_signatures')
        .select('operation')
        .where('operation', 'like', 'swap:%')
        .where('operation', '<>', swapA)
        .executeTakeFirstOrThrow()
    ).operation;
    expect(halves).toHaveLength(2);
    issueOp = `issue:${holder.key}:${transfer}`;
    receiveOp = (
      await store.db
        .selectFrom('mint_proofs')
        .select('operation')
        .where('operation', 'like', 'receive:%')
        .executeTakeFirstOrThrow()
    ).operation;
  });

  afterEach(async () => {
    if (!checkAfter) return;
    const audit = await auditWideBank(store);
    expect(audit.differences).toEqual([]);
  });

  afterAll(async () => {
    await killAll();
    await store?.close();
    await fresh?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The audit fails with a difference naming every one of `rows` and the amounts. */
  async function expectNamed(
    rows: string[],
    amounts: { expected: number; actual: number },
    o: AuditOptions = {},
  ) {
    const audit = await auditWideBank(store, o);
    expect(audit.balanced).toBe(false);
    const named = (d: AuditDifference) => [d.row, d.tx, d.account, ...(d.rows ?? [])];
    const found = audit.differences.find(
      (d) =>
        rows.every((r) => named(d).includes(r)) &&
        d.expected === amounts.expected &&
        d.actual === amounts.actual,
    );
    expect(found, JSON.stringify(audit.differences, null, 2)).toBeDefined();
    return audit;
  }

  it('is clean after the traffic, and says what it proves and what it cannot', async () => {
    const audit = await auditWideBank(store);
    expect(audit.differences).toEqual([]);
    expect(audit.totals.mint.signed).toBeGreaterThan(0);
    expect(audit.proves.length).toBeGreaterThan(3);
    expect(audit.cannotProve.join(' ')).toMatch(/consistent/);
  });

  it('names a deleted spent note: its operation, the ledger row it answers to, and its value', async () => {
    const note = await store.db
      .selectFrom('mint_proofs')
      .selectAll()
      .where('operation', '=', receiveOp)
      .where('amount', '=', 16)
      .executeTakeFirstOrThrow();
    const entry = await store.db
      .selectFrom('bank_entries')
      .select('id')
      .where('ref', '=', receiveOp)
      .where('account_id', '=', 'notes_outstanding')
      .executeTakeFirstOrThrow();
    await store.db.deleteFrom('mint_proofs').where('y', '=', note.y).execute();
    try {
      // The ledger took 23 out of circulation for this receive; the notes spent now say 7.
      await expectNamed([`mint_proofs:operation=${receiveOp}`, `bank_entries:${entry.id}`], {
        expected: -23,
        actual: -7,
      });
    } finally {
      await store.db.insertInto('mint_proofs').values(note).execute();
    }
  });

  it('names a doubled signature row and its amount', async () => {
    const sig = await store.db
      .selectFrom('mint_signatures')
      .selectAll()
      .where('operation', '=', issueOp)
      .where('amount', '=', 4)
      .executeTakeFirstOrThrow();
    const b_ = `02${randomBytes(32).toString('hex')}`;
    await store.db
      .insertInto('mint_signatures')
      .values({ ...sig, b_ })
      .execute();
    try {
      await expectNamed([`mint_signatures:${b_}`], { expected: 7, actual: 11 });
      // The copy carries the original's C_: both rows are named.
      await expectNamed([`mint_signatures:${b_}`, `mint_signatures:${sig.b_}`], { expected: 1, actual: 2 });
    } finally {
      await store.db.deleteFrom('mint_signatures').where('b_', '=', b_).execute();
    }
  });

  it('names a signature row whose amount was raised, with the amount its C_ really signs', async () => {
    const sig = await store.db
      .selectFrom('mint_signatures')
      .selectAll()
      .where('operation', '=', issueOp)
      .where('amount', '=', 4)
      .executeTakeFirstOrThrow();
    await store.db.updateTable('mint_signatures').set({ amount: 8 }).where('b_', '=', sig.b_).execute();
    try {
      await expectNamed([`mint_signatures:${sig.b_}`], { expected: 4, actual: 8 });
    } finally {
      await store.db.updateTable('mint_signatures').set({ amount: 4 }).where('b_', '=', sig.b_).execute();
    }
  });

  it('names a spent note flipped to pending, with its amount', async () => {
    const note = await store.db
      .selectFrom('mint_proofs')
      .selectAll()
      .where('operation', '=', swapB)
      .executeTakeFirstOrThrow();
    await store.db.updateTable('mint_proofs').set({ state: 'pending' }).where('y', '=', note.y).execute();
    try {
      await expectNamed([`mint_proofs:${note.y}`], { expected: 0, actual: note.amount });
      // `lancash audit` exits 1 and prints the row on stderr.
      const cli = await runLancash(['audit', '--wide-bank-db', dbUrl]);
      expect(cli.code, cli.stderr).toBe(1);
      expect(cli.stderr).toContain(`mint_proofs:${note.y}`);
      expect(JSON.parse(cli.stdout).wideBank.proves.length).toBeGreaterThan(0);
    } finally {
      await store.db.updateTable('mint_proofs').set({ state: 'spent' }).where('y', '=', note.y).execute();
    }
  });

  it('names a signature moved from one swap to another, in both swaps, with its amount', async () => {
    const sig = await store.db
      .selectFrom('mint_signatures')
      .selectAll()
      .where('operation', '=', swapA)
      .where('amount', '=', 16)
      .executeTakeFirstOrThrow();
    await store.db
      .updateTable('mint_signatures')
      .set({ operation: swapB })
      .where('b_', '=', sig.b_)
      .execute();
    try {
      // NUT-03 per swap: Σ inputs − fee = Σ outputs. A signed 64 − 16, B 32 + 16.
      await expectNamed([`mint_signatures:operation=${swapA}`, `mint_proofs:operation=${swapA}`], {
        expected: 0,
        actual: -16,
      });
      await expectNamed([`mint_signatures:operation=${swapB}`, `mint_signatures:${sig.b_}`], {
        expected: 0,
        actual: 16,
      });
    } finally {
      await store.db
        .updateTable('mint_signatures')
        .set({ operation: swapA })
        .where('b_', '=', sig.b_)
        .execute();
    }
  });

  it('names a keyset whose fee was changed, with the fee its id commits to and the one it shows', async () => {
    const ks = await store.db.selectFrom('mint_keysets').selectAll().executeTakeFirstOrThrow();
    expect(ks.input_fee_ppk).toBe(0);
    await store.db.updateTable('mint_keysets').set({ input_fee_ppk: 100 }).where('id', '=', ks.id).execute();
    try {
      await expectNamed([`mint_keysets:${ks.id}`], { expected: 0, actual: 100 });
    } finally {
      await store.db.updateTable('mint_keysets').set({ input_fee_ppk: 0 }).where('id', '=', ks.id).execute();
    }
  });

  it('names a consistent forgery (a deposit raised on both legs) by the hash chain; rehashed, against an earlier checkpoint', async () => {
    // A checkpoint that covers all the traffic (the audit leaves the last minute to the next one).
    const earlier = await auditWideBank(store, { clock: () => Date.now() + CHECKPOINT_MARGIN_MS + 1000 });
    expect(earlier.checkpoint.tables.mint_signatures!.rows).toBeGreaterThan(0);
    expect(earlier.chain.links).toBeGreaterThan(3);
    // The forger raises the holder's deposit of 100 to 150 on both legs: money from nothing, balanced.
    const entries = await store.db
      .selectFrom('bank_entries')
      .selectAll()
      .where('kind', '=', 'deposit')
      .execute();
    expect(entries.map((e) => e.amount).sort()).toEqual([-100, 100]);
    /** The forgery on, or undone. */
    const forge = async (on: boolean) => {
      for (const e of entries) {
        const delta = Math.sign(e.amount) * 50;
        await store.db
          .updateTable('bank_entries')
          .set({ amount: on ? e.amount + delta : e.amount })
          .where('id', '=', e.id)
          .execute();
        await store.db
          .updateTable('bank_accounts')
          .set((eb) => ({ balance: eb('balance', '+', on ? delta : -delta) }))
          .where('id', '=', e.account_id)
          .execute();
      }
    };
    /** What an intruder who knows the chain does next: every link and the head hashed again. */
    const rehash = async () => {
      let prev = CHAIN_GENESIS;
      const all = await store.db.selectFrom('bank_entries').selectAll().orderBy('chain_seq').execute();
      const links = new Map<number, typeof all>();
      for (const e of all) links.set(Number(e.chain_seq), [...(links.get(Number(e.chain_seq)) ?? []), e]);
      for (const [seq, list] of links) {
        prev = linkHash(prev, seq, list);
        await store.db
          .updateTable('bank_entries')
          .set({ chain_hash: prev })
          .where('chain_seq', '=', seq)
          .execute();
      }
      await store.db.updateTable('bank_chain').set({ hash: prev }).where('id', '=', 1).execute();
    };
    const link = Number(entries[0]!.chain_seq);
    await forge(true);
    try {
      // Not rehashed: the chain names the posting's entries.
      await expectNamed(
        entries.map((e) => `bank_entries:${e.id}`),
        { expected: 1, actual: 0 },
      );
      // Rehashed: every check passes by itself ...
      await rehash();
      expect((await auditWideBank(store)).differences).toEqual([]);
      // ... but not against the earlier checkpoint: the table and the rewritten chain are named.
      const audit = await auditWideBank(store, { since: earlier.checkpoint });
      expect(audit.proves.join(' ')).toContain(earlier.checkpoint.hash);
      await expectNamed(
        [`bank_entries:written-by=${earlier.checkpoint.at}`],
        {
          expected: earlier.checkpoint.tables.bank_entries!.value,
          actual: earlier.checkpoint.tables.bank_entries!.value + 50,
        },
        { since: earlier.checkpoint },
      );
      await expectNamed(
        [`bank_entries:chain_seq=${earlier.chain.links}`, 'bank_chain:1'],
        { expected: 1, actual: 0 },
        {
          since: earlier.checkpoint,
        },
      );
      expect(link).toBeLessThanOrEqual(earlier.chain.links);
      // lancash audit --since the earlier report: exit 1, the tables named.
      const file = join(dir, 'earlier-report.json');
      writeFileSync(file, JSON.stringify({ balanced: true, wideBank: earlier }));
      const cli = await runLancash(['audit', '--wide-bank-db', dbUrl, '--since', file]);
      expect(cli.code, cli.stderr).toBe(1);
      expect(cli.stderr).toContain(`bank_entries:written-by=${earlier.checkpoint.at}`);
      // A checkpoint edited to match the forgery does not hash to its own hash.
      const edited = structuredClone(earlier.checkpoint);
      edited.tables.bank_entries!.value += 50;
      const self = await auditWideBank(store, { since: edited });
      expect(self.differences.map((d) => d.rows)).toContainEqual(['checkpoint']);
    } finally {
      await forge(false);
      await rehash();
    }
  });

  it('names a mint quote set back from ISSUED to PAID, and again once it was minted a second time', async () => {
    await sql`update lightning_quotes set state = 'PAID' where id = ${mintQuote}`.execute(store.db);
    const op = `mint:${mintQuote}`;
    await expectNamed([`lightning_quotes:${mintQuote}`, `mint_signatures:operation=${op}`], {
      expected: 0,
      actual: 64,
    });
    // The intruder's purpose: the quote is minted again, and the ledger books it as if new.
    checkAfter = false;
    const outs = makeOutputs(curve, bank.keysetId, [64]);
    const again = await rawPost(proc.url, '/v1/mint/bolt11', {
      quote: mintQuote,
      outputs: outs.map((o) => o.message),
    });
    expect(again.status, again.text).toBe(200);
    await expectNamed([`lightning_quotes:${mintQuote}`, `mint_signatures:operation=${op}`], {
      expected: 64,
      actual: 128,
    });
  });
});
