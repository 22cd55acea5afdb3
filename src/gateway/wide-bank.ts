/**
 * The gateway's view of the wide bank (DESIGN §4, §5): its published keys (`GET /v1/bank/info`), the
 * reserve account (opened at start-up, holder key = the gateway's key), the issue and receiving servers
 * (`requestIssue` / `requestReceive`, idempotency key = the job's transfer id), the wide mint's keysets
 * (`GET /v1/keys/:id`, cached per id, each id checked against its keys), NUT-07 checkstate and the WAN
 * mailbox. The jobs depend on the `WideBankPort` interface only, so tests can put a flaky bank in.
 */

import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { bytesToHex } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { keysetIdV1, keysetIdV2, parseKeys } from '../core/crypto/nut02.js';
import type { EncryptionKeyPair, Envelope } from '../core/envelope/index.js';
import { fail } from '../core/errors.js';
import { call, isUnclear } from '../core/http/client.js';
import {
  type BankInfo,
  type BankPeer,
  bankPeer,
  getBankInfo,
  type IssueResponse,
  type Receipt,
  requestIssue,
  requestOpenAccount,
  requestReceive,
} from '../core/protocol/bank.js';
import { type BlindedMessage, Keys, KeysetId, PointHex, type Proof } from '../core/protocol/cashu.js';
import { deposit } from '../mailbox/client.js';
import type { KeysetKeys } from './wallet.js';

/** A keyset of the wide mint, keys decoded and the id checked against them (NUT-02). */
export interface WideKeyset extends KeysetKeys {
  active: boolean;
  inputFeePpk: number;
}

export type WideNoteState = 'UNSPENT' | 'PENDING' | 'SPENT';

/** What the jobs need of the wide bank. Every call may throw `UnclearOutcome` or the bank's refusal. */
export interface WideBankPort {
  /** The bank's base URL: the mint of wide money, named in the payments of job 1. */
  readonly base: string;
  readonly info: BankInfo;
  issue(transferId: string, amount: number, outputs: BlindedMessage[]): Promise<IssueResponse>;
  /** Pays notes into the reserve account; the receipt is verified against the bank's receipt key. */
  receive(transferId: string, proofs: Proof[]): Promise<Receipt>;
  keyset(id: string): Promise<WideKeyset>;
  /** The active keyset of the deployment's unit: job 1's outputs are made on it. */
  activeKeyset(): Promise<WideKeyset>;
  checkState(Ys: string[]): Promise<WideNoteState[]>;
  /** Deposits an envelope in the WAN mailbox. */
  deposit(address: string, envelope: Envelope): Promise<void>;
}

const KeysetKeysSchema = Type.Object({
  id: KeysetId,
  unit: Type.String({ minLength: 1, maxLength: 32 }),
  active: Type.Boolean(),
  input_fee_ppk: Type.Optional(Type.Integer({ minimum: 0 })),
  keys: Keys,
});
const KeysResponse = Type.Object({ keysets: Type.Array(KeysetKeysSchema) });
const CheckStateResponse = Type.Object({
  states: Type.Array(
    Type.Object({
      Y: PointHex,
      state: Type.Union([Type.Literal('UNSPENT'), Type.Literal('PENDING'), Type.Literal('SPENT')]),
    }),
  ),
});

export interface WideBankClientOptions {
  base: string;
  /** The gateway's key pair: holder of the reserve account. */
  holder: EncryptionKeyPair;
  curve: Curve;
  /** Per call; default the client's 10 s. */
  timeoutMs?: number;
  /** How long the active keyset is trusted before it is fetched again; default 60 s. */
  activeTtlMs?: number;
  clock?: () => number;
}

export class WideBankClient implements WideBankPort {
  readonly base: string;
  private readonly peer: BankPeer & { receiptKey: Uint8Array };
  private readonly keysets = new Map<string, Promise<WideKeyset>>();
  private active: { at: number; keyset: Promise<WideKeyset> } | undefined;
  private readonly clock: () => number;

  private constructor(
    readonly info: BankInfo,
    private readonly o: WideBankClientOptions,
  ) {
    this.base = o.base.replace(/\/+$/, '');
    this.peer = {
      ...bankPeer(this.base, info),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    };
    this.clock = o.clock ?? Date.now;
  }

  /**
   * Reads the bank's keys and opens the reserve account, retrying until the bank answers (it may
   * start after the gateway). A bank of another currency is refused at once.
   */
  static async connect(
    o: WideBankClientOptions & { currency: string; log?: Pick<Logger, 'warn'>; retryMs?: number },
  ): Promise<WideBankClient> {
    const timeout = o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {};
    const info = await untilAnswered(() => getBankInfo({ base: o.base, ...timeout }), o, 'bank info');
    if (info.currency !== o.currency) {
      fail(
        'InvalidInput',
        { argument: '--wide-bank', expected: `a bank in ${o.currency}`, received: info.currency },
        `the wide bank at ${o.base} keeps ${info.currency}, this gateway ${o.currency}`,
      );
    }
    const client = new WideBankClient(info, o);
    await untilAnswered(
      () => requestOpenAccount({ bank: client.peer, holder: o.holder }),
      o,
      'reserve account',
    );
    return client;
  }

