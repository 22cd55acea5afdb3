/**
 * Envelopes (DESIGN §3): every transfer between parties travels sealed with HPKE (RFC 9180) in auth
 * mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, so only the recipient can read it
 * and the recipient learns which key sent it. The AAD binds the message type, both keys and the transfer
 * id, so none of the cleartext header fields can be swapped without the open failing. Inboxes and
 * mailboxes only ever hold the JSON wire form below.
 */
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import {
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  type KemInterface,
  type SenderContextParams,
} from '@hpke/core';
import { base64urlnopad } from '@scure/base';
import { type Static, Type } from '@sinclair/typebox';
import { bytesToHex, concatBytes, equalBytes, hex, utf8 } from '../bytes.js';
import { describe, fail, isLancashError, LancashError } from '../errors.js';
import { decode } from '../protocol/cashu.js';
import { type EncryptionKeyPair, keyBytes, publicKeyOf } from './keys.js';
import type { ReplayGuard } from './replay.js';

/** Fixed protocol label: the HPKE `info` and the first AAD field. A new wire format gets a new label. */
export const ENVELOPE_LABEL = 'lancash-envelope-v1';
/** Longest `ct` field: 1 MiB of base64url. */
export const MAX_CT_CHARS = 1_048_576;
/** Largest payload whose ciphertext (payload + 16-byte Poly1305 tag) fits `MAX_CT_CHARS`. */
export const MAX_ENVELOPE_PAYLOAD = Math.floor((MAX_CT_CHARS * 3) / 4) - 16;
/** Longest envelope JSON text `open` parses; the fields other than `ct` take well under 1 KiB. */
const MAX_ENVELOPE_CHARS = MAX_CT_CHARS + 4096;

export const TransferId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });
export const EnvelopeType = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const KeyHex = Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]+$' });

/** The JSON wire form of an envelope. */
export const EnvelopeSchema = Type.Object(
  {
    v: Type.Literal(1),
    type: EnvelopeType,
    transferId: TransferId,
    /** Sender's X25519 public key, lowercase hex. */
    sender: KeyHex,
    /** Recipient's X25519 public key, lowercase hex. */
    recipient: KeyHex,
    /** HPKE encapsulated key, 32 bytes, unpadded base64url. */
    enc: Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]+$' }),
    /** HPKE ciphertext with its tag, unpadded base64url. */
    ct: Type.String({ minLength: 22, maxLength: MAX_CT_CHARS, pattern: '^[A-Za-z0-9_-]+$' }),
  },
  { additionalProperties: false },
);
export type Envelope = Static<typeof EnvelopeSchema>;

export interface SealOptions {
  type: string;
  transferId: string;
  sender: EncryptionKeyPair;
  /** The recipient's raw X25519 public key. */
  recipient: Uint8Array;
  payload: Uint8Array;
}

export interface OpenOptions {
  /** An `Envelope` object or its JSON text, as it arrived. */
  envelope: unknown;
  recipient: EncryptionKeyPair;
  expectedSender?: Uint8Array;
  expectedType?: string;
  /** Checked only after the envelope authenticates, so a forger cannot burn someone's transfer ids. */
  replayGuard?: ReplayGuard;
}

export interface Opened<P = Uint8Array> {
  type: string;
  transferId: string;
  /** The sender's public key, proven by HPKE auth mode. */
  sender: Uint8Array;
  payload: P;
}

type HpkeKey = SenderContextParams['recipientPublicKey'];
interface HpkeKeyPair {
  privateKey: HpkeKey;
  publicKey: HpkeKey;
}

/**
 * One HPKE cipher suite with its own cache of imported key pairs (imported keys belong to the KEM that
 * imported them). The module's `seal`/`open` use the default suite; `bench.ts` compares KEMs with this.
 */
export class EnvelopeSuite {
  private readonly suite: CipherSuite;
  private readonly imported = new WeakMap<EncryptionKeyPair, Promise<HpkeKeyPair>>();
  private readonly info = utf8(ENVELOPE_LABEL);

  constructor(kem: KemInterface) {
    this.suite = new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
  }

