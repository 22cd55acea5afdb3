/**
 * What the server commands do first to keep their data private (issue 8 item 7): files they create
 * are their user's only (umask 077); a data directory is made 0700, and one that others can read is
 * refused with the `chmod` that fixes it, since its files hold mint seeds, private keys and blinding
 * factors; and the operator's secrets key is read from `LANCASH_SECRETS_KEY` or `--secrets-key-file`.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.js';
import { usage } from './usage.js';

/** The same bound as `MIN_KEY_MATERIAL_BYTES` of `core/secret-box.ts` (not imported: the CLI loads it lazily). */
const MIN_KEY_BYTES = 32;

/** From here on, every file and directory this process creates is its user's only. */
export function privateUmask(): void {
  process.umask(0o077);
}

const quote = (path: string) => `'${path.replaceAll("'", `'\\''`)}'`;

/**
 * Creates `dir` 0700, or checks an existing one: refused (`DataDirectoryExposed`) when its group or
 * others have any access. Refused rather than fixed: someone chose those modes, perhaps to let
 * another account read the data, and the operator should learn of it. Files inside a private
 * directory that are open to others (left by an older lancash) are set 0600.
 */
export function privateDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    const fix = `chmod -R go-rwx ${quote(dir)}`;
    fail(
      'DataDirectoryExposed',
      { path: dir, mode: mode.toString(8).padStart(4, '0'), fix },
      `the data directory ${dir} is open to other users (mode ${mode.toString(8).padStart(4, '0')}), ` +
        `and it holds mint seeds and private keys: make it private with \`${fix}\` and start again`,
    );
  }
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    const st = statSync(file);
    if (st.isFile() && (st.mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

/**
 * The operator's secrets key material: `--secrets-key-file FILE` (the file's contents without a
 * trailing newline; the file must be its owner's only) or `LANCASH_SECRETS_KEY`; undefined when
 * neither is given. Never printed.
 */
export function secretsKeyMaterial(file: string | undefined): Uint8Array | undefined {
  const env = process.env.LANCASH_SECRETS_KEY;
  if (file !== undefined && env !== undefined && env !== '')
    usage('give the secrets key once: LANCASH_SECRETS_KEY or --secrets-key-file, not both');
  let material: Buffer;
  let source: string;
  if (file !== undefined) {
    source = '--secrets-key-file';
    if (!existsSync(file)) usage(`--secrets-key-file: no file ${quote(file)}`);
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0)
      usage(
        `--secrets-key-file: ${file} is open to other users (mode ${mode.toString(8).padStart(4, '0')}): run \`chmod 600 ${quote(file)}\``,
      );
    material = readFileSync(file);
    // A trailing newline (echo, an editor) is not key material.
    let end = material.length;
    while (end > 0 && (material[end - 1] === 0x0a || material[end - 1] === 0x0d)) end--;
    material = material.subarray(0, end);
  } else if (env !== undefined && env !== '') {
    source = 'LANCASH_SECRETS_KEY';
    material = Buffer.from(env, 'utf8');
  } else {
    return undefined;
  }
  if (material.length < MIN_KEY_BYTES)
    usage(
      `${source}: the secrets key must be at least ${MIN_KEY_BYTES} bytes (got ${material.length}); make one with \`openssl rand -base64 32\``,
    );
  return material;
}
