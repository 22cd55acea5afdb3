/**
 * The spender's side of NUT-11 (P2PK) and NUT-14 (HTLC): BIP-340 Schnorr signatures on SHA256 of the
 * message, the `P2PKWitness` / `HTLCWitness` JSON a proof carries, the SIG_ALL message of a swap or a
 * melt, and the key forms the secrets use (33-byte compressed hex in `data`, `pubkeys`, `refund`).
 * Portable (noble only): wallets, the gateway and tests sign with it; the mint verifies in `verify.ts`.
 */
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hex, utf8 } from '../bytes.js';
import { toScalar } from '../crypto/scalar.js';
import { describe, fail } from '../errors.js';

/** A secp256k1 private key: 32 bytes, or their 64-character hex. */
export type PrivateKey = Uint8Array | string;

/** What a witness holds: the signatures and, for an HTLC, the preimage (32-byte hex). */
export interface Witness {
  signatures: string[];
  preimage?: string;
}

/** The part of an input the SIG_ALL message covers (NUT-11: `secret` and `C`). */
export interface SignedInput {
  secret: string;
  C: string;
  witness?: unknown;
}

/** The part of an output the SIG_ALL message covers (NUT-11: `amount` and `B_`). */
export interface SignedOutput {
  amount: number;
  B_: string;
}

function privateKeyBytes(key: PrivateKey, argument = 'privateKey'): Uint8Array {
  return toScalar(typeof key === 'string' ? hex(key, argument, 32) : key, argument);
}

/** The 33-byte compressed public key (hex) of `privateKey`: the form NUT-11 secrets carry. */
export function p2pkPublicKey(privateKey: PrivateKey): string {
  return bytesToHex(secp256k1.getPublicKey(privateKeyBytes(privateKey), true));
}

/**
 * The lowercase x-coordinate (32-byte hex) of a compressed public key: NUT-11 compares keys by it
 * ("Public Key Canonicalisation"), and BIP-340 verifies against it.
 */
export function xOnly(publicKey: string): string {
  const bytes = hex(publicKey, 'publicKey', 33);
  if (bytes[0] !== 0x02 && bytes[0] !== 0x03)
    fail('InvalidPoint', { argument: 'publicKey', reason: 'expected prefix 02 or 03' });
  return bytesToHex(bytes.subarray(1));
}

/** SHA256 of the UTF-8 bytes of `message`: what NUT-11 signs (the unescaped secret, or the SIG_ALL message). */
export function messageDigest(message: string): Uint8Array {
  return sha256(utf8(message));
}

/**
 * A BIP-340 Schnorr signature (64 bytes, hex) by `privateKey` on SHA256(`message`). `auxRand` is for
 * reproducible tests only; without it noble draws fresh auxiliary randomness, as BIP-340 advises.
 */
export function signWitness(message: string, privateKey: PrivateKey, auxRand?: Uint8Array): string {
  return bytesToHex(schnorr.sign(messageDigest(message), privateKeyBytes(privateKey), auxRand));
}

/**
 * The signatures and preimage already in a witness, so another signer can add theirs (multisig is
 * signed one party at a time). The witness is the JSON string of the wire, or the object some
 * clients (cashu-ts) keep before sending. Lenient on purpose: this reads the spender's own witness,
 * not a stranger's; the mint's strict reading is `parseWitness` in `secret.ts`.
 */
