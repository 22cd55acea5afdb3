/**
 * A swap's write (NUT-03), on each dialect: on PostgreSQL one statement (`lancash_mint_swap`, migration
 * 032), on SQLite the group commit's transaction. Every refusal at the write — a note already spent,
 * an output signed meanwhile, a keyset retired since the checks — leaves every row of the mint's value
 * tables and running totals as it was (compared whole, before and after), with the error code the
 * transaction gave; the function's own refusals are checked at the repository too, each after the
 * inputs' rows were already inserted in that statement (so the rollback is what is tested).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import type { Store } from '../store/index.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';
import { issue, makeOutputs, toProofs } from '../test-support/notes.js';
import { codeOf } from '../test-support/refusals.js';
import { noteY } from '../wallet/outputs.js';
import { Mint } from './mint.js';
import { type NewProof, type NewSignature, swapInOne, totalsAgainstRows } from './repository.js';

const curve = defaultCurve();

/** Every row of the mint's value tables and its running totals, in key order. */
async function everyRow(store: Store): Promise<unknown> {
  const { db } = store;
  return {
    proofs: await db.selectFrom('mint_proofs').selectAll().orderBy('y').execute(),
    signatures: await db.selectFrom('mint_signatures').selectAll().orderBy('b_').execute(),
    totals: await db.selectFrom('mint_totals').selectAll().orderBy('id').execute(),
  };
}

describe.each(DIALECTS)('a swap’s write on %s', (dialect) => {
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
  const messages = (amounts: number[]) => outputsFor(amounts).map((o) => o.message);

  it('writes the inputs spent, the signatures and the totals; each refusal leaves every row as it was', async () => {
    const notes = await issue(curve, mint, [1, 2, 4, 8]);
    const outputs = outputsFor([1, 2]);
    const sigs = await mint.swap(
      notes.slice(0, 2),
      outputs.map((o) => o.message),
    );
    // The new notes are good: they swap again.
    const fresh = toProofs(curve, mint, outputs, sigs);
    await mint.swap(fresh, messages([2, 1]));
    const agreed = await totalsAgainstRows(store.db);
    expect(agreed.running).toEqual(agreed.rows);
    expect(agreed.rows).toEqual({ signed: 15 + 3 + 3, spent: 3 + 3, pending: 0 });

    const before = await everyRow(store);
    // A note already spent (11001), whatever the outputs.
    expect(await codeOf(mint.swap(notes.slice(0, 2), messages([1, 2])))).toBe(11001);
    expect(await everyRow(store)).toEqual(before);
    // One spent note among unspent ones: the unspent ones stay unspent.
    expect(await codeOf(mint.swap([notes[0]!, notes[2]!], messages([1, 4])))).toBe(11001);
    expect(await everyRow(store)).toEqual(before);
    // Outputs signed before (11003 at the pre-check, no crypto spent on it).
    expect(await codeOf(mint.swap([notes[2]!], [outputs[0]!.message, ...messages([2, 1])]))).toBe(11003);
    expect(await everyRow(store)).toEqual(before);

    // A keyset retired by another process since this mint read its row: refused at the write (12003),
    // after the checks passed on the mint's copy; nothing of the swap stays.
    await store.db.updateTable('mint_keysets').set({ retires_at: 0 }).execute();
    expect(await codeOf(mint.swap([notes[2]!], messages([4])))).toBe(12003);
    expect(await everyRow(store)).toEqual(before);
  });

  it('two swaps with different inputs and the same outputs at once: one is written, the other leaves nothing', async () => {
    const notes = await issue(curve, mint, [4, 4]);
    const outputs = messages([4]);
    const before = await everyRow(store);
    const results = await Promise.allSettled([
      mint.swap([notes[0]!], outputs),
      mint.swap([notes[1]!], outputs),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    const lost = results.findIndex((r) => r.status === 'rejected');
    // The loser's note is unspent: it swaps on.
    const [state] = await mint.checkState([noteY(curve, notes[lost]!.secret)]);
    expect(state?.state).toBe('UNSPENT');
    const agreed = await totalsAgainstRows(store.db);
    expect(agreed.running).toEqual(agreed.rows);
    expect(agreed.rows).toEqual({ signed: 8 + 4, spent: 4, pending: 0 });
    expect(before).not.toEqual(await everyRow(store));
  });

  it.runIf(dialect === 'postgres')(
    'lancash_mint_swap: a held note, an output signed, a retired keyset each roll back the whole statement',
    async () => {
      const notes = await issue(curve, mint, [1, 2, 4]);
      const signedBefore = (await store.db.selectFrom('mint_signatures').selectAll().execute())[0]!;
      const keyset = mint.keysets.current().id;
      const hex = () => randomUUID().replaceAll('-', '').padEnd(66, '0');
      const input = (): NewProof => ({
        y: `02${hex().slice(2)}`,
        amount: 1,
        keyset_id: keyset,
        secret: hex(),
        c: `02${hex().slice(2)}`,
        witness: null,
      });
      const output = (b_ = `03${hex().slice(2)}`): NewSignature => ({
        b_,
        amount: 1,
        keyset_id: keyset,
        c_: `02${hex().slice(2)}`,
        dleq_e: hex(),
        dleq_s: hex(),
      });
      const write = (inputs: NewProof[], outputs: NewSignature[]) =>
        swapInOne(store.db, inputs, outputs, {
          operation: `swap:${randomUUID()}`,
          now: Date.now(),
          fees: 0,
          keysets: [keyset],
        });
      const held = input();
      expect(await write([held], [output()])).toBeUndefined();
      const before = await everyRow(store);

      // The first input is new (inserted, then rolled back), the second held.
      expect(await write([input(), held], [output(), output()])).toEqual({ table: 'mint_proofs' });
      expect(await everyRow(store)).toEqual(before);
      // The inputs are new; an output was signed before (by the issue above).
      expect(await write([input(), input()], [output(), output(signedBefore.b_)])).toEqual({
        table: 'mint_signatures',
      });
      expect(await everyRow(store)).toEqual(before);
      await store.db.updateTable('mint_keysets').set({ retires_at: 5 }).execute();
      expect(await write([input()], [output()])).toEqual({ retired: { id: keyset, retires_at: 5 } });
      expect(await everyRow(store)).toEqual(before);
      expect(notes).toHaveLength(3);
    },
  );
});
