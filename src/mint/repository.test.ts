/**
 * The mint's batch statements on each dialect: a batch of any size is inserted and read back exactly
 * (secrets and witnesses are the wallet's arbitrary text, which PostgreSQL receives inside array
 * parameters), a held key makes the insert answer fewer rows, and on PostgreSQL every batch size runs
 * one statement text, so each connection prepares and plans a handful of texts, not one per size.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, freshDatabaseUrl, freshStore } from '../test-support/dialects.js';
import * as repo from './repository.js';

/** Texts a careless array literal would break: quotes, backslashes, commas, braces, the word NULL. */
const AWKWARD = ['say "hi"', 'back\\slash\\', 'a,b', '{x}', 'NULL', '', ' spaced ', 'ünïcødé ✓'];

const proof = (i: number, secret: string, witness: string | null = null): repo.NewProof => ({
  y: `02${i.toString(16).padStart(64, '0')}`,
  amount: 2 ** (i % 10),
  keyset_id: '00aabbccddeeff00',
  secret,
  c: `03${i.toString(16).padStart(64, '0')}`,
  witness,
});

const signature = (i: number): repo.NewSignature => ({
  b_: `02${i.toString(16).padStart(64, '0')}`,
  amount: 2 ** (i % 10),
  keyset_id: '00aabbccddeeff00',
  c_: `03${i.toString(16).padStart(64, '0')}`,
  dleq_e: 'e'.repeat(64),
  dleq_s: 's'.repeat(64),
});