function existingWitness(witness: unknown): Witness {
  if (witness === undefined || witness === null || witness === '') return { signatures: [] };
  let parsed: unknown = witness;
  if (typeof witness === 'string') {
    try {
      parsed = JSON.parse(witness);
    } catch {
      parsed = undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null)
    return fail('InvalidInput', {
      argument: 'witness',
      expected: 'a P2PK or HTLC witness (JSON object)',
      received: describe(witness),
    });
  const w = parsed as { signatures?: unknown; preimage?: unknown };
  const signatures = Array.isArray(w.signatures)
    ? w.signatures.filter((s): s is string => typeof s === 'string')
    : [];
  return typeof w.preimage === 'string' ? { signatures, preimage: w.preimage } : { signatures };
}

/** The witness JSON a proof carries: `{"signatures":[…]}`, with `preimage` first for an HTLC (NUT-14). */
export function encodeWitness(w: Witness): string {
  return JSON.stringify(
    w.preimage === undefined
      ? { signatures: w.signatures }
      : { preimage: w.preimage, signatures: w.signatures },
  );
}

const asList = (keys: PrivateKey | readonly PrivateKey[]): readonly PrivateKey[] =>
  Array.isArray(keys) ? keys : [keys as PrivateKey];

/**
 * The witness of `proof` after each of `privateKeys` signed `message` (by default the proof's secret:
 * SIG_INPUTS), its earlier signatures kept. `preimage` (32-byte hex) makes it an HTLC witness; an
 * earlier preimage is kept when none is given. Returns the witness JSON.
 */
export function p2pkWitness(
  proof: { secret: string; witness?: unknown },
  privateKeys: PrivateKey | readonly PrivateKey[],
  o: { message?: string; preimage?: string } = {},
): string {
  const before = existingWitness(proof.witness);
  const message = o.message ?? proof.secret;
  const signatures = [...before.signatures, ...asList(privateKeys).map((k) => signWitness(message, k))];
  const preimage = o.preimage ?? before.preimage;
  if (preimage !== undefined) hex(preimage, 'preimage', 32);
  return encodeWitness(preimage === undefined ? { signatures } : { signatures, preimage });
}

/** NUT-14: the hash lock of a preimage (32-byte hex): SHA256 of its bytes, hex, as the HTLC's `data`. */
export function htlcHash(preimage: string): string {
  return bytesToHex(sha256(hex(preimage, 'preimage', 32)));
}

/**
 * SIG_INPUTS (NUT-11): every proof signed on its own secret by each of `privateKeys` (add `preimage`
 * for HTLC proofs). Returns new proofs; the given ones are unchanged.
 */
export function signInputs<P extends { secret: string; witness?: unknown }>(
  proofs: readonly P[],
  privateKeys: PrivateKey | readonly PrivateKey[],
  o: { preimage?: string } = {},
): (Omit<P, 'witness'> & { witness: string })[] {
  return proofs.map((p) => ({ ...p, witness: p2pkWitness(p, privateKeys, o) }));
}

/**
 * The SIG_ALL message (NUT-11 "Message aggregation"): secret_0 || C_0 || … || amount_0 || B__0 || …,
 * then the quote id for a melt; `C` and `B_` as the hex strings sent, `amount` in decimal.
 */
export function sigAllMessage(
  inputs: readonly Pick<SignedInput, 'secret' | 'C'>[],
  outputs: readonly SignedOutput[],
  quoteId?: string,
): string {
  const parts: string[] = [];
  for (const i of inputs) parts.push(i.secret, i.C);
  for (const o of outputs) parts.push(String(o.amount), o.B_);
  if (quoteId !== undefined) parts.push(quoteId);
  return parts.join('');
}

/**
 * SIG_ALL (NUT-11): the first input carries every signature, on the message over all inputs and
 * outputs (and the melt's quote id); the other inputs need none and are left as they are. Each of
 * `privateKeys` signs; earlier signatures on the first input are kept, so co-signers can sign in turn.
 * Returns new inputs.
 */
export function signSigAll<P extends SignedInput>(
  inputs: readonly P[],
  outputs: readonly SignedOutput[],
  privateKeys: PrivateKey | readonly PrivateKey[],
  o: { quoteId?: string; preimage?: string } = {},
): (Omit<P, 'witness'> & { witness?: string })[] {
  const [first, ...rest] = inputs;
  if (first === undefined) return fail('EmptyRequest', { argument: 'inputs' });
  const message = sigAllMessage(inputs, outputs, o.quoteId);
  const witness = p2pkWitness(first, privateKeys, {
    message,
    ...(o.preimage !== undefined ? { preimage: o.preimage } : {}),
  });
  // The others travel as they came, a witness object (as cashu-ts keeps them) in its wire form.
  const wire = (p: P) =>
    p.witness === undefined || typeof p.witness === 'string'
      ? (p as Omit<P, 'witness'> & { witness?: string })
      : { ...p, witness: JSON.stringify(p.witness) };
  return [{ ...first, witness }, ...rest.map(wire)];
}
