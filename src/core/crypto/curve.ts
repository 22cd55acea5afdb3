/**
 * The small interface both secp256k1 backends implement: `@noble/curves` (reference, portable, used in
 * the browser) and libsecp256k1 through the `secp256k1` package (the servers' hot path, ~50× faster
 * per scalar multiplication). Points travel as 33-byte compressed encodings, scalars as 32-byte
 * big-endian. Every method rejects malformed input and the point at infinity with `InvalidPoint` /
 * `InvalidScalar`; the NUT-00/NUT-12 code above this interface never sees an invalid point.
 */
export interface Curve {
  readonly name: 'noble' | 'native';
  /** True when `p` is the compressed encoding of a point on the curve (not infinity). */
  isPoint(p: Uint8Array): boolean;
  /** k·G. */
  mulG(k: Uint8Array): Uint8Array;
  /** k·P. */
  mul(P: Uint8Array, k: Uint8Array): Uint8Array;
  /** P + Q (throws `InvalidPoint` when the sum is infinity). */
  add(P: Uint8Array, Q: Uint8Array): Uint8Array;
  /** P − Q (throws `InvalidPoint` when the difference is infinity). */
  sub(P: Uint8Array, Q: Uint8Array): Uint8Array;
  /** The 65-byte uncompressed encoding of P (NUT-12 hashes points in this form). */
  uncompressed(P: Uint8Array): Uint8Array;
}
