/**
 * The gateway's long-term X25519 key pair (DESIGN §3, §5): terminals seal job requests to it, the
 * gateway seals payments and notices from it, and it is the holder key of the gateway's reserve
 * account at the wide bank. Created on first start and kept in `settings`; the private half is never
 * logged (`toJSON` and `inspect` show the public key only).
 */
import { inspect } from 'node:util';
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hex } from '../core/bytes.js';
import { type EncryptionKeyPair, keyPairFromPrivate } from '../core/envelope/index.js';
import { getSetting, putSettingOnce } from '../mint/repository.js';
import type { Store } from '../store/index.js';

const ENCRYPTION_KEY = 'gateway.encryption-key';

export class GatewayKeys {
  private constructor(readonly encryption: EncryptionKeyPair) {}

  /** Loads the key pair from the database, creating it on a fresh one (first writer wins). */
  static async load(store: Store): Promise<GatewayKeys> {
    const stored = await putSettingOnce(store.db, ENCRYPTION_KEY, bytesToHex(x25519.utils.randomSecretKey()));
    return new GatewayKeys(await keyPairFromPrivate(hex(stored, ENCRYPTION_KEY, 32)));
  }

  /** The stored key's public half (hex), or undefined on a database no gateway ran on; writes nothing (the audit). */
  static async publicKeyOf(store: Store): Promise<string | undefined> {
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
