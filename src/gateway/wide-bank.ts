/**
 * The gateway's view of the wide bank (docs/design.md §4, §5): its published keys (`GET /v1/bank/info`), the
 * reserve account (opened at start-up, holder key = the gateway's key), the issue and receiving servers
 * (`requestIssue` / `requestReceive`, idempotency key = the job's transfer id), the wide mint's keysets
 * (`GET /v1/keys/:id`, cached per id, each id checked against its keys), NUT-07 checkstate and the WAN
 * mailbox. The jobs depend on the `WideBankPort` interface only, so tests can put a flaky bank in.
 *
 * Strangers choose the keyset ids and notes job 2 asks about, and the bank rate-limits the gateway as
 * one client (issue 8), so no stranger may make it ask per note: a keyset id is first looked up in the
 * bank's keyset LIST (`GET /v1/keysets`, cached, fetched again at most every few seconds, one fetch at
 * a time), an id not in it may wait for the next fetch (a keyset the bank made since: a rotation) and is
 * refused when that does not list it either, and keys are fetched only for listed ids. A note the
 * bank answered SPENT is remembered (NUT-07: final), so asking about it again costs the bank nothing.
 */

import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { bytesToHex } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { keysetIdV1, keysetIdV2, parseKeys } from '../core/crypto/nut02.js';
import type { EncryptionKeyPair, Envelope } from '../core/envelope/index.js';
import { fail, isLancashError } from '../core/errors.js';
import { call, isUnclear } from '../core/http/client.js';
import {
  type BankInfo,
  type BankPeer,
  bankPeer,
  getBankInfo,
  type IssueResponse,
  type Receipt,
  type RequestLogPage,
  requestIssue,
  requestLog,
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
  /** `recovery`: the job's recovery record, kept in the bank's request log (gateway/reconcile). */
  issue(
    transferId: string,
    amount: number,
    outputs: BlindedMessage[],
    recovery?: Envelope,
  ): Promise<IssueResponse>;
  /**
   * Pays notes into the reserve account; the receipt is verified against the bank's receipt key and
   * must state `credit` (the notes' value less the bank's NUT-02 input fee; default: their value).
   */
  receive(transferId: string, proofs: Proof[], recovery?: Envelope, credit?: number): Promise<Receipt>;
  /** A page of the reserve account's request log (entries with `seq > after`). */
  requests(after: number, limit: number, recovery?: boolean): Promise<RequestLogPage>;
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
const KeysetsResponse = Type.Object({ keysets: Type.Array(Type.Object({ id: KeysetId })) });
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
  /** How long the bank's keyset list is trusted before it is fetched again; default 60 s. */
  keysetListTtlMs?: number;
  /** Least time between two fetches of the keyset list (an id not in it asks for one); default 5 s. */
  keysetListMinIntervalMs?: number;
  clock?: () => number;
  /** Waits `ms` (an unlisted id waiting for the next list fetch); default a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export class WideBankClient implements WideBankPort {
  readonly base: string;
  private readonly peer: BankPeer & { receiptKey: Uint8Array };
  private readonly keysets = new Map<string, Promise<WideKeyset>>();
  private active: { at: number; keyset: Promise<WideKeyset> } | undefined;
  /** The ids of the bank's keyset list as last fetched. */
  private listed: { at: number; ids: Set<string> } | undefined;
  private listFetch: Promise<void> | undefined;
  /** The coming fetch waits out `keysetListMinIntervalMs` first (asked for by an unlisted id). */
  private listFetchDelayed = false;
  /** When an unlisted id last made a fetch wait out the interval: at most once per list TTL. */
  private delayedAt = Number.NEGATIVE_INFINITY;
  private listTriedAt = Number.NEGATIVE_INFINITY;
  private listError: unknown;
  /** Ys the bank answered SPENT, oldest first (bounded). */
  private readonly spent = new Set<string>();
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

  issue(
    transferId: string,
    amount: number,
    outputs: BlindedMessage[],
    recovery?: Envelope,
  ): Promise<IssueResponse> {
    return requestIssue({
      bank: this.peer,
      holder: this.o.holder,
      transferId,
      amount,
      outputs,
      ...(recovery !== undefined ? { recovery } : {}),
    }).catch((e: unknown) => {
      // The bank signs outputs of a rotated keyset until it retires it; a refusal of the keyset means
      // the cached active one is old: the next intake reads it again instead of waiting out the TTL.
      if (isLancashError(e, 'KeysetInactive') || isLancashError(e, 'KeysetExpired')) this.active = undefined;
      throw e;
    });
  }

  receive(transferId: string, proofs: Proof[], recovery?: Envelope, credit?: number): Promise<Receipt> {
    return requestReceive({
      bank: this.peer,
      sender: this.o.holder,
      transferId,
      account: bytesToHex(this.o.holder.publicKey),
      proofs,
      ...(recovery !== undefined ? { recovery } : {}),
      ...(credit !== undefined ? { credit } : {}),
    });
  }

  requests(after: number, limit: number, recovery?: boolean): Promise<RequestLogPage> {
    return requestLog({
      bank: this.peer,
      holder: this.o.holder,
      after,
      limit,
      ...(recovery !== undefined ? { recovery } : {}),
    });
  }

  async keyset(id: string): Promise<WideKeyset> {
    const key = id.toLowerCase();
    let found = this.keysets.get(key);
    if (found === undefined) {
      // Only an id the bank lists is worth a call of its own (NUT-02: its keys).
      if (!(await this.keysetList(key)).has(key)) {
        return fail('KeysetUnknown', { id }, `the wide bank has no keyset ${id}`);
      }
      found = this.keysets.get(key);
    }
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
    const byY = new Map<string, WideNoteState>();
    const ask = [...new Set(Ys.map((Y) => Y.toLowerCase()))].filter((Y) => !this.spent.has(Y));
    if (ask.length > 0) {
      const { states } = await call({
        base: this.base,
        method: 'POST',
        path: '/v1/checkstate',
        body: { Ys: ask },
        schema: CheckStateResponse,
        ...this.timeout(),
      });
      for (const s of states) {
        const Y = s.Y.toLowerCase();
        byY.set(Y, s.state);
        if (s.state === 'SPENT') this.rememberSpent(Y);
      }
    }
    return Ys.map((Y) => {
      const state = this.spent.has(Y.toLowerCase()) ? 'SPENT' : byY.get(Y.toLowerCase());
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

  /**
   * The ids of the bank's keyset list. Fetched when none is held or it is older than its TTL, or when
   * `wanted` is not in it, but at most once per `keysetListMinIntervalMs` and one fetch at a time. An
   * unlisted id waits for the next fetch the interval allows (one fetch for every id waiting), so a
   * keyset the bank made just after the last fetch (a rotation) is found, not refused; an id that fetch
   * does not list either is refused. Such a wait happens at most once per list TTL (rotations are rare;
   * strangers' made-up ids must not hold intakes for seconds each): otherwise an unlisted id is refused
   * from the cached list until the next fetch may run. A failed fetch leaves the last list in use; with
   * none, the failure is the answer.
   */
  private async keysetList(wanted: string): Promise<Set<string>> {
    const now = this.clock();
    const held = this.listed;
    const unlisted = held === undefined || !held.ids.has(wanted);
    const due = unlisted || now - held.at > (this.o.keysetListTtlMs ?? 60_000);
    if (due && this.listFetch === undefined) {
      const wait = this.listTriedAt + (this.o.keysetListMinIntervalMs ?? 5_000) - now;
      if (wait <= 0) this.listFetch = this.fetchList();
      else if (unlisted && now - this.delayedAt >= (this.o.keysetListTtlMs ?? 60_000)) {
        this.delayedAt = now;
        this.listFetchDelayed = true;
        const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
        this.listFetch = sleep(wait).then(() => this.fetchList());
      }
    }
    // A listed id does not wait out the interval for a refresh another id asked for.
    if (this.listFetch !== undefined && (unlisted || !this.listFetchDelayed)) await this.listFetch;
    if (this.listed === undefined) {
      if (this.listError !== undefined) throw this.listError;
      return fail(
        'UpstreamUnavailable',
        { upstream: this.base, reason: 'keyset list not fetched yet' },
        'the wide bank’s keyset list is not known yet; retry in a few seconds',
      );
    }
    return this.listed.ids;
  }

  /** One fetch of the keyset list; its outcome is kept in `listed` / `listError`. */
  private fetchList(): Promise<void> {
    this.listTriedAt = this.clock();
    return call({
      base: this.base,
      method: 'GET',
      path: '/v1/keysets',
      schema: KeysetsResponse,
      ...this.timeout(),
    })
      .then(
        ({ keysets }) => {
          this.listed = { at: this.clock(), ids: new Set(keysets.map((k) => k.id.toLowerCase())) };
          this.listError = undefined;
        },
        (e: unknown) => {
          this.listError = e;
        },
      )
      .finally(() => {
        this.listFetch = undefined;
        this.listFetchDelayed = false;
      });
  }

  private rememberSpent(Y: string): void {
    this.spent.add(Y);
    // A Set iterates in insertion order: the oldest goes first.
    if (this.spent.size > MAX_SPENT_REMEMBERED) this.spent.delete(this.spent.values().next().value!);
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

/** SPENT answers remembered: ~70 bytes each, so a few MB at most. */
const MAX_SPENT_REMEMBERED = 50_000;

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
