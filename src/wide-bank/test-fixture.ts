/**
 * Test helpers for the wide bank (used by its service and integration tests only): a bank assembled on
 * a store without HTTP, holders with key pairs, and the holder's side of the envelopes (seal a
 * request, open the answer, unblind the notes).
 */
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
import {
  BANK_ISSUE_REQUEST,
  BANK_ISSUE_RESPONSE,
  BANK_RECEIVE_REQUEST,
  BANK_RECEIVE_RESPONSE,
  IssueResponse,
  type Receipt,
  ReceiveResponse,
} from '../core/protocol/bank.js';
import { type BlindedMessage, type BlindSignature, decode, type Proof } from '../core/protocol/cashu.js';
import { Mint, type MintLimits } from '../mint/mint.js';
import type { Store } from '../store/index.js';
import type { PendingOutput } from '../test-support/notes.js';
import { IssueService } from './issue/service.js';
import { BankKeys } from './keys.js';
import { Ledger } from './ledger/service.js';
import { ReceiveService } from './receive/service.js';

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
  const mint = await Mint.open({ store, unit: 'eur', curve, ...(limits ? { limits } : {}) });
  const ledger = new Ledger(store);
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
