/**
 * The gateway's long-term X25519 key pair (docs/design.md §3, §5): terminals seal job requests to it, the
 * gateway seals payments and notices from it, and it is the holder key of the gateway's reserve
 * account at the wide bank. Created on first start and kept in `settings`; the private half is never
 * logged (`toJSON` and `inspect` show the public key only).
 */
import { inspect } from 'node:util';
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hex } from '../core/bytes.js';
import { type EncryptionKeyPair, keyPairFromPrivate } from '../core/envelope/index.js';
import { getSetting, putSettingOnce } from '../mint/repository.js';
import { loadSecretSetting } from '../mint/secret-settings.js';
import type { Store } from '../store/index.js';

const ENCRYPTION_KEY = 'gateway.encryption-key';
/** The public half, kept in the clear so that the audit reads it without the secrets key. */
const PUBLIC_KEY = 'gateway.public-key';

export class GatewayKeys {
  private constructor(readonly encryption: EncryptionKeyPair) {}

  /** Loads the key pair from the database, creating it on a fresh one (first writer wins). */
  static async load(store: Store): Promise<GatewayKeys> {
    const stored = await loadSecretSetting(store, ENCRYPTION_KEY, () =>
      bytesToHex(x25519.utils.randomSecretKey()),
    );
    const keys = new GatewayKeys(await keyPairFromPrivate(hex(stored, ENCRYPTION_KEY, 32)));
    await putSettingOnce(store.db, PUBLIC_KEY, keys.publicKeyHex);
    return keys;
  }

  /** The stored key's public half (hex), or undefined on a database no gateway ran on; writes nothing (the audit). */
  static async publicKeyOf(store: Store): Promise<string | undefined> {
    const known = await getSetting(store.db, PUBLIC_KEY);
    if (known !== undefined) return known;
    // A database last run by a gateway from before the public row: its key is still in the clear.
    const stored = await getSetting(store.db, ENCRYPTION_KEY);
    return stored === undefined
      ? undefined
      : bytesToHex(x25519.getPublicKey(hex(stored, ENCRYPTION_KEY, 32)));
  }

  /** The public key as lowercase hex: the gateway's identity and its reserve account's holder key. */
  get publicKeyHex(): string {
    return bytesToHex(this.encryption.publicKey);
  }

  toJSON(): { encryptionKey: string } {
    return { encryptionKey: this.publicKeyHex };
  }

  [inspect.custom](): string {
    return `GatewayKeys ${JSON.stringify(this.toJSON())}`;
  }
}
