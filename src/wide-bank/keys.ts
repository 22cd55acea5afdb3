/**
 * The wide bank's long-term keys (docs/design.md §3, §4): an X25519 encryption key pair (holders seal requests
 * to it; answers are sealed from it) and an Ed25519 key that signs receipts. Created on first start and
 * kept in the `settings` table (sealed when the operator gave a secrets key, `mint/secret-settings.ts`),
 * first writer wins, so every process on one database uses the same keys.
 * The private halves are never logged: `toJSON` and `inspect` show the public keys only.
 */
import { inspect } from 'node:util';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hex } from '../core/bytes.js';
import { type EncryptionKeyPair, keyPairFromPrivate } from '../core/envelope/index.js';
import {
  type Receipt,
  type ReceiptFields,
  type ReserveReceipt,
  type ReserveReceiptFields,
  signReceipt,
  signReserveReceipt,
} from '../core/protocol/bank.js';
import { loadSecretSetting } from '../mint/secret-settings.js';
import type { Store } from '../store/index.js';

const ENCRYPTION_KEY = 'wide-bank.encryption-key';
const RECEIPT_KEY = 'wide-bank.receipt-key';

export class BankKeys {
  private constructor(
    /** For `seal` / `open`. */
    readonly encryption: EncryptionKeyPair,
    private readonly receiptSecret: Uint8Array,
    /** Ed25519 public key that verifies receipts. */
    readonly receiptKey: Uint8Array,
  ) {}

  /** Loads the keys from the database, creating them on a fresh one. */
  static async load(store: Store): Promise<BankKeys> {
    const encHex = await loadSecretSetting(store, ENCRYPTION_KEY, () =>
      bytesToHex(x25519.utils.randomSecretKey()),
    );
    const sigHex = await loadSecretSetting(store, RECEIPT_KEY, () =>
      bytesToHex(ed25519.utils.randomSecretKey()),
    );
    const encryption = await keyPairFromPrivate(hex(encHex, ENCRYPTION_KEY, 32));
    const secret = hex(sigHex, RECEIPT_KEY, 32);
    return new BankKeys(encryption, secret, ed25519.getPublicKey(secret));
  }

  get encryptionKeyHex(): string {
    return bytesToHex(this.encryption.publicKey);
  }

  get receiptKeyHex(): string {
    return bytesToHex(this.receiptKey);
  }

  /** Signs a receipt with the receipt key. */
  signReceipt(fields: ReceiptFields): Receipt {
    return signReceipt(fields, this.receiptSecret);
  }

  /** Signs a reserve receipt (deposit claim, withdrawal) with the receipt key. */
  signReserveReceipt(fields: ReserveReceiptFields): ReserveReceipt {
    return signReserveReceipt(fields, this.receiptSecret);
  }

  toJSON(): { encryptionKey: string; receiptKey: string } {
    return { encryptionKey: this.encryptionKeyHex, receiptKey: this.receiptKeyHex };
  }

  [inspect.custom](): string {
    return `BankKeys ${JSON.stringify(this.toJSON())}`;
  }
}
