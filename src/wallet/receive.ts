/**
 * Money arriving: the terminal drains its inbox at its network's mailbox, opens each envelope,
 * and swaps the notes of every `lancash.payment` at its mint at once, so the payer cannot spend them
 * again. A payment is journaled (its notes and the planned swap) before the message is acked, so a
 * crash loses nothing; transfer ids already seen are skipped. Notes of another mint or unit, or locked
 * to another key, are refused and recorded; notes locked to this terminal's key (NUT-11) are signed for
 * in the swap (`locks.ts`). `cashuB` tokens take the same path.
 */
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex, hex } from '../core/bytes.js';
import { openJson } from '../core/envelope/index.js';
import { describe, ERRORS, fail, isLancashError } from '../core/errors.js';
import { sum } from '../core/money.js';
import { formatMoney } from '../core/money-format.js';
import type { Proof } from '../core/protocol/cashu.js';
import { decode } from '../core/protocol/cashu.js';
import { GATEWAY_NOTICE, Notice, PAYMENT, Payment, type TransferStatus } from '../core/protocol/gateway.js';
import { decodeToken } from '../core/token/index.js';
import { mailboxOf, messageOf, newId, type WalletContext } from './context.js';
import { lockRefusal, senderLockKey } from './locks.js';
import type { InboxMessage } from './net.js';
import { advanced } from './settle.js';
import type { Operation } from './store.js';
import { executeSwap, planSwap, recoverSwap, toStored } from './swap.js';

export interface ReceiveSummary {
  /** Payments taken in (or still being swapped: `state` says which). */
  received: Operation[];
  /** Payments refused (another mint, notes already spent, …), each with its reason. */
  refused: Operation[];
  /** Gateway notices about this terminal's own transfers. */
  notices: number;
  /** Messages that were neither (unreadable, unknown type, seen before). */
  ignored: number;
}

export interface DrainHooks {
  /** A `gateway.notice` about a transfer; the caller matches it to its operation. */
  onNotice(status: TransferStatus, sender: Uint8Array): Promise<void>;
}

