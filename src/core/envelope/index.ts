/** Envelopes: HPKE auth-mode sealing of every transfer between parties, with the keys and replay check. */
export { hpkeBackend, setEnvelopeBackend } from './backend.js';
export {
  ENVELOPE_LABEL,
  type Envelope,
  EnvelopeSchema,
  type EnvelopeSuite,
  EnvelopeType,
  envelopeAad,
  envelopeJson,
  envelopeSuite,
  MAX_CT_CHARS,
  MAX_ENVELOPE_PAYLOAD,
  type Opened,
  type OpenOptions,
  open,
  openJson,
  type SealJsonOptions,
  type SealOptions,
  seal,
  sealJson,
  TransferId,
} from './envelope.js';
export type { HpkeBackend, HpkeBackendName } from './hpke.js';
export {
  type EncryptionKeyPair,
  generateEncryptionKeyPair,
  keyPairFromPrivate,
  X25519_KEY_BYTES,
} from './keys.js';
export { ReplayGuard } from './replay.js';
