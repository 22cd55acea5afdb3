/**
 * The fast curve backend: libsecp256k1 through the `secp256k1` package's native binding (~50× noble
 * per scalar multiplication, docs/design.md §8), the mint's hot path. It implements the same `Curve` contract
 * as `noble.ts` and is tested against the same vectors and, property by property, against noble.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
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

/**
 * The package's compiled addon under its JavaScript wrapper: each call writes into `output` and
 * answers 0, or the number of the step that failed. It parses points by their length and refuses a
 * scalar that is not 32 bytes itself.
 */
interface Secp256k1Addon {
  publicKeyVerify(P: Uint8Array): number;
  publicKeyCreate(output: Uint8Array, k: Uint8Array): number;
  publicKeyTweakMul(output: Uint8Array, P: Uint8Array, k: Uint8Array): number;
  publicKeyTweakAdd(output: Uint8Array, P: Uint8Array, t: Uint8Array): number;
  publicKeyCombine(output: Uint8Array, Ps: Uint8Array[]): number;
  publicKeyNegate(output: Uint8Array, P: Uint8Array): number;
  publicKeyConvert(output: Uint8Array, P: Uint8Array): number;
}

/**
 * `Secp256k1Binding` straight on the addon. The wrapper builds its error messages (template strings,
 * a `join` of the allowed lengths) on every call, failed or not: about a quarter of what the crypto
 * workers allocated. Every input here has passed this file's checks (`toScalar`, `assertEncoding`)
 * first; a failed step throws a plain Error, which `build` names as before.
 */
function onAddon(addon: Secp256k1Addon): Secp256k1Binding {
  const out = (status: number, output: Uint8Array): Uint8Array => {
    if (status !== 0) throw new Error(`libsecp256k1 step ${status} failed`);
    return output;
  };
  const space = (compressed: boolean) => new Uint8Array(compressed ? 33 : 65);
  return {
    publicKeyVerify: (P) => addon.publicKeyVerify(P) === 0,
    publicKeyCreate(k, c) {
      const o = space(c);
      return out(addon.publicKeyCreate(o, k), o);
    },
    publicKeyTweakMul(P, k, c) {
      const o = space(c);
      return out(addon.publicKeyTweakMul(o, P, k), o);
    },
    publicKeyTweakAdd(P, t, c) {
      const o = space(c);
      return out(addon.publicKeyTweakAdd(o, P, t), o);
    },
    publicKeyCombine(Ps, c) {
      const o = space(c);
      return out(addon.publicKeyCombine(o, Ps), o);
    },
    publicKeyNegate(P, c) {
      const o = space(c);
      return out(addon.publicKeyNegate(o, P), o);
    },
    publicKeyConvert(P, c) {
      const o = space(c);
      return out(addon.publicKeyConvert(o, P), o);
    },
  };
}

/** The addon as the package itself loads it (`bindings.js`: node-gyp-build from its own folder). */
function loadAddon(): Secp256k1Addon {
  const pkg = createRequire(import.meta.url).resolve('secp256k1/package.json');
  const nodeGypBuild = createRequire(pkg)('node-gyp-build') as (dir: string) => {
    Secp256k1: new () => Secp256k1Addon;
  };
  return new (nodeGypBuild(dirname(pkg)).Secp256k1)();
}

let loaded: { curve: Curve | undefined } | undefined;

/** The libsecp256k1 backend, or undefined when the native binding cannot load on this machine. */
export function loadNativeCurve(): Curve | undefined {
  if (loaded === undefined) {
    try {
      loaded = { curve: build(onAddon(loadAddon())) };
    } catch {
      loaded = { curve: undefined };
    }
  }
  return loaded.curve;
}
