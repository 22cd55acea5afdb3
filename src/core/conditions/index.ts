/**
 * NUT-10 spending conditions (NUT-11 P2PK, NUT-14 HTLC): secrets and witnesses (`secret.ts`), signing
 * (`sign.ts`), the mints' checks (`verify.ts`). Portable: noble only.
 */
export {
  CONDITION_LIMITS,
  type ConditionKind,
  type ConditionOptions,
  type ConditionTags,
  htlcSecret,
  type ParsedWitness,
  p2pkSecret,
  parseWellKnownSecret,
  parseWitness,
  type SigFlag,
  type WellKnownSecret,
} from './secret.js';
export {
  encodeWitness,
  htlcHash,
  messageDigest,
  type PrivateKey,
  p2pkPublicKey,
  p2pkWitness,
  type SignedInput,
  type SignedOutput,
  sigAllMessage,
  signInputs,
  signSigAll,
  signWitness,
  type Witness,
  xOnly,
} from './sign.js';
export {
  checkLock,
  type LockCheck,
  type LockedInput,
  type LockPath,
  lockCost,
  MAX_SCHNORR_CHECKS,
  planLocks,
  type SpendContext,
} from './verify.js';