  issue(transferId: string, amount: number, outputs: BlindedMessage[]): Promise<IssueResponse> {
    return requestIssue({ bank: this.peer, holder: this.o.holder, transferId, amount, outputs });
  }

  receive(transferId: string, proofs: Proof[]): Promise<Receipt> {
    return requestReceive({
      bank: this.peer,
      sender: this.o.holder,
      transferId,
      account: bytesToHex(this.o.holder.publicKey),
      proofs,
    });
  }

  keyset(id: string): Promise<WideKeyset> {
    const key = id.toLowerCase();
    let found = this.keysets.get(key);
    if (found === undefined) {
      found = this.fetchKeysets(`/v1/keys/${encodeURIComponent(key)}`).then((list) => {
        const ks = list.find((k) => k.id === key);
        if (ks === undefined) return fail('KeysetUnknown', { id }, `the wide bank has no keyset ${id}`);
        return ks;
      });
      this.keysets.set(key, found);
      // A failed fetch is not remembered: the next note asks again.
      found.catch(() => this.keysets.delete(key));
    }
    return found;
  }

  activeKeyset(): Promise<WideKeyset> {
    const now = this.clock();
    if (this.active === undefined || now - this.active.at > (this.o.activeTtlMs ?? 60_000)) {
      const keyset = this.fetchKeysets('/v1/keys').then((list) => {
        const ks = list.find((k) => k.active && k.unit === this.info.unit);
        if (ks === undefined) {
          return fail(
            'UpstreamUnavailable',
            { upstream: this.base, reason: `no active keyset of unit ${this.info.unit}` },
            `the wide bank has no active keyset of unit ${this.info.unit}`,
          );
        }
        return ks;
      });
      const entry = { at: now, keyset };
      this.active = entry;
      keyset.catch(() => {
        if (this.active === entry) this.active = undefined;
      });
    }
    return this.active.keyset;
  }

  async checkState(Ys: string[]): Promise<WideNoteState[]> {
    const { states } = await call({
      base: this.base,
      method: 'POST',
      path: '/v1/checkstate',
      body: { Ys },
      schema: CheckStateResponse,
      ...this.timeout(),
    });
    const byY = new Map(states.map((s) => [s.Y.toLowerCase(), s.state]));
    return Ys.map((Y) => {
      const state = byY.get(Y.toLowerCase());
      if (state === undefined) {
        return fail(
          'UpstreamUnavailable',
          { upstream: this.base, reason: 'checkstate left a note out' },
          'the wide bank’s checkstate answer left a note out',
        );
      }
      return state;
    });
  }

  async deposit(address: string, envelope: Envelope): Promise<void> {
    await deposit(this.base, address, envelope, this.timeout());
  }

  private async fetchKeysets(path: string): Promise<WideKeyset[]> {
    const { keysets } = await call({
      base: this.base,
      method: 'GET',
      path,
      schema: KeysResponse,
      ...this.timeout(),
    });
    return keysets.map((k) => {
      const keys = parseKeys(k.keys, this.o.curve);
      const fee = k.input_fee_ppk ?? 0;
      const id = k.id.toLowerCase();
      // NUT-02: the id is derived from the keys, so a key swapped under a known id is caught here.
      const derived = id.startsWith('00') ? keysetIdV1(keys) : keysetIdV2(keys, k.unit, fee);
      if (derived !== id) {
        fail(
          'UpstreamUnavailable',
          { upstream: this.base, reason: `keyset ${id} does not match its keys` },
          `the wide bank’s keyset ${id} does not match its keys`,
        );
      }
      return { id, unit: k.unit, active: k.active, inputFeePpk: fee, keys };
    });
  }

  private timeout(): { timeoutMs?: number } {
    return this.o.timeoutMs !== undefined ? { timeoutMs: this.o.timeoutMs } : {};
  }
}

/** Retries `fn` while the outcome is unclear (the bank is down or starting), with a capped backoff. */
async function untilAnswered<T>(
  fn: () => Promise<T>,
  o: { log?: Pick<Logger, 'warn'>; retryMs?: number; base: string },
  what: string,
): Promise<T> {
  let wait = 100;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isUnclear(e)) throw e;
      o.log?.warn({ bank: o.base, what, retryInMs: wait, err: e.message }, 'waiting for the wide bank');
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, o.retryMs ?? 5_000);
    }
  }
}
