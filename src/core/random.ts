/**
 * Random bytes for keys, secrets and blinding factors, drawn from the platform's CSPRNG
 * (`crypto.getRandomValues`: Node's, or the browser's) a block at a time. A conversion draws ≈ 25
 * small values (each envelope's ephemeral X25519 key, each output's secret and blinding factor), and
 * on Node 20 one call to the CSPRNG costs ≈ 3 µs whatever its size up to a few hundred bytes, most of
 * it the call itself (OpenSSL's DRBG lock, a new buffer): one call per block and a copy per draw cost
 * ≈ 0.2 µs a draw. Node pools `randomUUID`'s bytes the same way.
 *
 * Each byte of the block is handed out once: a draw is a copy, and the block's bytes are zeroed as
 * they are handed out, so the block never holds a value already in use (a heap dump shows only bytes
 * not yet drawn, as the CSPRNG's own state would let them be computed). A large draw bypasses the block.
 * Every thread (the crypto pool's workers) has its own block, as each loads this module anew.
 */
import { fail } from './errors.js';

/** Bytes refilled at once: 32 draws of 32 bytes. */
export const RANDOM_BLOCK_BYTES = 1024;
/** `getRandomValues` fills at most 65 536 bytes a call (WebCrypto). */
const GET_RANDOM_VALUES_MAX = 65_536;

/** Fills `bytes` from a CSPRNG, as `crypto.getRandomValues` does. */
export type FillRandom = (bytes: Uint8Array<ArrayBuffer>) => void;

const platformFill: FillRandom = (bytes) => {
  for (let at = 0; at < bytes.length; at += GET_RANDOM_VALUES_MAX) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(bytes.length, at + GET_RANDOM_VALUES_MAX)));
  }
};

/**
 * A source of `n` random bytes at a time over `fill`, refilled `blockBytes` at a time (exported for
 * tests, which count the fills; the process uses `randomBytes`).
 */
export function pooledRandom(fill: FillRandom, blockBytes = RANDOM_BLOCK_BYTES): (n: number) => Uint8Array {
  const block = new Uint8Array(blockBytes);
  // Nothing drawn yet: the first draw fills the block.
  let at = blockBytes;
  // Larger draws go to the CSPRNG directly, so a refill serves a few draws at least.
  const largest = Math.floor(blockBytes / 4);
  return (n) => {
    if (!Number.isSafeInteger(n) || n < 0) {
      const reason = `random bytes: expected a byte count, got ${String(n)}`;
      fail('Internal', { reason }, reason);
    }
    if (n > largest) {
      const out = new Uint8Array(n);
      fill(out);
      return out;
    }
    if (at + n > blockBytes) {
      // The rest of the old block was never handed out; it is overwritten with the new one.
      fill(block);
      at = 0;
    }
    const out = block.slice(at, at + n);
    block.fill(0, at, at + n);
    at += n;
    return out;
  };
}

/** `n` random bytes from the platform's CSPRNG (see the file comment); a fresh array each call. */
export const randomBytes: (n: number) => Uint8Array = pooledRandom(platformFill);