  async seal(o: SealOptions): Promise<Envelope> {
    const type = decode(EnvelopeType, o.type, 'type');
    const transferId = decode(TransferId, o.transferId, 'transferId');
    const recipient = keyBytes(o.recipient, 'recipient');
    if (!(o.payload instanceof Uint8Array)) {
      fail(
        'InvalidInput',
        { argument: 'payload', expected: 'bytes', received: describe(o.payload) },
        `payload: expected bytes, got ${describe(o.payload)}`,
      );
    }
    if (o.payload.length > MAX_ENVELOPE_PAYLOAD) {
      fail(
        'PayloadTooLarge',
        { limit: MAX_ENVELOPE_PAYLOAD },
        `payload is larger than ${MAX_ENVELOPE_PAYLOAD} bytes`,
      );
    }
    const senderKey = await this.importPair(o.sender, 'sender');
    const aad = envelopeAad(type, o.sender.publicKey, recipient, transferId);
    let sealed: { ct: ArrayBuffer; enc: ArrayBuffer };
    try {
      const recipientPublicKey = await this.suite.kem.deserializePublicKey(recipient);
      sealed = await this.suite.seal({ recipientPublicKey, senderKey, info: this.info }, o.payload, aad);
    } catch (e) {
      // RFC 9180 §7.1.4: a low-order recipient key gives an all-zero DH output, which the KEM refuses.
      throw new LancashError(
        'InvalidInput',
        { argument: 'recipient', expected: 'a usable X25519 public key', received: 'a key the KEM refused' },
        'recipient: not a usable X25519 public key',
        { cause: e },
      );
    }
    return {
      v: 1,
      type,
      transferId,
      sender: bytesToHex(o.sender.publicKey),
      recipient: bytesToHex(recipient),
      enc: base64urlnopad.encode(new Uint8Array(sealed.enc)),
      ct: base64urlnopad.encode(new Uint8Array(sealed.ct)),
    };
  }

  async open(o: OpenOptions): Promise<Opened> {
    const envelope = parseEnvelope(o.envelope);
    const ours = keyBytes(o.recipient.publicKey, 'recipient.publicKey');
    const recipient = hex(envelope.recipient, 'envelope.recipient', 32);
    if (!equalBytes(recipient, ours)) {
      fail(
        'EnvelopeWrongRecipient',
        { expected: bytesToHex(ours), received: envelope.recipient },
        `envelope is sealed to ${envelope.recipient}, not to this key ${bytesToHex(ours)}`,
      );
    }
    const sender = hex(envelope.sender, 'envelope.sender', 32);
    if (o.expectedSender !== undefined && !equalBytes(sender, keyBytes(o.expectedSender, 'expectedSender'))) {
      openFailed(`sent by ${envelope.sender}, expected ${bytesToHex(o.expectedSender)}`);
    }
    if (o.expectedType !== undefined && envelope.type !== o.expectedType) {
      openFailed(`type is ${JSON.stringify(envelope.type)}, expected ${JSON.stringify(o.expectedType)}`);
    }
    const enc = base64Field(envelope.enc, 'enc');
    const ct = base64Field(envelope.ct, 'ct');
    const recipientKey = await this.importPair(o.recipient, 'recipient');
    const aad = envelopeAad(envelope.type, sender, recipient, envelope.transferId);
    let payload: Uint8Array;
    try {
      const senderPublicKey = await this.suite.kem.deserializePublicKey(sender);
      payload = new Uint8Array(
        await this.suite.open({ recipientKey, enc, senderPublicKey, info: this.info }, ct, aad),
      );
    } catch (e) {
      // One short reason whatever failed (DH, key schedule, tag): the underlying text says nothing useful
      // to a peer and may say too much.
      return openFailed('authentication failed', e);
    }
    o.replayGuard?.check(sender, envelope.transferId);
    return { type: envelope.type, transferId: envelope.transferId, sender, payload };
  }

  /** Imports a key pair once per suite, after checking its halves belong together. */
  private importPair(pair: EncryptionKeyPair, argument: string): Promise<HpkeKeyPair> {
    const cached = this.imported.get(pair);
    if (cached) return cached;
    const pk = keyBytes(pair.publicKey, `${argument}.publicKey`);
    if (!equalBytes(publicKeyOf(keyBytes(pair.privateKey, `${argument}.privateKey`)), pk)) {
      fail(
        'InvalidInput',
        { argument, expected: 'a public key matching the private key', received: 'a mismatched pair' },
        `${argument}: publicKey does not belong to privateKey`,
      );
    }
    const imported = (async () => ({
      privateKey: await this.suite.kem.deserializePrivateKey(pair.privateKey),
      publicKey: await this.suite.kem.deserializePublicKey(pk),
    }))();
    imported.catch(() => this.imported.delete(pair));
    this.imported.set(pair, imported);
    return imported;
  }
}

