/**
 * The mint's running totals (`mint_totals`, migration 019), on each dialect: they move with every write
 * that changes value signed, spent or pending (issues, swaps, concurrent swaps, notes held pending,
 * released and settled) and not with a refused or rolled-back one; the row checks compare them with the
 * sums of the rows and name a change on either side; the migration sums books that already exist
 * (and counts the journal's jobs past their bank call).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import type { JobRow } from '../gateway/jobs/repository.js';
import { pastTheCallAgainstRows } from '../gateway/reconcile/repository.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, type FreshDatabase, freshDatabase, freshStore } from '../test-support/dialects.js';
import { jobRow } from '../test-support/jobs.js';
import { issue, makeOutputs, toProofs } from '../test-support/notes.js';
import { migratedUpTo } from '../test-support/older-database.js';
import { codeOf } from '../test-support/refusals.js';
import { mintIntegrity } from './audit.js';
import { Mint } from './mint.js';
import { feesAgainstRows, runningFees, runningTotals, TOTAL_SHARDS, totals } from './repository.js';

const curve = defaultCurve();
const anyPending = { mayHoldPending: () => true };

describe.each(DIALECTS)('mint running totals on %s', (dialect) => {
  let store: Store;
  let mint: Mint;

  beforeEach(async () => {
    store = await freshStore(dialect);
    mint = await Mint.open({ store, unit: 'eur', curve });
  });
  afterEach(async () => {
    await store.close();
  });

  const outputsFor = (amounts: number[]) => makeOutputs(curve, mint.keysets.current().id, amounts);
  /** The running totals equal the rows' sums, and are `expected`. */
  const agree = async (expected: { signed: number; spent: number; pending: number }) => {
    expect(await totals(store.db)).toEqual(expected);
    expect(await runningTotals(store.db)).toEqual(expected);
  };

  it('follow issues, swaps, concurrent swaps, pending, release and settle; not refusals or rollbacks', async () => {
    await agree({ signed: 0, spent: 0, pending: 0 });
    const notes = await issue(curve, mint, [1, 2, 4, 8]);
    await agree({ signed: 15, spent: 0, pending: 0 });

    await mint.swap(
      notes.slice(0, 2),
      outputsFor([1, 2]).map((o) => o.message),
    );
    await agree({ signed: 18, spent: 3, pending: 0 });
    // A double spend is refused: nothing moves.
    expect(
      await codeOf(
        mint.swap(
          notes.slice(0, 2),
          outputsFor([1, 2]).map((o) => o.message),
        ),
      ),
    ).toBe(11001);
    await agree({ signed: 18, spent: 3, pending: 0 });

    // Outputs signed in a transaction that then fails: neither the rows nor the totals stay.
    const prepared = await mint.prepareOutputs(outputsFor([16]).map((o) => o.message));
    await expect(
      store.transaction(async (trx) => {
        await mint.commitOutputs(trx, prepared, 'op-crash');
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    await agree({ signed: 18, spent: 3, pending: 0 });

    // Held pending, released, held again, settled.
    const held = await mint.prepareInputs([notes[3]!]);
    await store.transaction((trx) => mint.commitInputs(trx, held, 'job-1', 'pending'));
    await agree({ signed: 18, spent: 3, pending: 8 });
    await store.transaction((trx) => mint.releasePending(trx, 'job-1'));
    await agree({ signed: 18, spent: 3, pending: 0 });
    await store.transaction((trx) => mint.commitInputs(trx, held, 'job-2', 'pending'));
    await store.transaction((trx) => mint.settlePending(trx, 'job-2'));
    await agree({ signed: 18, spent: 11, pending: 0 });

    // Twenty swaps at once, each of its own note (they share group commits and shards).
    const many = await issue(
      curve,
      mint,
      Array.from({ length: 20 }, () => 4),
    );
    await Promise.all(
      many.map((n) =>
        mint.swap(
          [n],
          outputsFor([2, 2]).map((o) => o.message),
        ),
      ),
    );
    await agree({ signed: 18 + 80 + 80, spent: 11 + 80, pending: 0 });
    expect((await mintIntegrity(store, anyPending)).differences).toEqual([]);
  });

  it('the row checks name running totals changed, and rows changed under them', async () => {
    const notes = await issue(curve, mint, [1, 2, 4]);
    const outputs = outputsFor([1, 2, 4]);
    const sigs = await mint.swap(
      notes,
      outputs.map((o) => o.message),
    );
    toProofs(curve, mint, outputs, sigs);
    expect((await mintIntegrity(store, anyPending)).differences).toEqual([]);

    await store.db
      .updateTable('mint_totals')
      .set((eb) => ({ signed: eb('signed', '+', 5) }))
      .where('id', '=', 3)
      .execute();
    expect((await mintIntegrity(store, anyPending)).differences).toEqual([
      expect.objectContaining({ expected: 14, actual: 19, rows: ['mint_totals', 'mint_signatures'] }),
    ]);
  });

  it('a spent note deleted from the rows is named against the running total', async () => {
    const notes = await issue(curve, mint, [2, 4]);
    await mint.swap(
      notes,
      outputsFor([2, 4]).map((o) => o.message),
    );
    const row = await store.db
      .selectFrom('mint_proofs')
      .selectAll()
      .where('amount', '=', 4)
      .executeTakeFirstOrThrow();
    await store.db.deleteFrom('mint_proofs').where('y', '=', row.y).execute();
    expect((await mintIntegrity(store, anyPending)).differences).toContainEqual(
      expect.objectContaining({ expected: 2, actual: 6, rows: ['mint_totals', 'mint_proofs:state=spent'] }),
    );
    await store.db.insertInto('mint_proofs').values(row).execute();
    expect((await mintIntegrity(store, anyPending)).differences).toEqual([]);
  });
});

describe.each(DIALECTS)('input fees collected (running total) on %s', (dialect) => {
  let store: Store;
  let mint: Mint;

  beforeEach(async () => {
    store = await freshStore(dialect);
    mint = await Mint.open({ store, unit: 'eur', curve, inputFeePpk: 400 });
  });
  afterEach(async () => {
    await store.close();
  });

  const outputsFor = (amounts: number[]) => makeOutputs(curve, mint.keysets.current().id, amounts);
  /** The running fees equal the rows', and are `expected`. */
  const fees = async (expected: number) => {
    expect(await feesAgainstRows(store.db)).toEqual({ running: expected, rows: expected });
    expect(await runningFees(store.db)).toBe(expected);
  };

  it('follow swaps and settled inputs; not refusals, releases or rollbacks; the row checks name a change', async () => {
    const notes = await issue(curve, mint, [4, 4, 4, 8, 8]);
    await fees(0);
    // Two inputs at 400 ppk: ceil(800 / 1000) = 1 kept.
    await mint.swap(
      notes.slice(0, 2),
      outputsFor([4, 2, 1]).map((o) => o.message),
    );
    await fees(1);
    // The same notes again: refused, nothing moves.
    expect(
      await codeOf(
        mint.swap(
          notes.slice(0, 2),
          outputsFor([4, 2, 1]).map((o) => o.message),
        ),
      ),
    ).toBe(11001);
    await fees(1);

    // Held pending (no fee yet), released (none), held again and settled (collected then).
    const held = await mint.prepareInputs([notes[2]!]);
    await store.transaction((trx) => mint.commitInputs(trx, held, 'job-1', 'pending'));
    await fees(1);
    await store.transaction((trx) => mint.releasePending(trx, 'job-1'));
    await fees(1);
    await store.transaction((trx) => mint.commitInputs(trx, held, 'job-2', 'pending'));
    await store.transaction((trx) => mint.settlePending(trx, 'job-2'));
    await fees(2);
    // Settled again (a step retried): nothing left pending, no second fee.
    await store.transaction((trx) => mint.settlePending(trx, 'job-2'));
    await fees(2);

    // Spent in a transaction that then fails: neither the rows nor the fees stay.
    const spent = await mint.prepareInputs([notes[3]!]);
    await expect(
      store.transaction(async (trx) => {
        await mint.commitInputs(trx, spent, 'op-crash', 'spent');
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    await fees(2);

    // Concurrent swaps, one note each.
    await Promise.all(
      [notes[3]!, notes[4]!].map((n) =>
        mint.swap(
          [n],
          outputsFor([4, 2, 1]).map((o) => o.message),
        ),
      ),
    );
    await fees(4);
    expect((await mintIntegrity(store, anyPending)).differences).toEqual([]);

    await store.db
      .updateTable('mint_totals')
      .set((eb) => ({ fees: eb('fees', '+', 3) }))
      .where('id', '=', 5)
      .execute();
    expect((await mintIntegrity(store, anyPending)).differences).toEqual([
      expect.objectContaining({ expected: 4, actual: 7, rows: expect.arrayContaining(['mint_totals']) }),
    ]);
  });
});

describe.each(DIALECTS)('migration 019 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  it('sums the books that exist into the running totals', async () => {
    fresh = await freshDatabase(dialect);
    const config = fresh.config;
    const db = await migratedUpTo(config, '019_running_totals');
    const sig = { keyset_id: 'k', c_: 'c', dleq_e: 'e', dleq_s: 's', operation: 'op', created_at: 1 };
    await db
      .insertInto('mint_signatures')
      .values([
        { ...sig, b_: 'b1', amount: 8 },
        { ...sig, b_: 'b2', amount: 4 },
        { ...sig, b_: 'b3', amount: 2 },
      ])
      .execute();
    const proof = { keyset_id: 'k', secret: 's', c: 'c', witness: null, created_at: 1, updated_at: 1 };
    await db
      .insertInto('mint_proofs')
      .values([
        { ...proof, y: 'y1', amount: 8, state: 'spent', operation: 'a' },
        { ...proof, y: 'y2', amount: 2, state: 'pending', operation: 'b' },
      ])
      .execute();
    const job = (id: string, state: JobRow['state']) => ({
      ...jobRow(id, {
        state,
        active: 0,
        sender_key: 'aa',
        request_hash: id,
        destination_key: 'cc',
        journal: '{}',
      }),
    });
    await db
      .insertInto('gateway_jobs')
      .values([job('j1', 'done'), job('j2', 'delivering'), job('j3', 'issuing'), job('j4', 'refused')])
      .execute();
    await db.destroy();

    store = await openStore(config);
    expect(await pastTheCallAgainstRows(store.db)).toEqual({ running: 2, rows: 2 });
    const shards = await store.db.selectFrom('mint_totals').select('id').orderBy('id').execute();
    expect(shards.map((r) => r.id)).toEqual(Array.from({ length: TOTAL_SHARDS }, (_, k) => k));
    expect(await runningTotals(store.db)).toEqual({ signed: 14, spent: 8, pending: 2 });
    expect(await totals(store.db)).toEqual({ signed: 14, spent: 8, pending: 2 });
  });
});
