/**
 * The public face of lancash's crypto: the curve backends and their choice, scalars, BDHKE (NUT-00),
 * keyset ids and keys (NUT-01/02), DLEQ proofs (NUT-12), deterministic secrets (NUT-13) and mint
 * keyset derivation. Import from here, not from the files behind it.
 *
 * Node only, because of `defaultCurve` and `loadNativeCurve` (the libsecp256k1 binding, loaded
 * through `node:module`): servers and the CLI import this face. Portable code (the wallet core, a
 * browser UI) imports `noble.ts` and the `nut*.ts` files directly and is handed its curve; none of
 * them reaches the native backend.
 */
export { defaultCurve } from './backend.js';
export type { Curve } from './curve.js';
export { type DeriveKeysetOptions, deriveKeyset, type MintKeyset } from './keyset.js';
export { loadNativeCurve } from './native.js';
export { nobleCurve } from './noble.js';
export { blindMessage, hashToCurve, pointFromHex, signBlinded, unblind, verifySignature } from './nut00.js';
export { keysetIdV1, keysetIdV2, parseKeys } from './nut02.js';
export { createDleq, hashE, verifyDleq, verifyProofDleq } from './nut12.js';
export {
  type DeterministicSecret,
  deriveSecret,
  deriveSecretV1,
  deriveSecretV2,
  keysetIdInt,
} from './nut13.js';
export { bytesToNumber, N, numberToBytes32, randomScalar, toScalar } from './scalar.js';
