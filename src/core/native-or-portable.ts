/**
 * One rule for the parts that have a portable implementation (the browser wallet's) and a faster one
 * on `node:crypto` (the servers'): HPKE envelopes and Ed25519 receipts. The native one is taken when
 * this runtime has `node:crypto` and the part's own known-answer check passes on it, else the portable
 * one; the choice is made once, on first use, so every caller in the process agrees.
 */
// The native halves are typed against Node's own types, also when the browser build type-checks them
// (they are never loaded there: the choice above finds no `node:crypto`).
/// <reference types="node" />
import type * as NodeCrypto from 'node:crypto';
import { fail } from './errors.js';

export type BackendName = 'portable' | 'native';

export interface BackendChoice<T, N extends T = T> {
  /** The named backend, or with no name the process's (native when it loads, else portable). */
  get(name?: BackendName): T;
  /** The native backend, or undefined when this runtime cannot run it. */
  native(): N | undefined;
  /** From now on `get()` answers the named backend (tests, or an operator comparing them). */
  force(name: BackendName): void;
}

export interface BackendParts<T, N extends T = T> {
  /** What the native backend needs of `node:crypto`, for the refusal (e.g. "X25519"). */
  needs: string;
  /** What the backend is for, for the refusal (e.g. "HPKE"). */
  what: string;
  portable: () => T;
  /** The native backend on `c`, or undefined when its known-answer check fails there. */
  native: (c: typeof NodeCrypto) => N | undefined;
}

export function nativeOrPortable<T, N extends T = T>(parts: BackendParts<T, N>): BackendChoice<T, N> {
  let portable: T | undefined;
  let native: { backend: N | undefined } | undefined;
  let chosen: T | undefined;

  const loadNative = (): N | undefined => {
    if (native === undefined) {
      // getBuiltinModule, not a static import: a browser bundle of the callers takes the portable one.
      const c = globalThis.process?.getBuiltinModule?.('node:crypto');
      let backend: N | undefined;
      try {
        backend = c === undefined ? undefined : parts.native(c);
      } catch {
        backend = undefined;
      }
      native = { backend };
    }
    return native.backend;
  };

  const get = (name?: BackendName): T => {
    if (name === undefined) {
      chosen ??= loadNative() ?? get('portable');
      return chosen;
    }
    if (name === 'portable') {
      portable ??= parts.portable();
      return portable;
    }
    const found = name === 'native' ? loadNative() : undefined;
    if (found !== undefined) return found;
    return fail(
      'InvalidInput',
      {
        argument: 'name',
        expected: `'portable', or 'native' where node:crypto has ${parts.needs}`,
        received: String(name),
      },
      `name: no ${parts.what} backend ${JSON.stringify(name)} in this runtime`,
    );
  };

  return {
    get,
    native: loadNative,
    force: (name) => {
      chosen = get(name);
    },
  };
}
