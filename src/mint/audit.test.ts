/**
 * The mint's row checks with a sealed seed, on each dialect: without the secrets key the keysets and
 * signatures are listed as not checked (and nothing is written: the seed stays sealed as it was); with
 * it, a changed fee is named. Notes come from a real mint on the same database.
 */
import { describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import { isSealed } from '../core/secret-box.js';
import { openStore } from '../store/index.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';
import { issue } from '../test-support/notes.js';
import { mintIntegrity } from './audit.js';
import { Mint } from './mint.js';
import { getSetting } from './repository.js';

const KEY = Buffer.from('an operator key of at least 32 bytes, for tests only');
const anyPending = { mayHoldPending: () => true };

describe.each(DIALECTS)('mint row checks on %s', (dialect) => {
  it('a sealed seed: not checked without the key, checked with it', async () => {
    const plain = await freshStore(dialect);
    const sealed = await openStore({ ...plain.config, secretsKey: KEY });
    try {
      const mint = await Mint.open({ store: sealed, unit: 'eur', curve: defaultCurve() });
      await issue(defaultCurve(), mint, [1, 2, 4]);
      const before = await getSetting(plain.db, 'mint.seed');
      expect(isSealed(before!)).toBe(true);

      const blind = await mintIntegrity(plain, anyPending);
      expect(blind.differences).toEqual([]);
      expect(blind.notChecked.join(' ')).toMatch(/sealed/);
      expect(await getSetting(plain.db, 'mint.seed')).toBe(before);

      const id = mint.keysets.current().id;
      await plain.db.updateTable('mint_keysets').set({ input_fee_ppk: 7 }).where('id', '=', id).execute();
      expect((await mintIntegrity(plain, anyPending)).differences).toEqual([]);
      const seen = await mintIntegrity(sealed, anyPending);
      expect(seen.notChecked).toEqual([]);
      expect(seen.differences).toEqual([
        expect.objectContaining({ expected: 0, actual: 7, rows: [`mint_keysets:${id}`] }),
      ]);
    } finally {
      await sealed.close();
      await plain.close();
    }
  });
});
