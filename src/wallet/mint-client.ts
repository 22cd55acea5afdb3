/**
 * The wallet's side of the Cashu mint endpoints (NUT-01/02/03/04/07/09, `bolt11` of NUT-23): keysets
 * whose ids the wallet recomputes from their keys before trusting them (NUT-02), swap, checkstate,
 * restore and the Lightning mint quote. Answers are decoded by schemas here, at the edge.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { Curve } from '../core/crypto/curve.js';
import { keysetIdV1, keysetIdV2, parseKeys } from '../core/crypto/nut02.js';
import { fail, LancashError } from '../core/errors.js';
import {
  BlankMessage,
  type BlindedMessage,
  BlindSignature,
  Keys,
  KeysetId,
  PointHex,
  type Proof,
} from '../core/protocol/cashu.js';
import { MINT_INFO_PATH, MintInfoNuts, P2pkSupport } from '../core/protocol/mint-info.js';
import type { WalletNet } from './net.js';

const Unit = Type.String({ minLength: 1, maxLength: 32 });
const KeysetEntry = Type.Object({
  id: KeysetId,
  unit: Unit,
  active: Type.Boolean(),
  input_fee_ppk: Type.Optional(Type.Integer({ minimum: 0 })),
});
const KeysetsAnswer = Type.Object({ keysets: Type.Array(KeysetEntry) });
const KeysAnswer = Type.Object({
  keysets: Type.Array(Type.Object({ id: KeysetId, unit: Unit, keys: Keys })),
});
const SignaturesAnswer = Type.Object({ signatures: Type.Array(BlindSignature) });
const ProofState = Type.Object({
  Y: PointHex,
  state: Type.Union([Type.Literal('UNSPENT'), Type.Literal('PENDING'), Type.Literal('SPENT')]),
});
const CheckStateAnswer = Type.Object({ states: Type.Array(ProofState) });
const RestoreAnswer = Type.Object({
  outputs: Type.Array(BlankMessage),
  signatures: Type.Array(BlindSignature),
});
const QuoteState = Type.Union([Type.Literal('UNPAID'), Type.Literal('PAID'), Type.Literal('ISSUED')]);
const MintQuote = Type.Object({
  quote: Type.String({ minLength: 1, maxLength: 128 }),
  request: Type.String(),
  state: QuoteState,
  expiry: Type.Union([Type.Integer(), Type.Null()]),
});

export type MintQuote = Static<typeof MintQuote>;
export type ProofState = Static<typeof ProofState>['state'];

/** A keyset whose id matched its keys. */
export interface Keyset {
  id: string;
  unit: string;
  active: boolean;
  inputFeePpk: number;
  /** Amount → the mint's public key K for it. */
  keys: Map<number, Uint8Array>;
}

/** Items per checkstate / restore request: well below a mint's usual 1000. */
export const BATCH = 100;

export class MintClient {
  private entries: Static<typeof KeysetEntry>[] | undefined;
  private readonly keysets = new Map<string, Keyset>();
  private lastActive: string | undefined;
  /** How often the active keyset of the wallet's unit was seen to change (a rotation): notes to renew. */
  rotationsSeen = 0;
  private readonly p2pk = new P2pkSupport(() => this.request('GET', MINT_INFO_PATH, MintInfoNuts));

  constructor(
    private readonly net: WalletNet,
    readonly url: string,
    readonly unit: string,
    private readonly curve: Curve,
  ) {}

  private request<S extends TSchema>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<Static<S>> {
    return this.net.call({ base: this.url, method, path, schema, ...(body === undefined ? {} : { body }) });
  }

  /** Whether the mint says it enforces NUT-11 P2PK (NUT-06): only then are payments locked. */
  enforcesP2pk(): Promise<boolean> {
    return this.p2pk.supported();
  }

  /** NUT-02 keysets of every unit the mint has (the wallet picks its unit at `init`). */
  async units(): Promise<string[]> {
    return [...new Set((await this.keysetEntries()).map((k) => k.unit))];
  }

  /** The mint's keyset list, read again when `fresh` (the mint may have rotated its keys since). */
  private async keysetEntries(fresh = false): Promise<Static<typeof KeysetEntry>[]> {
    if (fresh || this.entries === undefined) {
      this.entries = (await this.request('GET', '/v1/keysets', KeysetsAnswer)).keysets;
      const active = this.entries.find((k) => k.active && k.unit === this.unit)?.id;
      if (this.lastActive !== undefined && active !== undefined && active !== this.lastActive)
        this.rotationsSeen++;
      if (active !== undefined) this.lastActive = active;
    }
    return this.entries;
  }

  /** The ids of the wallet unit's keysets the mint no longer signs with (NUT-02 `active: false`), read now. */
  async inactiveKeysetIds(): Promise<Set<string>> {
    const list = await this.keysetEntries(true);
    return new Set(list.filter((k) => !k.active && k.unit === this.unit).map((k) => k.id));
  }

  /** The keyset new outputs go to: active, of the wallet's unit, the cheapest to spend. */
  async activeKeyset(): Promise<Keyset> {
    // Asked each time: a wallet open across a rotation (a browser tab) must not make outputs the mint refuses.
    const active = (await this.keysetEntries(true))
      .filter((k) => k.active && k.unit === this.unit)
      .sort((a, b) => (a.input_fee_ppk ?? 0) - (b.input_fee_ppk ?? 0));
    const first = active[0];
    if (!first) {
      return fail(
        'KeysetUnknown',
        { id: '(active)' },
        `mint ${this.url} has no active keyset for unit ${this.unit}`,
      );
    }
    return this.keyset(first.id);
  }

