/**
 * Secret settings on each dialect: plaintext without a key (as before), sealed from the start with
 * one, plaintext rows sealed in place on the first start with a key (same value, and the mint's
 * keysets stay the same), refused without the key or with another one.
 */
import { describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import { isLancashError } from '../core/errors.js';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';
import { Keysets } from './keysets.js';
import { getSetting } from './repository.js';
import { loadSecretSetting } from './secret-settings.js';

const KEY = Buffer.from('an operator key of at least 32 bytes, for tests only');
const WRONG = Buffer.from('another operator key, also at least 32 bytes long');

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isLancashError(err, 'SecretsKeyMissing') || isLancashError(err, 'SecretsKeyWrong')) return err.kind;
    throw err;
  }
  throw new Error('loaded');
}

describe.each(DIALECTS)('secret settings on %s', (dialect) => {
  it('seals plaintext in place with a key, keeps the value, refuses a wrong key or none', async () => {
    const plain = await freshStore(dialect);
    const sealedStores: Store[] = [];
    const withKey = async (secretsKey: Buffer) => {
      const s = await openStore({ ...plain.config, secretsKey });
      sealedStores.push(s);
      return s;
    };
    try {
      const curve = defaultCurve();
      const value = await loadSecretSetting(plain, 'test.secret', () => 'cd'.repeat(32));
      expect(await getSetting(plain.db, 'test.secret')).toBe(value);
      const keysets = await Keysets.open(plain, curve, { unit: 'eur', maxOrder: 4 });
      const ids = keysets.all().map((k) => k.id);

      const sealed = await withKey(KEY);
      expect(await loadSecretSetting(sealed, 'test.secret', () => 'never used')).toBe(value);
      const stored = (await getSetting(plain.db, 'test.secret'))!;
      expect(stored).toMatch(/^enc:v1:/);
      expect(stored).not.toContain(value);
      // The mint seed too: the same keysets come back from the sealed seed.
      expect(
        (await Keysets.open(sealed, curve, { unit: 'eur', maxOrder: 4 })).all().map((k) => k.id),
      ).toEqual(ids);
      expect(await getSetting(plain.db, 'mint.seed')).toMatch(/^enc:v1:/);
      // Loading again with the key reads the sealed row as it is.
      expect(await loadSecretSetting(sealed, 'test.secret', () => 'never used')).toBe(value);
      expect(await getSetting(plain.db, 'test.secret')).toBe(stored);

      expect(await refusal(loadSecretSetting(plain, 'test.secret', () => 'x'))).toBe('SecretsKeyMissing');
      expect(await refusal(Keysets.open(plain, curve, { unit: 'eur' }))).toBe('SecretsKeyMissing');
      const wrong = await withKey(WRONG);
      expect(await refusal(loadSecretSetting(wrong, 'test.secret', () => 'x'))).toBe('SecretsKeyWrong');
      expect(await getSetting(plain.db, 'test.secret')).toBe(stored); // a refusal writes nothing
    } finally {
      for (const s of sealedStores) await s.close();
      await plain.close();
    }
  });

  it('a fresh database with a key stores the secret sealed from the first write', async () => {
    const plain = await freshStore(dialect);
    const sealed = await openStore({ ...plain.config, secretsKey: KEY });
    try {
      const value = await loadSecretSetting(sealed, 'test.fresh', () => 'ef'.repeat(32));
      expect(value).toBe('ef'.repeat(32));
      expect(await getSetting(plain.db, 'test.fresh')).toMatch(/^enc:v1:/);
    } finally {
      await sealed.close();
      await plain.close();
    }
  });
});
