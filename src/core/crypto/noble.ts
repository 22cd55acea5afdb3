/**
 * The reference curve backend on `@noble/curves` (audited, pure JavaScript, runs in the browser). The
 * wallet uses it; servers use it only when libsecp256k1 cannot load. Slow (~1.7 ms per arbitrary
 * point multiplication) but the yardstick the native backend is tested against.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Curve } from './curve.js';
import { AT_INFINITY, assertEncoding, encodingProblem, invalidPoint, NOT_ON_CURVE } from './point.js';
import { bytesToNumber, toScalar } from './scalar.js';

const { Point } = secp256k1;
type Point = InstanceType<typeof Point>;

function parse(P: Uint8Array, argument: string): Point {
  assertEncoding(P, argument);
  try {
    return Point.fromBytes(P);
  } catch {
    return invalidPoint(argument, NOT_ON_CURVE);
  }
}

function encode(R: Point, argument: string): Uint8Array {
  // Infinity has no SEC1 encoding; the Curve contract reports it as InvalidPoint.
  if (R.is0()) invalidPoint(argument, AT_INFINITY);
  return R.toBytes(true);
}

/** Encodings of both first, then the curve equation, in the order the native backend can check them. */
function parseTwo(P: Uint8Array, Q: Uint8Array): [Point, Point] {
  assertEncoding(P, 'P');
  assertEncoding(Q, 'Q');
  return [parse(P, 'P'), parse(Q, 'Q')];
}

const scalar = (k: Uint8Array): bigint => bytesToNumber(toScalar(k, 'k'));

export const nobleCurve: Curve = {
  name: 'noble',
  isPoint(P) {
    if (encodingProblem(P) !== undefined) return false;
    try {
      Point.fromBytes(P);
      return true;
    } catch {
      return false;
    }
  },
  mulG: (k) => encode(Point.BASE.multiply(scalar(k)), 'k·G'),
  mul(P, k) {
    // The scalar is checked before the point, in both backends, so errors agree.
    const s = scalar(k);
    return encode(parse(P, 'P').multiply(s), 'k·P');
  },
  add(P, Q) {
    const [p, q] = parseTwo(P, Q);
    return encode(p.add(q), 'P + Q');
  },
  sub(P, Q) {
    const [p, q] = parseTwo(P, Q);
    return encode(p.subtract(q), 'P - Q');
  },
  uncompressed: (P) => parse(P, 'P').toBytes(false),
};
