/**
 * Which HPKE backend envelopes use: native (`node:crypto`) when the runtime has it, else portable
 * (`@hpke/core`, the browser wallet's). Chosen once, on first use, so every caller in the process agrees;
 * `setEnvelopeBackend` forces one (tests, or an operator comparing them).
 */
import { fail } from '../errors.js';
import type { HpkeBackend, HpkeBackendName } from './hpke.js';
import { loadNativeHpke } from './native.js';
import { portableHpke } from './portable.js';

let portable: HpkeBackend | undefined;
let chosen: HpkeBackend | undefined;

/** The named backend, or with no name the one envelopes use (native when it loads, else portable). */
export function hpkeBackend(name?: HpkeBackendName): HpkeBackend {
  if (name === undefined) {
    chosen ??= loadNativeHpke() ?? hpkeBackend('portable');
    return chosen;
  }
  if (name === 'portable') {
    portable ??= portableHpke();
    return portable;
  }
  if (name === 'native') {
    const native = loadNativeHpke();
    if (native) return native;
  }
  return fail(
    'InvalidInput',
    {
      argument: 'name',
      expected: "'portable', or 'native' where node:crypto has X25519",
      received: String(name),
    },
    `name: no HPKE backend ${JSON.stringify(name)} in this runtime`,
  );
}

/** Makes `seal`/`open` use the named backend from now on. */
export function setEnvelopeBackend(name: HpkeBackendName): void {
  chosen = hpkeBackend(name);
}
