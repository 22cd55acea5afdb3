import type { Store } from '../store/index.js';

/** Row counts of the mint's value tables: a refused request must leave them as they were. */
export async function mintRowCounts(store: Store): Promise<{ proofs: number; signatures: number }> {
  const count = async (t: 'mint_proofs' | 'mint_signatures') =>
    Number(
      (
        await store.db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { proofs: await count('mint_proofs'), signatures: await count('mint_signatures') };
}
