/**
 * Which curve backend this process uses: libsecp256k1 when its binding loads, else noble. Chosen once,
 * on first use, so every caller in the process agrees.
 */
import type { Curve } from './curve.js';
import { loadNativeCurve } from './native.js';
import { nobleCurve } from './noble.js';

let chosen: Curve | undefined;

/** The native backend when it loads, else noble (memoised). */
export function defaultCurve(): Curve {
  chosen ??= loadNativeCurve() ?? nobleCurve;
  return chosen;
}
