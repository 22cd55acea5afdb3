/**
 * The cryptography one conversion cannot avoid, without I/O, for `bench gateway`'s in-run bound.
 * Counted from the code path (gateway `jobs/intake.ts`, `jobs/conversion.ts`, `jobs/steps.ts`,
 * `wallet.ts`; the bank's issue and receiving servers; `core/protocol/bank.ts`), for a conversion of
 * n notes in and n out (the amount split into powers of two both ways):
 *
 * Job 1 (LAN → WAN)
 *   gateway  open the intake envelope ............................. 1 open
 *            local mint checks each note: hash_to_curve + k·Y ...... n × (h2c + mul)
 *            blinds each wide output: hash_to_curve + r·G .......... n × (h2c + mulG)
 *            seals its recovery record (to itself) and the request . 2 seals
 *   bank     opens it; signs each output k·B_ with its DLEQ; seals . 1 open, n × (mul + DLEQ), 1 seal
 *   gateway  opens the answer; checks each DLEQ and unblinds ....... 1 open, n × (verify DLEQ + mul)
 *            seals the payment to the destination .................. 1 seal
 * Job 2 (WAN → LAN)
 *   gateway  open the intake envelope; each note's DLEQ (Carol) .... 1 open, n × (h2c + verify DLEQ)
 *            blinds each local output .............................. n × (h2c + mulG)
 *            seals its recovery record (to itself) and the request . 2 seals
 *   bank     opens it; checks each note; signs the receipt; seals .. 1 open, n × (h2c + mul), Ed25519 sign, 1 seal
 *   gateway  opens the answer; verifies the receipt ................ 1 open, Ed25519 verify
 *            local mint signs each output with its DLEQ ............ n × (mul + DLEQ)
 *            checks each DLEQ and unblinds ......................... n × (verify DLEQ + mul)
 *            seals the payment ..................................... 1 seal
 *
 * Left out as not the conversion's own: the terminals' work (sealing the request, opening the
 * payment), draining inboxes, and hashing/JSON. Every envelope is authenticated HPKE (X25519).
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, utf8 } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { defaultCurve } from '../core/crypto/index.js';
import { blindMessage, hashToCurve, signBlinded, unblind, verifySignature } from '../core/crypto/nut00.js';
import { createDleq, verifyDleq, verifyProofDleq } from '../core/crypto/nut12.js';
import { randomScalar } from '../core/crypto/scalar.js';
import {
  type EncryptionKeyPair,
  generateEncryptionKeyPair,
  openJson,
  sealJson,
} from '../core/envelope/index.js';
import { fail } from '../core/errors.js';
import { ed25519Backend } from '../core/protocol/ed25519.js';

/** Keys and a note template prepared once (untimed). */
export interface ConversionCrypto {
  curve: Curve;
  gateway: EncryptionKeyPair;
  bank: EncryptionKeyPair;
  terminal: EncryptionKeyPair;
  k: Uint8Array;
  K: Uint8Array;
  receiptSecret: Uint8Array;
  receiptPublic: Uint8Array;
}

export async function prepareConversionCrypto(curve: Curve = defaultCurve()): Promise<ConversionCrypto> {
  const k = randomScalar();
  const receiptSecret = ed25519.utils.randomSecretKey();
  return {
    curve,
    gateway: await generateEncryptionKeyPair(),
    bank: await generateEncryptionKeyPair(),
    terminal: await generateEncryptionKeyPair(),
    k,
    K: curve.mulG(k),
    receiptSecret,
    receiptPublic: ed25519.getPublicKey(receiptSecret),
  };
}

/** About the bytes a note takes in a payload's JSON (amount, id, secret, C, DLEQ). */
const NOTE_JSON = 'x'.repeat(330);

/** Seals `n` notes' worth of payload from `from` to `to` and opens it: one envelope's two halves. */
async function envelope(from: EncryptionKeyPair, to: EncryptionKeyPair, n: number): Promise<void> {
  const sealed = await sealJson({
    type: 'bench',
    transferId: bytesToHex(randomBytes(16)),
    sender: from,
    recipient: to.publicKey,
    payload: { notes: Array.from({ length: n }, () => NOTE_JSON) },
  });
  await openJson({ envelope: sealed, recipient: to, expectedSender: from.publicKey });
}

/** A fresh note of the mint's key: secret, C (its making is not timed work of the conversion). */
function note(c: ConversionCrypto): {
  secret: Uint8Array;
  C: Uint8Array;
  r: Uint8Array;
  e: Uint8Array;
  s: Uint8Array;
} {
  const secret = utf8(bytesToHex(randomBytes(32)));
  const r = randomScalar();
  const { B_ } = blindMessage(c.curve, secret, r);
  const C_ = signBlinded(c.curve, c.k, B_);
  const { e, s } = createDleq(c.curve, c.k, B_, C_);
  return { secret, C: unblind(c.curve, C_, r, c.K), r, e, s };
}

/** The mint's and the wallet's per-output work: blind, sign with DLEQ, check the DLEQ, unblind. */
function output(c: ConversionCrypto): void {
  const r = randomScalar();
  const { B_ } = blindMessage(c.curve, utf8(bytesToHex(randomBytes(32))), r);
  const C_ = signBlinded(c.curve, c.k, B_);
  const { e, s } = createDleq(c.curve, c.k, B_, C_);
  if (!verifyDleq(c.curve, c.K, B_, C_, e, s)) fail('Internal', { reason: 'bench DLEQ failed' });
  unblind(c.curve, C_, r, c.K);
}

/**
 * One conversion's unavoidable crypto (see the list above). `inputs` are notes made beforehand with
 * `makeNotes` (n of them); answers nothing, throws if any check fails.
 */
export async function conversionCrypto(
  c: ConversionCrypto,
  direction: 'lan-to-wan' | 'wan-to-lan',
  inputs: ReturnType<typeof makeNotes>,
): Promise<void> {
  const n = inputs.length;
  // Intake (open), bank request and answer (seal + open each), payment (seal): three envelopes' worth;
  // and the recovery record the gateway seals to itself (kept by the bank, opened only in a repair).
  await envelope(c.terminal, c.gateway, n);
  await envelope(c.gateway, c.bank, n);
  await envelope(c.bank, c.gateway, n);
  await sealJson({
    type: 'bench',
    transferId: bytesToHex(randomBytes(16)),
    sender: c.gateway,
    recipient: c.gateway.publicKey,
    payload: { notes: Array.from({ length: n }, () => NOTE_JSON) },
  });
  for (const p of inputs) {
    if (direction === 'lan-to-wan') {
      if (!verifySignature(c.curve, c.k, hashToCurve(c.curve, p.secret), p.C))
        fail('Internal', { reason: 'bench note failed to verify' });
    } else {
      if (!verifyProofDleq(c.curve, c.K, p.secret, p.C, p))
        fail('Internal', { reason: 'bench note DLEQ failed' });
      // The receiving server's check of the same note.
      if (!verifySignature(c.curve, c.k, hashToCurve(c.curve, p.secret), p.C))
        fail('Internal', { reason: 'bench note failed to verify' });
    }
  }
  for (let i = 0; i < n; i++) output(c);
  if (direction === 'wan-to-lan') {
    const message = utf8(`receipt ${n}`);
    const signature = ed25519Backend().sign(message, c.receiptSecret);
    if (!ed25519Backend().verify(signature, message, c.receiptPublic))
      fail('Internal', { reason: 'bench receipt failed' });
  }
}

/** `n` notes to hand in (untimed set-up). */
export function makeNotes(c: ConversionCrypto, n: number) {
  return Array.from({ length: n }, () => note(c));
}