  /** Every keyset of the wallet's unit, active or not (restore walks them all). */
  async allKeysets(): Promise<Keyset[]> {
    const ids = (await this.keysetEntries()).filter((k) => k.unit === this.unit).map((k) => k.id);
    return Promise.all(ids.map((id) => this.keyset(id)));
  }

  /** A keyset by id, its id checked against its keys (NUT-02); `KeysetUnknown` for another unit's. */
  async keyset(id: string): Promise<Keyset> {
    const known = this.keysets.get(id);
    if (known) return known;
    // An id not in the list read earlier may be a keyset made since (a rotation): read the list again.
    const entry =
      (await this.keysetEntries()).find((k) => k.id === id) ??
      (await this.keysetEntries(true)).find((k) => k.id === id);
    if (!entry || entry.unit !== this.unit) {
      return fail('KeysetUnknown', { id }, `keyset ${id} is not a ${this.unit} keyset of ${this.url}`);
    }
    const answer = await this.request('GET', `/v1/keys/${encodeURIComponent(id)}`, KeysAnswer);
    const published = answer.keysets.find((k) => k.id === id);
    if (!published) return fail('KeysetUnknown', { id }, `mint ${this.url} sent no keys for keyset ${id}`);
    const keys = parseKeys(published.keys, this.curve);
    const fee = entry.input_fee_ppk ?? 0;
    const computed = id.startsWith('00') ? keysetIdV1(keys) : keysetIdV2(keys, entry.unit, fee);
    if (computed !== id) {
      fail(
        'InvalidKeyset',
        { reason: 'id does not match keys' },
        `keyset ${id}: its keys give id ${computed}`,
      );
    }
    const keyset: Keyset = { id, unit: entry.unit, active: entry.active, inputFeePpk: fee, keys };
    this.keysets.set(id, keyset);
    return keyset;
  }

  /** The mint's public key for `amount` in keyset `id`. */
  async key(id: string, amount: number): Promise<Uint8Array> {
    const K = (await this.keyset(id)).keys.get(amount);
    if (!K) {
      return fail(
        'InvalidDenomination',
        { amount, keyset: id },
        `keyset ${id} has no key for amount ${amount}`,
      );
    }
    return K;
  }

  /** NUT-02 fee for spending `inputs`: ceil(Σ input_fee_ppk / 1000). */
  async fee(inputs: readonly Proof[]): Promise<number> {
    let ppk = 0;
    for (const p of inputs) ppk += (await this.keyset(p.id)).inputFeePpk;
    return Math.ceil(ppk / 1000);
  }

  /** NUT-03. */
  async swap(inputs: readonly Proof[], outputs: readonly BlindedMessage[]) {
    return (await this.request('POST', '/v1/swap', SignaturesAnswer, { inputs, outputs })).signatures;
  }

  /** NUT-07 states in the order of `Ys`, asked in batches. */
  async checkState(Ys: readonly string[]): Promise<ProofState[]> {
    const states: ProofState[] = [];
    for (let i = 0; i < Ys.length; i += BATCH) {
      const batch = Ys.slice(i, i + BATCH);
      const answer = await this.request('POST', '/v1/checkstate', CheckStateAnswer, { Ys: batch });
      const byY = new Map(answer.states.map((s) => [s.Y.toLowerCase(), s.state]));
      for (const Y of batch) {
        const state = byY.get(Y.toLowerCase());
        if (state === undefined) {
          throw new LancashError(
            'Internal',
            { reason: 'checkstate answer misses a Y' },
            `mint ${this.url} did not answer the state of ${Y}`,
          );
        }
        states.push(state);
      }
    }
    return states;
  }

  /** NUT-09: the signatures the mint once gave for these blinded messages (amount 0: unknown to us). */
  async restore(outputs: readonly { id: string; B_: string }[]) {
    const request = outputs.map((o) => ({ amount: 0, id: o.id, B_: o.B_ }));
    return this.request('POST', '/v1/restore', RestoreAnswer, { outputs: request });
  }

  /** NUT-04/23: a `bolt11` quote for new notes worth `amount`; NUT-20: locked to `pubkey` when given. */
  mintQuote(amount: number, pubkey?: string): Promise<MintQuote> {
    return this.request('POST', '/v1/mint/quote/bolt11', MintQuote, {
      amount,
      unit: this.unit,
      ...(pubkey !== undefined ? { pubkey } : {}),
    });
  }

  getMintQuote(quote: string): Promise<MintQuote> {
    return this.request('GET', `/v1/mint/quote/bolt11/${encodeURIComponent(quote)}`, MintQuote);
  }

  /** NUT-04: signatures on `outputs` for a paid quote; `signature`: NUT-20's, for a locked quote. */
  async mint(quote: string, outputs: readonly BlindedMessage[], signature?: string) {
    const body = { quote, outputs, ...(signature !== undefined ? { signature } : {}) };
    return (await this.request('POST', '/v1/mint/bolt11', SignaturesAnswer, body)).signatures;
  }
}
