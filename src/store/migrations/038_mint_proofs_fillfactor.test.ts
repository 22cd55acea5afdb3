/**
 * Migration 038 on a mint written before it: on PostgreSQL `mint_proofs` keeps room on its pages, so
 * settling a held note on a page filled by later inserts stays on that page (a HOT update: no index
 * entry); on SQLite it changes nothing. Run twice, it is the same.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { settleProofs } from '../../mint/repository.js';
import { DIALECTS, type FreshDatabase, freshDatabase } from '../../test-support/dialects.js';
import { migratedUpTo } from '../../test-support/older-database.js';
import { openStore, type Store } from '../index.js';
import { MINT_PROOFS_FILLFACTOR, up } from './038_mint_proofs_fillfactor.js';

/** Held notes (pending, one operation each), with an `Y` and secret as long as real ones. */
const held = (from: number, n: number, now: number) =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      y: `02${i.toString(16).padStart(64, '0')}`,
      state: 'pending' as const,
      amount: 8,
      keyset_id: '00ad268c4d1f5826',
      secret: i.toString(16).padStart(64, 'a'),
      c: `03${i.toString(16).padStart(64, 'c')}`,
      witness: null,
      operation: `op-${i}`,
      created_at: now,
      updated_at: now,
    };
  });

describe.each(DIALECTS)('migration 038 on %s', (dialect) => {
  let fresh: FreshDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fresh?.drop();
  });

  it('keeps the notes written before it, and a settle on a page filled since stays on its page', async () => {
    fresh = await freshDatabase(dialect);
    const old = await migratedUpTo(fresh.config, '038_mint_proofs_fillfactor');
    await old
      .insertInto('mint_proofs')
      .values(held(0, 3, 1))
      .execute();
    await old.destroy();

    store = await openStore(fresh.config);
    const s = store;
    await up(s.db as never); // again: idempotent
    // The notes written before are there, unchanged.
    const before = await s.db.selectFrom('mint_proofs').select(['y', 'state']).orderBy('y').execute();
    expect(before).toEqual(held(0, 3, 1).map((r) => ({ y: r.y, state: 'pending' })));
    if (dialect !== 'postgres') return;

    const options = await sql<{ o: string[] | null }>`select reloptions as o from pg_class
      where relname = 'mint_proofs'`.execute(s.db);
    expect(options.rows[0]?.o).toContain(`fillfactor=${MINT_PROOFS_FILLFACTOR}`);

    // Fill pages after the old rows: more notes than one page holds (≈ 23 of these at 100 %, 12 at 50).
    await s.db
      .insertInto('mint_proofs')
      .values(held(3, 60, 2))
      .execute();
    const page = async (y: string) => {
      const r = await sql<{ page: string }>`select (ctid::text::point)[0] as page from mint_proofs
        where y = ${y}`.execute(s.db);
      return Number(r.rows[0]?.page);
    };
    // A note on the first page filled since the migration (the old rows' page, 0, was filled by the
    // new ones too, to the fill factor) and one further on.
    for (const i of [4, 40]) {
      const y = held(i, 1, 2)[0]!.y;
      const at = await page(y);
      const settled = await s.transaction((trx) => settleProofs(trx, 'postgres', `op-${i}`, 3, () => 0));
      expect(settled).toEqual([y]);
      // Without the room, page 0 would be full and the new version would go to the table's end.
      expect(await page(y)).toBe(at);
    }
  });
});
