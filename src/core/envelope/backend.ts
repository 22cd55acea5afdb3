/**
 * Which HPKE backend envelopes use: native (`node:crypto`) when the runtime has it, else portable
 * (pure JavaScript on the noble libraries, the browser wallet's). Chosen once, on first use, so every caller in the process agrees;
 * `setEnvelopeBackend` forces one (tests, or an operator comparing them).
 */
import { nativeOrPortable } from '../native-or-portable.js';
import type { HpkeBackend, HpkeBackendName } from './hpke.js';
import { type NativeHpke, nativeHpkeOn } from './native.js';
import { portableHpke } from './portable.js';

const choice = nativeOrPortable<HpkeBackend, NativeHpke>({
  what: 'HPKE',
  needs: 'X25519',
  portable: portableHpke,
  native: nativeHpkeOn,
});

/** The named backend, or with no name the one envelopes use (native when it loads, else portable). */
export const hpkeBackend = (name?: HpkeBackendName): HpkeBackend => choice.get(name);

/** The native backend when this runtime's `node:crypto` can run it, else undefined. */
export const loadNativeHpke = (): NativeHpke | undefined => choice.native();

/** Makes `seal`/`open` use the named backend from now on. */
export const setEnvelopeBackend = (name: HpkeBackendName): void => choice.force(name);
