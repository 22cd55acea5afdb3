/**
 * Test helpers for the wide bank (used by its service and integration tests only): a bank assembled on
 * a store without HTTP, holders with key pairs, the holder's side of the envelopes (seal a request,
 * open the answer, unblind the notes), and raw HTTP to a running wide-bank process.
 */
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { bytesToHex, hex } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { unblind } from '../core/crypto/nut00.js';
import {
  type EncryptionKeyPair,
  type Envelope,
  generateEncryptionKeyPair,
  openJson,
  sealJson,
} from '../core/envelope/index.js';
import { call } from '../core/http/client.js';
import {
  BANK_ISSUE_REQUEST,
  BANK_ISSUE_RESPONSE,
  BANK_RECEIVE_REQUEST,
  BANK_RECEIVE_RESPONSE,
  type BankInfo,
  type BankPeer,
  bankPeer,
  getBankInfo,
  IssueResponse,
  type Receipt,
  ReceiveResponse,
} from '../core/protocol/bank.js';
import { type BlindedMessage, type BlindSignature, decode, type Proof } from '../core/protocol/cashu.js';
import { Mint, type MintLimits } from '../mint/mint.js';
import type { Store } from '../store/index.js';
import { IssueService } from '../wide-bank/issue/service.js';
import { BankKeys } from '../wide-bank/keys.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { ReceiveService } from '../wide-bank/receive/service.js';
import type { PendingOutput } from './notes.js';

export interface Holder {
  pair: EncryptionKeyPair;
  /** Public key hex: what names the holder's account. */
  key: string;
}

export async function newHolder(): Promise<Holder> {
  const pair = await generateEncryptionKeyPair();
  return { pair, key: bytesToHex(pair.publicKey) };
}

export interface TestBank {
  store: Store;
  mint: Mint;
  ledger: Ledger;
  keys: BankKeys;
  issue: IssueService;
  receive: ReceiveService;
}

/** The bank's services on `store`, crypto in-thread. Two of these on one database act like two processes. */
export async function testBank(store: Store, curve: Curve, limits?: Partial<MintLimits>): Promise<TestBank> {
  const ledger = new Ledger(store);
  const mint = await Mint.open({
    store,
    unit: 'eur',
    curve,
    onSwapFee: async (trx, op, fee) => {
      await ledger.postFee(trx, fee, op);
    },
    ...(limits ? { limits } : {}),
  });
  const keys = await BankKeys.load(store);
  return {
    store,
    mint,
    ledger,
    keys,
    issue: new IssueService({ mint, ledger, keys }),
    receive: new ReceiveService({ mint, ledger, keys }),
  };
}

export function sealIssue(
  bankKey: Uint8Array,
  holder: Holder,
  transferId: string,
  amount: number,
  outputs: readonly BlindedMessage[],
): Promise<Envelope> {
  return sealJson({
    type: BANK_ISSUE_REQUEST,
    transferId,
    sender: holder.pair,
    recipient: bankKey,
    payload: { amount, outputs },
  });
}

export function sealReceive(
  bankKey: Uint8Array,
  sender: Holder,
  transferId: string,
  account: string,
  proofs: readonly Proof[],
): Promise<Envelope> {
  return sealJson({
    type: BANK_RECEIVE_REQUEST,
    transferId,
    sender: sender.pair,
    recipient: bankKey,
    payload: { proofs, account },
  });
}

export async function openIssueAnswer(
  answer: string,
  holder: Holder,
  bankKey: Uint8Array,
): Promise<BlindSignature[]> {
  const opened = await openJson({
    envelope: answer,
    recipient: holder.pair,
    expectedSender: bankKey,
    expectedType: BANK_ISSUE_RESPONSE,
  });
  return decode(IssueResponse, opened.payload, 'answer').signatures;
}

export async function openReceiveAnswer(
  answer: string,
  sender: Holder,
  bankKey: Uint8Array,
): Promise<Receipt> {
  const opened = await openJson({
    envelope: answer,
    recipient: sender.pair,
    expectedSender: bankKey,
    expectedType: BANK_RECEIVE_RESPONSE,
  });
  return decode(ReceiveResponse, opened.payload, 'answer').receipt;
}

/** NUT-00 C = C_ − rK, with `K(amount, keysetId)` the mint's public key for that amount. */
export function unblindAll(
  curve: Curve,
  K: (amount: number, keysetId: string) => Uint8Array,
  outputs: readonly PendingOutput[],
  sigs: readonly BlindSignature[],
): Proof[] {
  return outputs.map((o, i) => {
    const s = sigs[i]!;
    const C = unblind(curve, hex(s.C_, 'C_', 33), o.r, K(s.amount, s.id));
    return { amount: s.amount, id: s.id, secret: o.secret, C: bytesToHex(C) };
  });
}

/** What a test needs to talk to a running wide-bank process over HTTP. */
export interface RemoteBank {
  url: string;
  info: BankInfo;
  peer: BankPeer & { receiptKey: Uint8Array };
  keysetId: string;
  /** The mint's public key for an amount of a keyset (from `GET /v1/keys`). */
  K(amount: number, keysetId: string): Uint8Array;
}

export async function remoteBank(url: string): Promise<RemoteBank> {
  const info = await getBankInfo({ base: url });
  const keys = (await call({ base: url, method: 'GET', path: '/v1/keys' })) as {
    keysets: { id: string; keys: Record<string, string> }[];
  };
  const byId = new Map(keys.keysets.map((k) => [k.id, k.keys]));
  return {
    url,
    info,
    peer: bankPeer(url, info),
    keysetId: keys.keysets[0]!.id,
    K: (amount, keysetId) => hex(byId.get(keysetId)?.[String(amount)], `K ${keysetId}/${amount}`, 33),
  };
}

export interface Raw {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read untyped JSON answers field by field
  json: any;
}

/** Sends a body as it is (a string) or as JSON, and keeps the exact answer text. */
export async function rawPost(url: string, path: string, body: unknown): Promise<Raw> {
  const res = await request(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, text, json };
}

/**
 * Posts a body too large for the route: declares its full length, sends the first 64 KiB and waits for
 * the early refusal. (Sending it all races the server, which answers 413 and closes the socket: the
 * kernel may then reset the connection and drop that answer.)
 */
export function oversizedPost(url: string, path: string, body: string): Promise<Raw> {
  const bytes = Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        text += s;
      });
      res.on('end', () => {
        req.destroy();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.write(bytes.subarray(0, 64 * 1024));
  });
}

/** The tables an issue or receive writes, whole, in a fixed order. */
const BANK_STATE_TABLES = {
  bank_accounts: 'id',
  bank_requests: 'key',
  bank_request_log: 'key',
  bank_entries: 'id',
  bank_chain: 'id',
  mint_signatures: 'b_',
  mint_proofs: 'y',
  mint_totals: 'id',
} as const;

/**
 * Every row of every table an issue or receive writes (balances, log counters, the chain head, the
 * mint's running totals included), as text: a refused request must leave it exactly as it was.
 */
export async function bankState(store: Store): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const [table, key] of Object.entries(BANK_STATE_TABLES) as [
    keyof typeof BANK_STATE_TABLES,
    string,
  ][]) {
    out[table] = await store.db
      .selectFrom(table)
      .selectAll()
      .orderBy(key as never)
      .execute();
  }
  return JSON.stringify(out, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
