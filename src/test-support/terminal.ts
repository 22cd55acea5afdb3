/**
 * A tiny test terminal for the gateway's integration tests (docs/design.md §1): a key pair and an address, a
 * purse of notes per mint, and the few things a terminal does: make blinded outputs and unblind the
 * answers (NUT-00, keeping the NUT-12 DLEQ proof with `r` so the notes can be checked by their next
 * holder), swap notes at a mint, get wide notes from the wide bank's fake Lightning mint, seal job
 * requests to the gateway, and drain its inbox, swapping every payment it finds at the payment's mint.
 * Built on the core and protocol modules (and the mailbox client) only, never on the gateway's code,
 * so it checks the gateway rather than sharing its mistakes.
 */
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { type Address, encodeAddress, type Network } from '../core/address/index.js';
import { bytesToHex, hex, utf8 } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { blindMessage, defaultCurve, parseKeys, randomScalar, unblind } from '../core/crypto/index.js';
import {
  type EncryptionKeyPair,
  type Envelope,
  generateEncryptionKeyPair,
  openJson,
  sealJson,
} from '../core/envelope/index.js';
import { call, isUnclear } from '../core/http/client.js';
import { splitAmount, sum, toAmount } from '../core/money.js';
import { BlindSignature, decode, Keys, type Proof } from '../core/protocol/cashu.js';
import {
  type Direction,
  GATEWAY_NOTICE,
  type GatewayInfo,
  getGatewayInfo,
  getTransfer,
  JOB1_PATH,
  JOB1_REQUEST,
  JOB2_PATH,
  JOB2_REQUEST,
  Notice,
  PAYMENT,
  Payment,
  TransferStatus,
} from '../core/protocol/gateway.js';
import { drain, mailboxInfo } from '../mailbox/client.js';

interface Pending {
  amount: number;
  id: string;
  B_: string;
  secret: string;
  r: Uint8Array;
}

const KeysResponse = Type.Object({
  keysets: Type.Array(
    Type.Object({
      id: Type.String(),
      unit: Type.String(),
      active: Type.Boolean(),
      input_fee_ppk: Type.Optional(Type.Integer({ minimum: 0 })),
      keys: Keys,
    }),
  ),
});
const SwapResponse = Type.Object({ signatures: Type.Array(BlindSignature) });
const MintQuote = Type.Object({ quote: Type.String() });

export interface InboxMessage {
  type: string;
  transferId: string;
  /** Hex of the sender's key, proven by the envelope. */
  sender: string;
  payload: unknown;
}

export interface Received {
  payments: (Payment & { transferId: string; sender: string })[];
  notices: (Notice & { transferId: string })[];
}

export interface JobOptions {
  proofs: Proof[];
  destination: string;
  replyTo?: string;
  memo?: string;
  /** Default a fresh random id. */
  transferId?: string;
}

export class Terminal {
  private readonly purse = new Map<string, Proof[]>();
  private readonly keysets = new Map<
    string,
    { unit: string; keys: Map<number, Uint8Array>; feePpk: number }
  >();
  /** Payments already swapped (sender + transfer id): a delivery that arrives twice counts once. */
  private readonly seen = new Set<string>();

  private constructor(
    readonly network: Network,
    readonly pair: EncryptionKeyPair,
    readonly address: string,
    readonly curve: Curve,
  ) {}

  static async create(network: Network, o: { inbox?: string; curve?: Curve } = {}): Promise<Terminal> {
    const pair = await generateEncryptionKeyPair();
    const a: Address = {
      network,
      publicKey: pair.publicKey,
      ...(o.inbox !== undefined ? { inbox: o.inbox } : {}),
    };
    return new Terminal(network, pair, encodeAddress(a), o.curve ?? defaultCurve());
  }

  /** The terminal's public key, hex. */
  get key(): string {
    return bytesToHex(this.pair.publicKey);
  }

  notes(mint: string): Proof[] {
    return [...(this.purse.get(norm(mint)) ?? [])];
  }

  balance(mint: string): number {
    return sum(this.notes(mint).map((p) => p.amount));
  }

  add(mint: string, proofs: readonly Proof[]): void {
    this.purse.set(norm(mint), [...this.notes(mint), ...proofs]);
  }

  /** Takes every note held at `mint` out of the purse (to send them). */
  takeAll(mint: string): Proof[] {
    const all = this.notes(mint);
    this.purse.delete(norm(mint));
    return all;
  }

