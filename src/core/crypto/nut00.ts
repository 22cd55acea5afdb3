/**
 * Blind Diffie–Hellman key exchange, NUT-00: how a wallet blinds a secret, how the mint signs the
 * blinded message, how the wallet unblinds the signature and how the mint checks a note. Every point
 * operation goes through a `Curve`, so the same code runs on noble (browser) and libsecp256k1 (mint).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, hex, utf8 } from '../bytes.js';
import { fail } from '../errors.js';
import type { Curve } from './curve.js';
import { encodingProblem, invalidPoint, NOT_ON_CURVE } from './point.js';

const DOMAIN_SEPARATOR = utf8('Secp256k1_HashToCurve_Cashu_');
const MAX_COUNTER = 2 ** 16;

/**
 * Y = hash_to_curve(x), NUT-00: msg_hash = SHA256(DST ‖ x); the first counter (uint32 little-endian)
 * for which 02 ‖ SHA256(msg_hash ‖ counter) is a point gives Y. Deterministic, so Y is a note's identity.
 */
export function hashToCurve(curve: Curve, secret: Uint8Array): Uint8Array {
  const msgHash = sha256(concatBytes(DOMAIN_SEPARATOR, secret));
  const candidate = new Uint8Array(33);
  candidate[0] = 0x02;
  const input = new Uint8Array(36);
  input.set(msgHash, 0);
  const view = new DataView(input.buffer);
  for (let counter = 0; counter < MAX_COUNTER; counter++) {
    view.setUint32(32, counter, true);
    candidate.set(sha256(input), 1);
    if (curve.isPoint(candidate)) return candidate;
  }
  // About half of all x are on the curve; 2^16 misses in a row do not happen.
  return fail('Internal', { reason: 'hash_to_curve found no point' }, 'hashToCurve: no point in 2^16 tries');
}

/** NUT-00 wallet step: Y = hash_to_curve(secret), B_ = Y + r·G. */
export function blindMessage(
  curve: Curve,
  secret: Uint8Array,
  r: Uint8Array,
): { Y: Uint8Array; B_: Uint8Array } {
  const Y = hashToCurve(curve, secret);
  return { Y, B_: curve.add(Y, curve.mulG(r)) };
}

/** NUT-00 mint step: C_ = k·B_. */
export function signBlinded(curve: Curve, k: Uint8Array, B_: Uint8Array): Uint8Array {
  return curve.mul(B_, k);
}

/** NUT-00 wallet step: C = C_ − r·K (K = k·G, the mint's public key for the amount). */
export function unblind(curve: Curve, C_: Uint8Array, r: Uint8Array, K: Uint8Array): Uint8Array {
  return curve.sub(C_, curve.mul(K, r));
}

/** NUT-00 mint check of a note: C == k·Y, compared in constant time over the compressed encodings. */
export function verifySignature(curve: Curve, k: Uint8Array, Y: Uint8Array, C: Uint8Array): boolean {
  return equalBytes(curve.mul(Y, k), C);
}

/** Decodes a hex point from untrusted input: `InvalidHex` or `InvalidPoint` naming `argument`. */
export function pointFromHex(curve: Curve, value: unknown, argument: string): Uint8Array {
  const P = hex(value, argument, 33);
  const problem = encodingProblem(P);
  if (problem !== undefined) invalidPoint(argument, problem);
  if (!curve.isPoint(P)) invalidPoint(argument, NOT_ON_CURVE);
  return P;
}