describe.each(DIALECTS)('mint repository batches on %s', (dialect) => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  /** The test's store, closed after it. */
  const kept = (s: Store): Store => {
    store = s;
    return s;
  };
  const batch = (operation: string): repo.ProofBatch => ({
    state: 'spent',
    operation,
    created_at: 1,
    updated_at: 1,
  });

  it('inserts a batch and reads it back exactly, awkward secrets and witnesses included', async () => {
    const s = kept(await freshStore(dialect));
    const rows = AWKWARD.map((t, i) => proof(i, t, i % 2 === 0 ? null : `{"signatures":["${t}"]}`));
    expect(await repo.insertProofs(s.db, dialect, rows, batch('op-1'))).toBe(rows.length);
    const back = await s.db
      .selectFrom('mint_proofs')
      .select(['y', 'amount', 'keyset_id', 'secret', 'c', 'witness', 'state', 'operation'])
      .orderBy('y')
      .execute();
    expect(back.map((r) => ({ ...r, amount: Number(r.amount) }))).toEqual(
      rows.map((r) => ({ ...r, state: 'spent', operation: 'op-1' })),
    );
    const states = await repo.proofStates(
      s.db,
      dialect,
      rows.map((r) => r.y),
    );
    expect(states.map((h) => [h.y, h.witness]).sort()).toEqual(rows.map((r) => [r.y, r.witness]).sort());
    expect(await repo.runningTotals(s.db)).toMatchObject({ spent: rows.reduce((v, r) => v + r.amount, 0) });
  });

  it('answers fewer rows when a key is held, and reads only the keys asked for', async () => {
    const s = kept(await freshStore(dialect));
    await repo.insertProofs(s.db, dialect, [proof(1, 'a'), proof(2, 'b')], batch('op-1'));
    const again = [proof(2, 'b'), proof(3, 'c')];
    expect(await repo.insertProofs(s.db, dialect, again, batch('op-2'))).toBe(1);
    expect(await repo.proofStates(s.db, dialect, [])).toEqual([]);
    const held = await repo.proofStates(s.db, dialect, [proof(2, '').y, proof(9, '').y]);
    expect(held.map((h) => [h.y, h.operation])).toEqual([[proof(2, '').y, 'op-1']]);
  });

  it('takes a batch larger than one statement of rows (1 200 notes, 1 200 signatures)', async () => {
    const s = kept(await freshStore(dialect));
    const rows = Array.from({ length: 1200 }, (_, i) => proof(i, `secret ${i}`));
    expect(await repo.insertProofs(s.db, dialect, rows, batch('op-big'))).toBe(1200);
    const states = await repo.proofStates(
      s.db,
      dialect,
      rows.map((r) => r.y),
    );
    expect(states).toHaveLength(1200);
    const sigs = Array.from({ length: 1200 }, (_, i) => signature(i));
    const r = await repo.insertSignatures(
      s.db,
      dialect,
      sigs,
      { operation: 'op-big', created_at: 1 },
      { keysets: ['00aabbccddeeff00'], now: 1 },
    );
    expect(r).toEqual({ inserted: 1200 });
    const signed = await repo.signaturesFor(
      s.db,
      dialect,
      sigs.map((x) => x.b_),
    );
    expect(signed.map((x) => x.b_).sort()).toEqual(sigs.map((x) => x.b_).sort());
  });

  it.runIf(dialect === 'postgres')('runs every batch size as one statement text', async () => {
    // One connection, so pg_prepared_statements lists every text the store prepared.
    const s = kept(
      await openStore({
        dialect: 'postgres',
        url: await freshDatabaseUrl(dialect),
        poolSize: 1,
      }),
    );
    let i = 0;
    for (const size of [1, 2, 3, 5, 8, 1, 2, 3, 5, 8]) {
      const rows = Array.from({ length: size }, () => proof(i++, 's'));
      await s.db.transaction().execute(async (trx) => {
        expect(await repo.insertProofs(trx, dialect, rows, batch(`op-${i}`))).toBe(size);
        expect(
          await repo.proofStates(
            trx,
            dialect,
            rows.map((r) => r.y),
          ),
        ).toHaveLength(size);
      });
    }
    const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
      s.db,
    );
    const texts = (table: string) => rows.filter((r) => r.statement.includes(`"${table}"`)).length;
    expect(texts('mint_proofs')).toBe(2); // the insert and the states' select
  });

  it.runIf(dialect === 'postgres')('plans a lookup by keys once, not on every run', async () => {
    const s = kept(
      await openStore({ dialect: 'postgres', url: await freshDatabaseUrl(dialect), poolSize: 1 }),
    );
    // A book of some size, analyzed: on a near-empty table every plan costs the same.
    const book = Array.from({ length: 2000 }, (_, i) => proof(i, 's'));
    await repo.insertProofs(s.db, dialect, book, batch('op-1'));
    await sql`analyze mint_proofs`.execute(s.db);
    const Ys = [1, 2, 3, 4].map((i) => proof(i, '').y);
    for (let i = 0; i < 12; i++) expect(await repo.proofStates(s.db, dialect, Ys)).toHaveLength(4);
    const { rows } = await sql<{ generic: string; custom: string }>`
      select generic_plans as generic, custom_plans as custom from pg_prepared_statements
       where statement like '%from "mint_proofs" where "y" = k.key%'`.execute(s.db);
    // Named from its second run: five custom plans, then the generic one for the other six.
    expect(rows.map((r) => [Number(r.generic), Number(r.custom)])).toEqual([[6, 5]]);
  });

  it.runIf(dialect === 'postgres')(
    'a lookup by keys planned on a new, empty table probes the index once the table has grown',
    async () => {
      const s = kept(
        await openStore({ dialect: 'postgres', url: await freshDatabaseUrl(dialect), poolSize: 1 }),
      );
      const Ys = [1, 2, 3, 4].map((i) => proof(i, '').y);
      const B_s = [1, 2, 3, 4].map((i) => signature(i).b_);
      // The generic plans are made here, on tables of a few rows (a fresh mint's first requests):
      // `key = any($1)` kept a sequential scan from such a start.
      const few = Array.from({ length: 10 }, (_, i) => 100_000 + i);
      await repo.insertProofs(
        s.db,
        dialect,
        few.map((i) => proof(i, 's')),
        batch('op-0'),
      );
      await s.db.transaction().execute((trx) =>
        repo.insertSignatures(
          trx,
          dialect,
          few.map(signature),
          { operation: 'op-0', created_at: 1 },
          {
            keysets: [],
            now: 1,
          },
        ),
      );
      for (let i = 0; i < 12; i++) {
        expect(await repo.proofStates(s.db, dialect, Ys)).toEqual([]);
        expect(await repo.signaturesFor(s.db, dialect, B_s)).toEqual([]);
      }
      await repo.insertProofs(
        s.db,
        dialect,
        Array.from({ length: 3000 }, (_, i) => proof(i, 's')),
        batch('op-1'),
      );
      const { rows } = await sql<{ name: string; table: string }>`
        select name, case when statement like '%"mint_proofs"%' then 'mint_proofs' else 'mint_signatures' end as table
          from pg_prepared_statements where statement like '%where "%" = k.key%' order by 2`.execute(s.db);
      expect(rows.map((r) => r.table)).toEqual(['mint_proofs', 'mint_signatures']);
      for (const { name } of rows) {
        // The kept plan, as the next run would use it (the same connection: a pool of one).
        // (EXPLAIN takes no bound parameters: the keys are hex, written in the text.)
        const plan = await sql<{ 'QUERY PLAN': string }>`${sql.raw(
          `explain (costs off) execute ${name}('{${Ys.join(',')}}')`,
        )}`.execute(s.db);
        const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
        expect(text).toMatch(/Index Scan using mint_\w+_pkey/);
        expect(text).not.toMatch(/Seq Scan/);
      }
      expect(await repo.proofStates(s.db, dialect, [...Ys, Ys[0]!])).toHaveLength(4);
    },
  );
});