  /** Swaps `proofs` at `mint` for fresh notes of their total less their NUT-02 input fee. */
  async swap(mint: string, proofs: readonly Proof[]): Promise<Proof[]> {
    const keysetId = await this.activeKeyset(mint);
    const outputs = this.outputs(keysetId, sum(proofs.map((p) => p.amount)) - (await this.fee(mint, proofs)));
    const { signatures } = await call({
      base: mint,
      method: 'POST',
      path: '/v1/swap',
      body: { inputs: proofs, outputs: outputs.map(({ amount, id, B_ }) => ({ amount, id, B_ })) },
      schema: SwapResponse,
    });
    return this.unblind(mint, outputs, signatures);
  }

  /** Wide notes worth `amount` from the wide bank's bolt11 mint (its fake Lightning settles at once). */
  async mintWide(bank: string, amount: number, unit = 'eur'): Promise<Proof[]> {
    const { quote } = await call({
      base: bank,
      method: 'POST',
      path: '/v1/mint/quote/bolt11',
      body: { amount, unit },
      schema: MintQuote,
    });
    const outputs = this.outputs(await this.activeKeyset(bank), amount);
    const { signatures } = await call({
      base: bank,
      method: 'POST',
      path: '/v1/mint/bolt11',
      body: { quote, outputs: outputs.map(({ amount, id, B_ }) => ({ amount, id, B_ })) },
      schema: SwapResponse,
    });
    const proofs = await this.unblind(bank, outputs, signatures);
    this.add(bank, proofs);
    return proofs;
  }

  /** A job request sealed to the gateway (job 1 from a LAN terminal, job 2 from a WAN terminal). */
  sealJob(gateway: GatewayInfo, direction: Direction, o: JobOptions): Promise<Envelope> {
    return sealJson({
      type: direction === 'lan-to-wan' ? JOB1_REQUEST : JOB2_REQUEST,
      transferId: o.transferId ?? randomId(),
      sender: this.pair,
      recipient: hex(gateway.encryptionKey, 'encryptionKey', 32),
      payload: {
        proofs: o.proofs,
        destination: o.destination,
        ...(o.replyTo !== undefined ? { replyTo: o.replyTo } : {}),
        ...(o.memo !== undefined ? { memo: o.memo } : {}),
      },
    });
  }

  /** Posts a sealed job request to the gateway listener of its direction; answers the transfer's status. */
  postJob(gatewayUrl: string, direction: Direction, envelope: Envelope): Promise<TransferStatus> {
    return call({
      base: gatewayUrl,
      method: 'POST',
      path: direction === 'lan-to-wan' ? JOB1_PATH : JOB2_PATH,
      body: envelope,
      schema: TransferStatus,
    });
  }

  /** Seals and posts a job request in one go. */
  async sendJob(
    gatewayUrl: string,
    direction: Direction,
    o: JobOptions,
  ): Promise<{ envelope: Envelope; status: TransferStatus }> {
    const envelope = await this.sealJob(await getGatewayInfo(gatewayUrl), direction, o);
    return { envelope, status: await this.postJob(gatewayUrl, direction, envelope) };
  }

  /**
   * Drains the terminal's inbox at a mailbox, acking everything, and opens each envelope. Anyone may
   * deposit, so an envelope that does not open (junk, a forged sender) is acked and skipped, as a
   * wallet does.
   */
  async drainInbox(mailbox: string): Promise<InboxMessage[]> {
    const serverKey = hex((await mailboxInfo(mailbox)).key, 'key', 32);
    const out: InboxMessage[] = [];
    let ack: string[] = [];
    const proof = { owner: this.pair, address: this.address, serverKey };
    for (;;) {
      // An unclear answer (a keep-alive connection the server closed as the request went out: seen
      // once in CI) is drained again with a fresh proof, as a wallet would: nothing is acked before
      // its ids come back, so the messages are still pending.
      const answer = await drain(mailbox, { ...proof, ack }).catch((e: unknown) => {
        if (!isUnclear(e)) throw e;
        return drain(mailbox, { ...proof, ack });
      });
      for (const m of answer.messages) {
        const opened = await openJson({ envelope: m.envelope, recipient: this.pair }).catch(() => undefined);
        if (opened === undefined) continue;
        out.push({
          type: opened.type,
          transferId: opened.transferId,
          sender: bytesToHex(opened.sender),
          payload: opened.payload,
        });
      }
      ack = answer.messages.map((m) => m.id);
      if (answer.messages.length === 0) return out;
    }
  }

  /** Drains the inbox; swaps every new payment at its mint into the purse; returns payments and notices. */
  async receive(mailbox: string): Promise<Received> {
    const received: Received = { payments: [], notices: [] };
    for (const m of await this.drainInbox(mailbox)) {
      if (m.type === GATEWAY_NOTICE) {
        received.notices.push({ ...decode(Notice, m.payload, 'notice'), transferId: m.transferId });
      } else if (m.type === PAYMENT) {
        const payment = await this.accept(m);
        if (payment !== undefined) received.payments.push(payment);
      }
    }
    return received;
  }

