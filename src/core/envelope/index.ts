/** Envelopes: HPKE auth-mode sealing of every transfer between parties, with the keys and replay check. */
export {
  ENVELOPE_LABEL,
  type Envelope,
  EnvelopeSchema,
  EnvelopeType,
  envelopeAad,
  MAX_CT_CHARS,
  MAX_ENVELOPE_PAYLOAD,
  type Opened,
  type OpenOptions,
  open,
  openJson,
  type SealOptions,
  seal,
  sealJson,
  TransferId,
} from './envelope.js';
export {
  type EncryptionKeyPair,
  generateEncryptionKeyPair,
  keyPairFromPrivate,
  X25519_KEY_BYTES,
} from './keys.js';
export { ReplayGuard } from './replay.js';