/** Normalised form of a mint URL, so `http://H:P/` and `http://h:p` are one mint. */
export function normalizeMintUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(
      'InvalidInput',
      { argument: 'mint', expected: 'an http(s) URL', received: describe(url) },
      `mint: expected an http(s) URL, got ${describe(url)}`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail(
      'InvalidInput',
      { argument: 'mint', expected: 'an http(s) URL', received: describe(url) },
      `mint: expected an http(s) URL, got ${describe(url)}`,
    );
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** Drains the inbox until it is empty; every message's effect is journaled before it is acked. */
export async function drainInbox(ctx: WalletContext, hooks: DrainHooks): Promise<ReceiveSummary> {
  const base = mailboxOf(ctx);
  const info = await ctx.net.mailboxInfo(base);
  if (info.network !== ctx.config.network) {
    fail(
      'InvalidInput',
      { argument: 'mailbox', expected: `a ${ctx.config.network} mailbox`, received: `a ${info.network} one` },
      `the mailbox at ${base} serves the ${info.network} network, this wallet is on ${ctx.config.network}`,
    );
  }
  const serverKey = hex(info.key, 'mailbox key', 32);
  const summary: ReceiveSummary = { received: [], refused: [], notices: 0, ignored: 0 };
  let ack: string[] = [];
  for (;;) {
    const answer = await ctx.net.drain(base, { owner: ctx.keys, address: ctx.address, serverKey, ack });
    if (answer.messages.length === 0) return summary;
    ack = [];
    for (const message of answer.messages) {
      await take(ctx, message, hooks, summary);
      ack.push(message.id);
    }
  }
}

async function take(
  ctx: WalletContext,
  message: InboxMessage,
  hooks: DrainHooks,
  summary: ReceiveSummary,
): Promise<void> {
  let opened: Awaited<ReturnType<typeof openJson>>;
  try {
    opened = await openJson({ envelope: message.envelope, recipient: ctx.keys });
  } catch {
    summary.ignored++; // not for this key, or tampered: nothing to take
    return;
  }
  if (opened.type === GATEWAY_NOTICE) {
    try {
      await hooks.onNotice(decode(Notice, opened.payload, 'notice').status, opened.sender);
      summary.notices++;
    } catch {
      summary.ignored++;
    }
    return;
  }
  if (opened.type !== PAYMENT) {
    summary.ignored++;
    return;
  }
  const sender = bytesToHex(opened.sender);
  const seen = `${sender}:${opened.transferId}`;
  if (await ctx.store.hasSeen(seen)) {
    summary.ignored++;
    return;
  }
  let payment: Payment;
  try {
    payment = decode(Payment, opened.payload, 'payment');
  } catch (e) {
    summary.refused.push(await refuse(ctx, opened.transferId, sender, seen, 0, messageOf(e)));
    return;
  }
  const incoming: Incoming = {
    proofs: payment.proofs,
    mint: payment.mint,
    unit: payment.unit,
    transferId: opened.transferId,
    // The sender's address on this network (its key, and the lock key its payment names, so history
    // shows the address the sender shows); the gateway's payment names its direction, or payroll.
    counterparty: payment.via
      ? `gateway (${payment.via.kind === 'payroll' ? 'payroll' : payment.via.direction})`
      : encodeAddress({
          network: ctx.config.network,
          publicKey: opened.sender,
          ...senderLockKey(payment.proofs, ctx.lock),
        }),
    seen,
    ...(payment.memo === undefined ? {} : { memo: payment.memo }),
  };
  let op: Operation;
  try {
    op = await accept(ctx, incoming);
  } catch (e) {
    // A refusal is about this message only (a poison message must not block the inbox); no answer is not.
    if (!isLancashError(e)) throw e;
    op = await refuse(ctx, opened.transferId, incoming.counterparty, seen, 0, messageOf(e));
  }
  (op.state === 'failed' ? summary.refused : summary.received).push(op);
}

interface Incoming {
  proofs: Proof[];
  mint: string;
  unit: string;
  transferId?: string;
  counterparty: string;
  memo?: string;
  /** Remembered with the journal entry, so a second delivery is skipped. */
  seen?: string;
}

/**
 * Journals incoming notes with the swap that makes them the wallet's, then swaps. Notes of another
 * mint or unit, of a keyset the mint does not list for the unit, or locked to a key that is not this
 * wallet's, are refused without a swap.
 */
async function accept(ctx: WalletContext, incoming: Incoming): Promise<Operation> {
  const amount = sum(incoming.proofs.map((p) => p.amount));
  const refused = (why: string) =>
    refuse(ctx, incoming.transferId, incoming.counterparty, incoming.seen, amount, why);
  let mint: string;
  try {
    mint = normalizeMintUrl(incoming.mint);
  } catch {
    return refused(`notes of an unreadable mint URL ${describe(incoming.mint)}`);
  }
  if (mint !== ctx.config.mint)
    return refused(`notes of another mint (${mint}); this wallet takes ${ctx.config.mint}`);
  if (incoming.unit !== ctx.config.unit)
    return refused(`notes in ${incoming.unit}; this wallet holds ${ctx.config.unit}`);
  try {
    for (const id of new Set(incoming.proofs.map((p) => p.id))) await ctx.mint.keyset(id);
  } catch (e) {
    if (!isLancashError(e)) throw e;
    return refused(messageOf(e));
  }
  const locked = lockRefusal(incoming.proofs, ctx.lock);
  if (locked !== undefined) return refused(locked);
  // NUT-02: the receive swap pays the notes' input fee out of them; notes worth no more are refused.
  const fee = await ctx.mint.fee(incoming.proofs);
  if (amount <= fee) {
    return refused(
      `notes worth ${formatMoney(amount, ctx.config.unit)} do not cover the mint’s input fee ${formatMoney(fee, ctx.config.unit)}`,
    );
  }
  const at = ctx.now();
  const op: Operation = {
    id: newId(),
    kind: 'receive',
    state: 'prepared',
    direction: 'in',
    amount,
    createdAt: at,
    updatedAt: at,
    counterparty: incoming.counterparty,
    ...(incoming.transferId === undefined ? {} : { transferId: incoming.transferId }),
    ...(incoming.memo === undefined ? {} : { memo: incoming.memo }),
    data: { swap: await planSwap(ctx, incoming.proofs, 0) },
  };
  await ctx.store.commit({ operation: op, ...(incoming.seen ? { seen: [incoming.seen] } : {}) });
  ctx.step('wallet:receive:after-journal');
  return finishReceive(ctx, op, false);
}

/**
 * Swaps a journaled receipt's notes (or, on `resume`, first asks the mint whether the swap happened):
 * done → the notes are the wallet's; refused → recorded with the mint's reason; unclear → stays open.
 */
export async function finishReceive(ctx: WalletContext, op: Operation, resume: boolean): Promise<Operation> {
  const plan = op.data.swap!;
  let outcome = resume ? await recoverSwap(ctx, plan) : await executeSwap(ctx, plan);
  if (resume && outcome.kind === 'not-done' && outcome.spent.length === 0)
    outcome = await executeSwap(ctx, plan);
  // Not done, nothing spent and nobody refused (the call failed, the mint says the notes are still
  // unspent): the payment is still ours to take; it stays open and the next recovery swaps again.
  const unrefused = outcome.kind === 'not-done' && outcome.spent.length === 0 && !outcome.refusal;
  if (outcome.kind === 'unclear' || unrefused) {
    const reason = outcome.kind === 'unclear' ? outcome.reason : 'the swap did not happen; it is tried again';
    const waiting = advanced(ctx, op, 'prepared', { reason });
    await ctx.store.commit({ operation: waiting });
    return waiting;
  }
  if (outcome.kind === 'not-done') {
    const why = outcome.refusal?.message ?? 'the notes were already spent (the payer spent them elsewhere)';
    const refusal = { code: outcome.refusal?.code ?? ERRORS.ProofsAlreadySpent.code, detail: why };
    const failed = advanced(ctx, op, 'failed', {
      reason: `refused: ${why}`,
      data: { ...op.data, transfer: { state: 'refused', refusal } },
    });
    await ctx.store.commit({ operation: failed });
    return failed;
  }
  const got = outcome.proofs.reduce((n, p) => n + p.amount, 0);
  // The history shows what arrived (`amount`) and the input fee the swap paid out of the notes.
  const fee = sum(plan.inputs.map((p) => p.amount)) - got;
  const { reason: _reason, ...done } = advanced(ctx, op, 'done', {
    amount: got,
    ...(fee > 0 ? { data: { ...op.data, fee } } : {}),
  });
  await ctx.store.commit({ notes: toStored(ctx, outcome.proofs, 'unspent'), operation: done });
  return done;
}

/** Takes in a `cashuB` (or `cashuA`) token of this wallet's mint; throws when it is refused. */
export async function tokenReceive(ctx: WalletContext, token: string): Promise<Operation> {
  const ids = (await ctx.mint.allKeysets()).map((k) => k.id);
  const decoded = decodeToken(token, {
    // NUT-00: a V4 token may carry the short form of a v2 keyset id.
    resolveShortKeysetId: (short) => {
      const matches = ids.filter((id) => id.startsWith(short.toLowerCase()));
      if (matches.length > 1)
        fail(
          'InvalidToken',
          { reason: 'ambiguous keyset id' },
          `token: short keyset id ${short} is ambiguous`,
        );
      return matches[0];
    },
  });
  const mint = normalizeMintUrl(decoded.mint);
  if (mint !== ctx.config.mint || decoded.unit !== ctx.config.unit) {
    fail(
      'MintMismatch',
      { expected: `${ctx.config.mint} (${ctx.config.unit})`, received: `${mint} (${decoded.unit})` },
      `the token is for ${mint} (${decoded.unit}); this wallet takes ${ctx.config.mint} (${ctx.config.unit})`,
    );
  }
  const op = await accept(ctx, {
    proofs: decoded.proofs,
    mint,
    unit: decoded.unit,
    counterparty: `token from ${mint}`,
    ...(decoded.memo === undefined ? {} : { memo: decoded.memo }),
  });
  if (op.state === 'failed') {
    const reason = op.reason ?? 'refused';
    const code = op.data.transfer?.refusal?.code ?? ERRORS.TransferRefused.code;
    return fail('TransferRefused', { transferId: op.id, code, reason }, `the token was ${reason}`);
  }
  return op;
}

async function refuse(
  ctx: WalletContext,
  transferId: string | undefined,
  counterparty: string,
  seen: string | undefined,
  amount: number,
  reason: string,
): Promise<Operation> {
  const at = ctx.now();
  const op: Operation = {
    id: newId(),
    kind: 'receive',
    state: 'failed',
    direction: 'in',
    amount,
    createdAt: at,
    updatedAt: at,
    counterparty,
    reason: `refused: ${reason}`,
    ...(transferId === undefined ? {} : { transferId }),
    data: {},
  };
  await ctx.store.commit({ operation: op, ...(seen ? { seen: [seen] } : {}) });
  return op;
}