/**
 * The suite in use: `@hpke/core`'s built-in X25519 (WebCrypto, so node:crypto underneath). Measured with
 * `measureEnvelopes` on the 2-core dev machine, 1 KiB: ≈300 seal+open/s one at a time and ≈600–900/s
 * with 16–64 in flight (its calls wait on libuv's thread pool), against ≈90–145/s for the pure-JS
 * `@hpke/dhkem-x25519` at any concurrency. DESIGN §8's ≈1 500/s was not reproduced.
 */
const defaultSuite = new EnvelopeSuite(new DhkemX25519HkdfSha256());

/** Seals `payload` to `recipient` from `sender`. */
export function seal(o: SealOptions): Promise<Envelope> {
  return defaultSuite.seal(o);
}

/**
 * Opens an envelope addressed to `recipient`. Throws `EnvelopeMalformed` (shape), `EnvelopeWrongRecipient`
 * (sealed to another key), `EnvelopeOpenFailed` (unexpected sender or type, or authentication failed) and
 * `EnvelopeReplayed` (when a replay guard is given and has seen this sender and transfer id).
 */
export function open(o: OpenOptions): Promise<Opened> {
  return defaultSuite.open(o);
}

/** `seal` with a JSON payload (UTF-8). */
export async function sealJson(o: Omit<SealOptions, 'payload'> & { payload: unknown }): Promise<Envelope> {
  let text: string | undefined;
  try {
    text = JSON.stringify(o.payload);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    fail(
      'InvalidInput',
      { argument: 'payload', expected: 'a JSON-serialisable value', received: describe(o.payload) },
      `payload: expected a JSON-serialisable value, got ${describe(o.payload)}`,
    );
  }
  return seal({ ...o, payload: utf8(text) });
}

/** `open` for a JSON payload; the payload comes back unknown, for the caller's schema to decode. */
export async function openJson(o: OpenOptions): Promise<Opened<unknown>> {
  const opened = await open(o);
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(opened.payload));
  } catch {
    fail('EnvelopeMalformed', { reason: 'payload is not UTF-8 JSON' }, 'envelope payload is not UTF-8 JSON');
  }
  return { ...opened, payload };
}

/**
 * AAD = label ‖ type ‖ sender pk ‖ recipient pk ‖ transfer id, each prefixed by its 2-byte big-endian
 * length, so no two different headers give the same bytes.
 */
export function envelopeAad(
  type: string,
  sender: Uint8Array,
  recipient: Uint8Array,
  transferId: string,
): Uint8Array {
  const fields = [utf8(ENVELOPE_LABEL), utf8(type), sender, recipient, utf8(transferId)];
  return concatBytes(...fields.flatMap((f) => [new Uint8Array([f.length >> 8, f.length & 0xff]), f]));
}

function parseEnvelope(value: unknown): Envelope {
  let candidate = value;
  if (typeof value === 'string') {
    if (value.length > MAX_ENVELOPE_CHARS) malformed(`longer than ${MAX_ENVELOPE_CHARS} characters`);
    try {
      candidate = JSON.parse(value);
    } catch {
      malformed('not JSON');
    }
  }
  try {
    return decode(EnvelopeSchema, candidate, 'envelope');
  } catch (e) {
    if (isLancashError(e, 'InvalidInput')) return malformed(e.message);
    throw e;
  }
}

function base64Field(value: string, field: string): Uint8Array {
  try {
    return base64urlnopad.decode(value);
  } catch {
    return malformed(`${field} is not canonical base64url`);
  }
}

function malformed(reason: string): never {
  return fail('EnvelopeMalformed', { reason }, `envelope: ${reason}`);
}

function openFailed(reason: string, cause?: unknown): never {
  throw new LancashError('EnvelopeOpenFailed', { reason }, `envelope cannot be opened: ${reason}`, { cause });
}
