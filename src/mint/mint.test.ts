/**
 * The mint engine against every dialect: each check of a good mint, bad input leaving nothing
 * written, double spends under concurrency (also from two connection pools on PostgreSQL), and a
 * property test over random sequences of swaps.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hex } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { verifyDleq } from '../core/crypto/nut12.js';
import { isLancashError, type LancashError } from '../core/errors.js';
import type { Proof } from '../core/protocol/cashu.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, freshDatabaseUrl, freshStore } from '../test-support/dialects.js';
import { mintRowCounts as snapshot } from '../test-support/mint-rows.js';
import { issue, makeOutputs, toProofs } from '../test-support/notes.js';
import { codeOf } from '../test-support/refusals.js';
import { createCryptoPool } from './crypto-pool.js';
import { ROTATION_OVERLAP_MS } from './keysets.js';
import { Mint } from './mint.js';

const curve = defaultCurve();

describe.each(DIALECTS)('mint engine on %s', (dialect) => {
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

  it('swaps notes for new notes of the same value, with DLEQ proofs that verify', async () => {
    const inputs = await issue(curve, mint, [1, 4, 8]);
    const outputs = outputsFor([1, 2, 2, 8]);
    const sigs = await mint.swap(
      inputs,
      outputs.map((o) => o.message),
    );
    expect(sigs.map((s) => s.amount)).toEqual([1, 2, 2, 8]);
    for (const [i, s] of sigs.entries()) {
      const K = mint.keysets.current().publicKeys.get(s.amount)!;
      const B_ = hex(outputs[i]!.message.B_, 'B_', 33);
      expect(
        verifyDleq(curve, K, B_, hex(s.C_, 'C_', 33), hex(s.dleq!.e, 'e', 32), hex(s.dleq!.s, 's', 32)),
      ).toBe(true);
    }
    // The new notes are spendable; the old ones are spent.
    const fresh = toProofs(curve, mint, outputs, sigs);
    await expect(
      mint.swap(
        fresh,
        outputsFor([1, 4, 8]).map((o) => o.message),
      ),
    ).resolves.toHaveLength(3);
    expect(
      await codeOf(
        mint.swap(
          inputs,
          outputsFor([1, 4, 8]).map((o) => o.message),
        ),
      ),
    ).toBe(11001);
    expect(await mint.totals()).toEqual({ signed: 13 + 13 + 13, spent: 26, pending: 0 });
  });

  it("signs a caller's journaled outputs without reading the signatures first; signed ones refused at commit", async () => {
    const outputs = outputsFor([2, 4]).map((o) => o.message);
    const first = await mint.prepareOutputs(outputs);
    await store.transaction((trx) => mint.commitOutputs(trx, first, 'op-1'));
    // A client's outputs signed before are refused before any signing work (a read)…
    expect(await codeOf(mint.prepareOutputs(outputs))).toBe(11003);
    // …the caller's own journaled ones skip that read, and the commit refuses them, writing nothing.
    const before = await mint.totals();
    const again = await mint.prepareOutputs(outputs, { signInactive: true, journaled: true });
    expect(await codeOf(store.transaction((trx) => mint.commitOutputs(trx, again, 'op-2')))).toBe(11003);
    expect(await mint.totals()).toEqual(before);
  });

  it('reports NUT-07 states and restores signatures (NUT-09)', async () => {
    const outputs = outputsFor([2, 4]);
    const prepared = await mint.prepareOutputs(outputs.map((o) => o.message));
    const sigs = await store.transaction((trx) => mint.commitOutputs(trx, prepared, 'op-1'));
    const [a, b] = toProofs(curve, mint, outputs, sigs);
    const pending = await mint.prepareInputs([a]);
    await store.transaction((trx) => mint.commitInputs(trx, pending, 'job-1', 'pending'));
    const Yb = (await mint.prepareInputs([b])).Ys[0]!;
    const states = await mint.checkState([pending.Ys[0], Yb]);
    expect(states.map((s) => s.state)).toEqual(['PENDING', 'UNSPENT']);
    // A pending note cannot be swapped; settling makes it spent, releasing makes it spendable.
    expect(
      await codeOf(
        mint.swap(
          [a],
          outputsFor([2]).map((o) => o.message),
        ),
      ),
    ).toBe(11002);
    await store.transaction((trx) => mint.releasePending(trx, 'job-1'));
    expect((await mint.checkState([pending.Ys[0]]))[0]!.state).toBe('UNSPENT');
    await store.transaction((trx) => mint.commitInputs(trx, pending, 'job-2', 'pending'));
    expect(await store.transaction((trx) => mint.settlePending(trx, 'job-2'))).toBe(1);
    expect((await mint.checkState([pending.Ys[0]]))[0]!.state).toBe('SPENT');

    const restored = await mint.restore([
      ...outputs.map((o) => o.message),
      ...outputsFor([8]).map((o) => o.message),
    ]);
    expect(restored.signatures).toEqual(sigs);
    expect(restored.outputs).toEqual(outputs.map((o) => o.message));
  });

  it('keeps old keysets redeemable after rotation but never signs with them', async () => {
    const old = mint.keysets.current();
    const notes = await issue(curve, mint, [4]);
    // Twice: the keyset a rotation replaced still signs for a moment (ROTATION_OVERLAP_MS), older ones never.
    await mint.keysets.rotate();
    const fresh = await mint.keysets.rotate();
    expect(fresh.id).not.toBe(old.id);
    expect(mint.keysets.get(old.id).active).toBe(false);
    expect(
      await codeOf(
        mint.swap(
          notes,
          makeOutputs(curve, old.id, [4]).map((o) => o.message),
        ),
      ),
    ).toBe(12002);
    await expect(
      mint.swap(
        notes,
        makeOutputs(curve, fresh.id, [4]).map((o) => o.message),
      ),
    ).resolves.toHaveLength(1);
    // A second process sees the same keys from the same database.
    const again = await Mint.open({ store, unit: 'eur', curve });
    expect(again.keysets.current().id).toBe(fresh.id);
  });

  describe('key rotation with a grace period (docs/mint.md, "Key rotation")', () => {
    /** A mint on the same database with its own clock: another process, or a later moment. */
    const clock = { now: 1_000_000 };
    const at = () => Mint.open({ store, unit: 'eur', curve, clock: () => clock.now });

    it('redeems the old keyset during the grace period, then refuses its notes with 12003', async () => {
      const m = await at();
      const old = m.keysets.current();
      const [early, mid, late] = [
        await issue(curve, m, [4]),
        await issue(curve, m, [4]),
        await issue(curve, m, [4]),
      ];
      const fresh = await m.keysets.rotate({ graceMs: 3_600_000 });
      expect(m.keysets.retiresAt(old.id)).toBe(clock.now + 3_600_000);
      expect(m.keysets.retiresAt(fresh.id)).toBeUndefined();
      const to = (id: string) => makeOutputs(curve, id, [4]).map((o) => o.message);
      // For a moment the replaced keyset still signs a client's outputs (made from a stale list).
      expect((await m.swap(early, to(old.id))).map((sig) => sig.id)).toEqual([old.id]);
      // After it, during the grace: inputs accepted, outputs of the old keyset refused (12002).
      clock.now += ROTATION_OVERLAP_MS;
      expect(await codeOf(m.swap(mid, to(old.id)))).toBe(12002);
      await expect(m.swap(mid, to(fresh.id))).resolves.toHaveLength(1);
      clock.now += 3_600_000;
      const before = await snapshot(store);
      expect(await codeOf(m.swap(late, to(fresh.id)))).toBe(12003);
      expect(await codeOf(m.prepareInputs(late))).toBe(12003);
      // Outputs a gateway journaled on it are not signed either, once it is retired.
      expect(await codeOf(m.prepareOutputs(to(old.id), { signInactive: true }))).toBe(12003);
      expect(await snapshot(store)).toEqual(before);
    });

    it('another process on the database sees a rotation within a second and signs with the new keyset', async () => {
      const a = await at();
      const b = await at();
      const old = a.keysets.current();
      const notes = await issue(curve, a, [2, 2]);
      const fresh = await b.keysets.rotate({ graceMs: 60_000 });
      // Within the second, `a` still holds its last read; after it, the new keyset is the active one.
      clock.now += 1_000;
      await expect(
        a.swap(
          [notes[0]!],
          makeOutputs(curve, fresh.id, [2]).map((o) => o.message),
        ),
      ).resolves.toHaveLength(1);
      expect(a.keysets.current().id).toBe(fresh.id);
      clock.now += ROTATION_OVERLAP_MS;
      expect(
        await codeOf(
          a.swap(
            [notes[1]!],
            makeOutputs(curve, old.id, [2]).map((o) => o.message),
          ),
        ),
      ).toBe(12002);
    });

    it('notes of a keyset another process just made are taken at once (an unknown id reads the rows again)', async () => {
      const a = await at();
      const b = await at();
      await b.keysets.rotate({ graceMs: 60_000 });
      const fresh = await issue(curve, b, [4]);
      // Well within `a`'s one-second reload: the unknown id makes it read again (at most every 100 ms).
      clock.now += 100;
      const sigs = await a.swap(
        fresh,
        makeOutputs(curve, fresh[0]!.id, [4]).map((o) => o.message),
      );
      expect(sigs.map((s) => s.id)).toEqual([fresh[0]!.id]);
      // Made-up ids cost no read within those 100 ms: refused from what `a` holds.
      const bogus = `01${'ab'.repeat(32)}`;
      expect(
        await codeOf(
          a.swap(
            fresh.map((p) => ({ ...p, id: bogus })),
            [],
          ),
        ),
      ).toBe(12001);
    });

    it('a keyset retired by another process since the checks signs nothing (checked at commit)', async () => {
      const a = await at();
      const b = await at();
      const old = a.keysets.current();
      const prepared = await a.prepareOutputs(makeOutputs(curve, old.id, [8]).map((o) => o.message));
      await b.keysets.rotate({ graceMs: 0 });
      const before = await snapshot(store);
      expect(await codeOf(store.transaction((trx) => a.commitOutputs(trx, prepared, 'late')))).toBe(12003);
      expect(await snapshot(store)).toEqual(before);
    });
  });

  describe('refuses every bad request with a typed code and writes nothing', () => {
    const cases: [string, number, (notes: Proof[]) => [unknown, unknown]][] = [
      ['no inputs', 70006, () => [[], outputsFor([1]).map((o) => o.message)]],
      ['no outputs', 70006, (n) => [n, []]],
      ['inputs not an array', 70000, () => [{}, outputsFor([1]).map((o) => o.message)]],
      ['unbalanced', 11005, (n) => [n, outputsFor([1, 2]).map((o) => o.message)]],
      ['more outputs than inputs', 11005, (n) => [n, outputsFor([8, 8]).map((o) => o.message)]],
      ['duplicate inputs', 11007, (n) => [[n[0], n[0]], outputsFor([8, 8]).map((o) => o.message)]],
      [
        'duplicate outputs',
        11008,
        (n) => {
          const [o] = outputsFor([4]);
          return [n, [o!.message, o!.message, ...outputsFor([8]).map((x) => x.message)]];
        },
      ],
      [
        'forged signature',
        10001,
        (n) => [[{ ...n[0]!, C: n[1]!.C, amount: 8 }, n[1]], outputsFor([8, 8]).map((o) => o.message)],
      ],
      [
        'forged amount',
        10001,
        (n) => [[{ ...n[0]!, amount: 8 }, n[1]], outputsFor([8, 8]).map((o) => o.message)],
      ],
      ['not a denomination (3)', 70005, (n) => [n, [{ ...outputsFor([1])[0]!.message, amount: 3 }]]],
      ['zero amount', 70000, (n) => [n, [{ ...outputsFor([1])[0]!.message, amount: 0 }]]],
      ['negative amount', 70000, (n) => [n, [{ ...outputsFor([1])[0]!.message, amount: -4 }]]],
      ['fractional amount', 70000, (n) => [n, [{ ...outputsFor([1])[0]!.message, amount: 1.5 }]]],
      ['string amount', 70000, (n) => [n, [{ ...outputsFor([1])[0]!.message, amount: '12' }]]],
      ['2^64 amount', 70000, (n) => [n, [{ ...outputsFor([1])[0]!.message, amount: 2 ** 64 }]]],
      ['non-hex B_', 70000, (n) => [n, [{ ...outputsFor([12])[0]!.message, B_: `02${'zz'.repeat(32)}` }]]],
      [
        'B_ off the curve',
        70003,
        (n) => [
          n,
          [
            { ...outputsFor([4])[0]!.message, B_: `02${'ff'.repeat(32)}` },
            ...outputsFor([8]).map((o) => o.message),
          ],
        ],
      ],
      [
        'short C',
        70000,
        (n) => [[{ ...n[0]!, C: '02abcd' }, n[1]], outputsFor([4, 8]).map((o) => o.message)],
      ],
      [
        'unknown keyset',
        12001,
        (n) => [
          n,
          [
            { ...outputsFor([4])[0]!.message, id: '00ffffffffffffff' },
            ...outputsFor([8]).map((o) => o.message),
          ],
        ],
      ],
      [
        'malformed keyset id',
        70000,
        (n) => [[{ ...n[0]!, id: 'nothex' }, n[1]], outputsFor([4, 8]).map((o) => o.message)],
      ],
      [
        'malformed NUT-10 secret',
        70020,
        (n) => [
          [{ ...n[0]!, secret: '["P2PK",{"nonce":"00","data":"02"}]' }, n[1]],
          outputsFor([4, 8]).map((o) => o.message),
        ],
      ],
      [
        '1001 outputs',
        11015,
        (n) => [n, outputsFor(Array.from({ length: 1001 }, () => 1)).map((o) => o.message)],
      ],
    ];
    it.each(cases)('%s → %i', async (_name, code, build) => {
      const notes = await issue(curve, mint, [4, 8]);
      const before = await snapshot(store);
      const [ins, outs] = build(notes);
      expect(await codeOf(mint.swap(ins, outs))).toBe(code);
      expect(await snapshot(store)).toEqual(before);
    });

    it('an output signed before is never signed again → 11003', async () => {
      const notes = await issue(curve, mint, [4, 8]);
      const [used] = outputsFor([4]);
      await mint.swap([notes[0]], [used!.message]);
      const before = await snapshot(store);
      expect(
        await codeOf(mint.swap([notes[1]], [used!.message, ...outputsFor([4]).map((o) => o.message)])),
      ).toBe(11003);
      expect(await snapshot(store)).toEqual(before);
    });

    it('notes of another unit → 11013 / 11009', async () => {
      const eurNotes = await issue(curve, mint, [4]);
      const eurOut = () => outputsFor([4]).map((o) => o.message);
      // A second mint of another unit on the same database (a misconfigured deployment).
      const usd = await Mint.open({ store, unit: 'usd', curve });
      expect(await codeOf(usd.swap(eurNotes, eurOut()))).toBe(11013);
      await usd.keysets.rotate(); // now a usd keyset is the active one
      const usdNotes = await issue(curve, usd, [4]);
      await mint.keysets.reload();
      expect(await codeOf(mint.swap([...eurNotes, ...usdNotes], eurOut()))).toBe(11009);
    });
  });

  it('100 concurrent swaps of the same inputs: exactly one succeeds', async () => {
    const notes = await issue(curve, mint, [1, 2, 4]);
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () =>
        mint.swap(
          notes,
          outputsFor([1, 2, 4]).map((o) => o.message),
        ),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as LancashError).code] : []));
    expect(ok).toHaveLength(1);
    expect(codes).toHaveLength(99);
    expect(codes.every((c) => c === 11001 || c === 11002)).toBe(true);
    expect((await mint.totals()).spent).toBe(7);
  });

  it.runIf(dialect === 'postgres')('double spends are refused across two connection pools', async () => {
    const url = await freshDatabaseUrl('postgres');
    const storeA = await openStore({ dialect: 'postgres', url });
    const storeB = await openStore({ dialect: 'postgres', url });
    const pool = createCryptoPool({ size: 2 });
    try {
      const mintA = await Mint.open({ store: storeA, unit: 'eur', curve, crypto: pool });
      const mintB = await Mint.open({ store: storeB, unit: 'eur', curve, crypto: pool });
      expect(mintB.keysets.current().id).toBe(mintA.keysets.current().id);
      const notes = await issue(curve, mintA, [1, 2, 4]);
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) =>
          (i % 2 ? mintA : mintB).swap(
            notes,
            makeOutputs(curve, mintA.keysets.current().id, [1, 2, 4]).map((o) => o.message),
          ),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        results.every(
          (r) => r.status === 'fulfilled' || [11001, 11002].includes((r.reason as LancashError).code),
        ),
      ).toBe(true);
    } finally {
      await pool.close();
      await storeA.close();
      await storeB.close();
    }
  });

  it('property: random swaps, double spends and bad requests keep value, never re-sign, never re-spend', async () => {
    // The model: the wallet's unspent notes. Every accepted swap keeps their total; every refused
    // request changes nothing in the database.
    const notes0 = await issue(curve, mint, [1, 2, 4, 8, 16, 32]);
    let wallet: Proof[] = notes0;
    const spent: Proof[] = [];
    // One output signed up front: requests that reuse its B_ must always be refused.
    const usedOutputs = makeOutputs(curve, mint.keysets.current().id, [1]);
    const prepared = await mint.prepareOutputs(usedOutputs.map((o) => o.message));
    await store.transaction((trx) => mint.commitOutputs(trx, prepared, 'setup'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            kind: fc.constantFrom('swap', 'double-spend', 'resign', 'unbalanced', 'forged'),
            pick: fc.nat(),
            split: fc.boolean(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (ops) => {
          for (const op of ops) {
            const total = wallet.reduce((a, p) => a + p.amount, 0);
            const chosen = wallet.filter((_, i) => (op.pick >> i) & 1 || i === op.pick % wallet.length);
            const value = chosen.reduce((a, p) => a + p.amount, 0);
            const amounts = op.split ? splitAll(value) : [value].flatMap(splitAll);
            const before = await snapshot(store);
            if (op.kind === 'swap') {
              const outs = makeOutputs(curve, mint.keysets.current().id, amounts);
              const sigs = await mint.swap(
                chosen,
                outs.map((o) => o.message),
              );
              spent.push(...chosen);
              wallet = [...wallet.filter((p) => !chosen.includes(p)), ...toProofs(curve, mint, outs, sigs)];
              expect(wallet.reduce((a, p) => a + p.amount, 0)).toBe(total);
              continue;
            }
            let call: Promise<unknown>;
            if (op.kind === 'double-spend') {
              if (spent.length === 0) continue;
              const s = spent[op.pick % spent.length]!;
              call = mint.swap(
                [s],
                makeOutputs(curve, s.id, [s.amount]).map((o) => o.message),
              );
            } else if (op.kind === 'resign') {
              call = mint.swap(chosen, [
                usedOutputs[0]!.message,
                ...makeOutputs(curve, mint.keysets.current().id, splitAll(value - 1)).map((o) => o.message),
              ]);
            } else if (op.kind === 'unbalanced') {
              call = mint.swap(
                chosen,
                makeOutputs(curve, mint.keysets.current().id, splitAll(value + 1)).map((o) => o.message),
              );
            } else {
              call = mint.swap(
                [{ ...chosen[0]!, secret: `${chosen[0]!.secret}00` }],
                makeOutputs(curve, mint.keysets.current().id, [chosen[0]!.amount]).map((o) => o.message),
              );
            }
            const err = await call.then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(isLancashError(err)).toBe(true);
            expect(await snapshot(store)).toEqual(before);
          }
        },
      ),
      { numRuns: dialect === 'sqlite' ? 25 : 10 },
    );
    // Never signed a B_ twice: one row per signature ever returned; the spent set holds exactly the spent notes.
    const totals = await mint.totals();
    expect(totals.signed - totals.spent).toBe(wallet.reduce((a, p) => a + p.amount, 0) + 1);
  });
});

function splitAll(value: number): number[] {
  const out: number[] = [];
  for (let bit = 1; value > 0; bit *= 2) {
    if (value & bit) {
      out.push(bit);
      value -= bit;
    }
  }
  return out;
}