  /**
   * Takes a `lancash.payment` message: swaps its notes at once at the payment's mint (so the payer
   * cannot spend them again) into the purse. A payment seen before (sender + transfer id) is ignored.
   */
  async accept(m: InboxMessage): Promise<Received['payments'][number] | undefined> {
    const payment = decode(Payment, m.payload, 'payment');
    const key = `${m.sender}:${m.transferId}`;
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    this.add(payment.mint, await this.swap(payment.mint, payment.proofs));
    return { ...payment, transferId: m.transferId, sender: m.sender };
  }

  /** Blinded outputs worth `amount` on a keyset (NUT-00). */
  outputs(keysetId: string, amount: number): Pending[] {
    return splitAmount(toAmount(amount)).map((a) => {
      const secret = bytesToHex(randomBytes(32));
      const r = randomScalar();
      const { B_ } = blindMessage(this.curve, utf8(secret), r);
      return { amount: a, id: keysetId, B_: bytesToHex(B_), secret, r };
    });
  }

  /** C = C_ − r·K (NUT-00); the DLEQ proof travels on with `r` (NUT-12). */
  async unblind(
    mint: string,
    outputs: readonly Pending[],
    signatures: readonly BlindSignature[],
  ): Promise<Proof[]> {
    const proofs: Proof[] = [];
    for (const [i, o] of outputs.entries()) {
      const s = signatures[i]!;
      const K = (await this.keyset(mint, s.id)).keys.get(s.amount)!;
      const C = unblind(this.curve, hex(s.C_, 'C_', 33), o.r, K);
      proofs.push({
        amount: s.amount,
        id: s.id,
        secret: o.secret,
        C: bytesToHex(C),
        ...(s.dleq !== undefined ? { dleq: { e: s.dleq.e, s: s.dleq.s, r: bytesToHex(o.r) } } : {}),
      });
    }
    return proofs;
  }

  /** NUT-02: the input fee of spending `proofs` at `mint`, ceil(Σ input_fee_ppk / 1000). */
  async fee(mint: string, proofs: readonly Proof[]): Promise<number> {
    let ppk = 0;
    for (const p of proofs) ppk += (await this.keyset(mint, p.id)).feePpk;
    return Math.ceil(ppk / 1000);
  }

  private async activeKeyset(mint: string): Promise<string> {
    const { keysets } = await call({ base: mint, method: 'GET', path: '/v1/keys', schema: KeysResponse });
    const active = keysets.find((k) => k.active);
    if (active === undefined) throw new Error(`${mint} has no active keyset`);
    this.keysets.set(`${norm(mint)} ${active.id}`, {
      unit: active.unit,
      keys: parseKeys(active.keys, this.curve),
      feePpk: active.input_fee_ppk ?? 0,
    });
    return active.id;
  }

  private async keyset(
    mint: string,
    id: string,
  ): Promise<{ unit: string; keys: Map<number, Uint8Array>; feePpk: number }> {
    const cached = this.keysets.get(`${norm(mint)} ${id}`);
    if (cached !== undefined) return cached;
    const { keysets } = await call({
      base: mint,
      method: 'GET',
      path: `/v1/keys/${id}`,
      schema: KeysResponse,
    });
    const ks = keysets[0]!;
    const entry = { unit: ks.unit, keys: parseKeys(ks.keys, this.curve), feePpk: ks.input_fee_ppk ?? 0 };
    this.keysets.set(`${norm(mint)} ${id}`, entry);
    return entry;
  }
}

/**
 * Polls a transfer until it reaches `done` or `refused` (the gateway's runner works in the background);
 * the test's own timeout bounds the wait.
 */
export async function waitForTransfer(base: string, id: string): Promise<TransferStatus> {
  for (;;) {
    const s = await getTransfer(base, id);
    if (s.state === 'done' || s.state === 'refused') return s;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A fresh transfer id. */
export function randomId(): string {
  return randomBytes(16).toString('hex');
}

function norm(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * A job 2 as the crash tests post it: a fresh WAN terminal seals `amount` of wide notes from `bankUrl`
 * to a fresh LAN terminal and posts them to the gateway's WAN listener `wan`. The answer is whatever
 * came back, an error included (a crashing gateway gives an unclear one).
 */
export async function postWanToLan(bankUrl: string, wan: string, amount: number) {
  const w = await Terminal.create('wan');
  const l = await Terminal.create('lan');
  const proofs = await w.mintWide(bankUrl, amount);
  const env = await w.sealJob(await getGatewayInfo(wan), 'wan-to-lan', {
    proofs,
    destination: l.address,
    replyTo: w.address,
  });
  const answer: unknown = await w.postJob(wan, 'wan-to-lan', env).catch((e: unknown) => e);
  return { w, l, proofs, env, answer };
}
