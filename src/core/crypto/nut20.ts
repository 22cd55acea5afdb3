/**
 * Signed mint quotes, NUT-20: a wallet names a public key when it asks for a mint quote, and only a
 * BIP-340 signature by that key over the quote id and the outputs mints the quote. Portable (noble
 * only): the wide bank verifies, the wallet signs. Both message forms are understood: the current
 * `Cashu_MintQuoteSig_v1` transcript, and the earlier hex concatenation that the spec's first vectors
 * and older wallets use (cashu-ts 4.x sends the current form and falls back to the earlier on 20008).
 */
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HDKey } from '@scure/bip32';
import { bytesToHex, concatBytes, hex, utf8 } from '../bytes.js';
import { fail } from '../errors.js';
import { verifyBip340 } from './bip340.js';
import type { Curve } from './curve.js';

/** The parts of a blinded message the signature commits to. */
export interface SignedOutput {
  amount: number;
  B_: string;
}

const DOMAIN = utf8('Cashu_MintQuoteSig_v1');

/** 4-byte big-endian length, then the bytes (NUT-20 `len32(x) || x`). */
function len32(x: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + x.length);
  new DataView(out.buffer).setUint32(0, x.length);
  out.set(x, 4);
  return out;
}

/** NUT-20: an amount as minimal big-endian bytes (0 → empty). */
function amountBytes(amount: number): Uint8Array {
  if (amount === 0) return new Uint8Array(0);
  const h = BigInt(amount).toString(16);
  return hex(h.length % 2 === 1 ? `0${h}` : h, 'amount');
}

/** NUT-20 `msg_to_sign`: the domain tag, then the quote id and each output's amount and `B_`, length-prefixed. */
export function mintQuoteMessage(quote: string, outputs: readonly SignedOutput[]): Uint8Array {
  const parts = [DOMAIN, len32(utf8(quote))];
  for (const [i, o] of outputs.entries()) {
    parts.push(len32(amountBytes(o.amount)), len32(hex(o.B_, `outputs[${i}].B_`)));
  }
  return concatBytes(...parts);
}

/** The earlier NUT-20 message: UTF-8 of the quote id followed by each `B_` as it was sent (hex). */
export function legacyMintQuoteMessage(quote: string, outputs: readonly SignedOutput[]): Uint8Array {
  return utf8(quote + outputs.map((o) => o.B_).join(''));
}

/** The BIP-340 signature (hex) by `privateKey` over SHA-256 of the current message. */
export function signMintQuote(
  privateKey: Uint8Array,
  quote: string,
  outputs: readonly SignedOutput[],
): string {
  return bytesToHex(schnorr.sign(sha256(mintQuoteMessage(quote, outputs)), privateKey));
}

/**
 * NUT-20 deterministic quote key: BIP-32 `m/129373'/20'/0'/0'/{counter}` from the wallet seed, so a
 * restored wallet can still sign for its locked quotes. One counter value per quote (privacy).
 */
export function mintQuoteKey(seed: Uint8Array, counter: number): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0 || counter >= 2 ** 31) {
    fail('InvalidInput', {
      argument: 'counter',
      expected: 'an integer 0 … 2^31-1',
      received: String(counter),
    });
  }
  const key = HDKey.fromMasterSeed(seed).derive(`m/129373'/20'/0'/0'/${counter}`).privateKey;
  return key ?? fail('Internal', { reason: 'NUT-20 key derivation gave no private key' });
}

/** The compressed public key (hex, 33 bytes) a wallet sends as the quote's `pubkey`. */
export function mintQuotePubkey(privateKey: Uint8Array): string {
  return bytesToHex(secp256k1.getPublicKey(privateKey, true));
}

/** NUT-20: a quote's `pubkey` is a compressed secp256k1 point, 33 bytes in hex. */
export function isMintQuotePubkey(pubkey: string): boolean {
  if (!/^0[23][0-9a-fA-F]{64}$/.test(pubkey)) return false;
  try {
    secp256k1.Point.fromHex(pubkey.toLowerCase()).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `signature` (hex) by the quote's compressed `pubkey` signs the request, in the current or
 * the earlier message form: at most two Schnorr verifications, on `curve` when given (a server's
 * native backend: tens of µs each) or else noble's (milliseconds). Malformed input answers false.
 */
export function verifyMintQuote(
  pubkey: string,
  quote: string,
  outputs: readonly SignedOutput[],
  signature: string,
  curve?: Curve,
): boolean {
  try {
    const sig = hex(signature, 'signature', 64);
    // BIP-340 keys are x-only: the compressed key without its parity byte.
    const x = hex(pubkey, 'pubkey', 33).subarray(1);
    const verify = (message: Uint8Array) =>
      curve === undefined
        ? schnorr.verify(sig, sha256(message), x)
        : verifyBip340(curve, sig, sha256(message), x);
    return verify(mintQuoteMessage(quote, outputs)) || verify(legacyMintQuoteMessage(quote, outputs));
  } catch {
    return false;
  }
}
