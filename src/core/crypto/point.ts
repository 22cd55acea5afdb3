/**
 * The checks on a point encoding that both curve backends share, so a malformed point fails the same
 * way (`InvalidPoint`, same argument, same reason) whichever backend is running.
 */
import { fail } from '../errors.js';

export const NOT_ON_CURVE = 'x is not the x-coordinate of a point on the curve';
export const AT_INFINITY = 'the result is the point at infinity';

/**
 * Why `P` cannot be a compressed point before the curve is consulted, or undefined. NUT-01 demands the
 * compressed form: 33 bytes with prefix 02 or 03 (uncompressed 04… and hybrid 06/07… are refused).
 */
export function encodingProblem(P: Uint8Array): string | undefined {
  if (!(P instanceof Uint8Array)) return 'not bytes';
  if (P.length !== 33) return `expected 33 bytes (compressed), got ${P.length}`;
  if (P[0] !== 0x02 && P[0] !== 0x03)
    return `expected prefix 02 or 03, got ${P[0]!.toString(16).padStart(2, '0')}`;
  return undefined;
}

export function invalidPoint(argument: string, reason: string): never {
  return fail('InvalidPoint', { argument, reason }, `${argument}: not a valid secp256k1 point (${reason})`);
}

/** Throws `InvalidPoint` naming `argument` when `P` fails the encoding checks. */
export function assertEncoding(P: Uint8Array, argument: string): void {
  const problem = encodingProblem(P);
  if (problem !== undefined) invalidPoint(argument, problem);
}
