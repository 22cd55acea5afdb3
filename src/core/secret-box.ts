/**
 * Secrets at rest (issue 8 item 7): the mint seeds and the servers' private keys are sealed in the
 * database with a key the operator supplies (`LANCASH_SECRETS_KEY` or `--secrets-key-file`), so a
 * copy of the database file or a backup alone gives nothing away.
 *
 * AES-256-GCM (NIST SP 800-38D) under a key derived with HKDF-SHA256 (RFC 5869) from the operator's
 * key material; a fresh random 96-bit nonce per value; the additional data is the value's purpose (the
 * settings row it belongs in), so a sealed value copied into another row does not open. Stored form:
 * `enc:v1:` ‖ base64url(nonce ‖ ciphertext ‖ tag). The key is held in a private field and never shown.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { fail } from './errors.js';

/** The versioned prefix of a sealed value; another version would get another prefix. */
export const SEALED_PREFIX = 'enc:v1:';
/** Key material shorter than this is refused: HKDF stretches nothing, so the material must be strong. */
export const MIN_KEY_MATERIAL_BYTES = 32;

const NONCE_BYTES = 12; // SP 800-38D §8.2: 96-bit nonces
const TAG_BYTES = 16;
const HKDF_SALT = 'lancash secrets at rest';
const HKDF_INFO = 'lancash settings AES-256-GCM v1';

/** True when `stored` is a sealed value (of any key). */
export function isSealed(stored: string): boolean {
  return stored.startsWith(SEALED_PREFIX);
}

export class SecretBox {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  /** A box keyed by the operator's material (at least 32 bytes, e.g. `openssl rand -base64 32`). */
  static fromMaterial(material: Uint8Array): SecretBox {
    if (material.length < MIN_KEY_MATERIAL_BYTES) {
      fail(
        'InvalidInput',
        {
          argument: 'secrets key',
          expected: `at least ${MIN_KEY_MATERIAL_BYTES} bytes`,
          received: `${material.length} bytes`,
        },
        `secrets key: expected at least ${MIN_KEY_MATERIAL_BYTES} bytes of key material`,
      );
    }
    return new SecretBox(Buffer.from(hkdfSync('sha256', material, HKDF_SALT, HKDF_INFO, 32)));
  }

  /** Seals `plaintext` for the row named `purpose`. */
  seal(purpose: string, plaintext: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** Opens a value `seal` made for `purpose`; `SecretsKeyWrong` when this key (or purpose) is not the one. */
  open(purpose: string, stored: string): string {
    const raw = isSealed(stored) ? Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64url') : undefined;
    if (raw !== undefined && raw.length >= NONCE_BYTES + TAG_BYTES) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, NONCE_BYTES), {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(Buffer.from(purpose, 'utf8'));
        decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
        const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // The tag does not verify: another key, another row's value, or altered bytes.
      }
    }
    return fail(
      'SecretsKeyWrong',
      { secret: purpose },
      `the secrets key does not open the secrets stored in this database (${purpose}): ` +
        'it is not the key they were sealed with (LANCASH_SECRETS_KEY or --secrets-key-file), or the stored value was altered',
    );
  }

  toJSON(): string {
    return 'SecretBox';
  }

  [inspect.custom](): string {
    return 'SecretBox';
  }
}
