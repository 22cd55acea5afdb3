/**
 * Secrets kept in the `settings` table (the mint seed, the gateway's and the bank's private keys),
 * sealed with the store's secrets key when the operator gave one (issue 8 item 7,
 * `core/secret-box.ts`). A row written before there was a key is sealed in place on the first start
 * with one; a sealed row refuses to load without the key (`SecretsKeyMissing`) or with another one
 * (`SecretsKeyWrong`), so a server never starts with keys it cannot read, nor makes new ones.
 */
import { fail } from '../core/errors.js';
import { isSealed } from '../core/secret-box.js';
import type { Store } from '../store/index.js';
import { getSetting, putSettingOnce, replaceSetting } from './repository.js';

/**
 * The plaintext of the secret `key`, creating it with `create()` on a fresh database (the first
 * writer wins across processes). Sealed at rest whenever the store has a secrets key.
 */
export async function loadSecretSetting(store: Store, key: string, create: () => string): Promise<string> {
  const box = store.secrets;
  let stored = await getSetting(store.db, key);
  if (stored === undefined) {
    const fresh = create();
    stored = await putSettingOnce(store.db, key, box === undefined ? fresh : box.seal(key, fresh));
  }
  if (isSealed(stored)) {
    if (box === undefined) {
      fail(
        'SecretsKeyMissing',
        { secret: key },
        `the secrets stored in this database are sealed (${key}): give the key they were sealed with ` +
          'in LANCASH_SECRETS_KEY or --secrets-key-file',
      );
    }
    return box.open(key, stored);
  }
  if (box !== undefined) {
    // A row from before the key: sealed in place. Conditional, since another process may seal it too
    // (with the same key, or the open below refuses); the old plaintext is overwritten, not freed.
    const plaintext = stored;
    const sealed = await store.overwriteSecurely((db) =>
      replaceSetting(db, key, plaintext, box.seal(key, plaintext)),
    );
    if (!sealed) return box.open(key, (await getSetting(store.db, key)) as string);
  }
  return stored;
}
