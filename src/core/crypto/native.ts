/**
 * The fast curve backend: libsecp256k1 through the `secp256k1` package's native binding (~50× noble
 * per scalar multiplication, docs/design.md §8), the mint's hot path. It implements the same `Curve` contract
 * as `noble.ts` and is tested against the same vectors and, property by property, against noble.
 */
import { createRequire } from 'node:module';
import type { Curve } from './curve.js';
import { AT_INFINITY, assertEncoding, encodingProblem, invalidPoint, NOT_ON_CURVE } from './point.js';
import { toScalar } from './scalar.js';

/** The part of the `secp256k1` package API this backend uses (the package ships no types). */
interface Secp256k1Binding {
  publicKeyVerify(P: Uint8Array): boolean;
  publicKeyCreate(k: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyTweakMul(P: Uint8Array, k: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyTweakAdd(P: Uint8Array, t: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCombine(Ps: Uint8Array[], compressed: boolean): Uint8Array;
  publicKeyNegate(P: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyConvert(P: Uint8Array, compressed: boolean): Uint8Array;
}

function build(lib: Secp256k1Binding): Curve {
  const valid = (P: Uint8Array): boolean => encodingProblem(P) === undefined && lib.publicKeyVerify(P);

  // The binding throws plain Errors; after the scalar and encodings passed, a throw can only mean a
  // point is off the curve or the result is infinity. Find which, to name it as noble does.
  function sum(P: Uint8Array, Q: Uint8Array, namedQ: Uint8Array, op: string): Uint8Array {
    try {
      return lib.publicKeyCombine([P, Q], true);
    } catch {
      if (!lib.publicKeyVerify(P)) invalidPoint('P', NOT_ON_CURVE);
      if (!lib.publicKeyVerify(namedQ)) invalidPoint('Q', NOT_ON_CURVE);
      return invalidPoint(op, AT_INFINITY);
    }
  }

  return {
    name: 'native',
    isPoint: valid,
    mulG(k) {
      // libsecp256k1 ec_pubkey_create: constant-time k·G; k in [1, n−1] never gives infinity.
      return lib.publicKeyCreate(toScalar(k, 'k'), true);
    },
    mul(P, k) {
      toScalar(k, 'k');
      assertEncoding(P, 'P');
      try {
        // ec_pubkey_tweak_mul uses the constant-time ecmult_const; a prime-order group and k ≠ 0
        // mean the product is never infinity.
        return lib.publicKeyTweakMul(P, k, true);
      } catch {
        return invalidPoint('P', NOT_ON_CURVE);
      }
    },
    add(P, Q) {
      assertEncoding(P, 'P');
      assertEncoding(Q, 'Q');
      return sum(P, Q, Q, 'P + Q');
    },
    sub(P, Q) {
      assertEncoding(P, 'P');
      assertEncoding(Q, 'Q');
      let negQ: Uint8Array;
      try {
        negQ = lib.publicKeyNegate(Q, true);
      } catch {
        // Name P first when both are bad, as noble parses P first.
        if (!lib.publicKeyVerify(P)) invalidPoint('P', NOT_ON_CURVE);
        return invalidPoint('Q', NOT_ON_CURVE);
      }
      return sum(P, negQ, Q, 'P - Q');
    },
    uncompressed(P) {
      assertEncoding(P, 'P');
      try {
        return lib.publicKeyConvert(P, false);
      } catch {
        return invalidPoint('P', NOT_ON_CURVE);
      }
    },
  };
}

let loaded: { curve: Curve | undefined } | undefined;

/** The libsecp256k1 backend, or undefined when the native binding cannot load on this machine. */
export function loadNativeCurve(): Curve | undefined {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      loaded = { curve: build(require('secp256k1/bindings') as Secp256k1Binding) };
    } catch {
      loaded = { curve: undefined };
    }
  }
  return loaded.curve;
}
