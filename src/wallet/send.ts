/**
 * Money leaving the terminal: a payment to an address on the same network (a sealed `lancash.payment`
 * deposited in the recipient's inbox), a transfer to the other network through the gateway (a sealed
 * `gateway.job1.request` or `gateway.job2.request`, followed until it ends), and a `cashuB` token.
 *
 * Every one runs the same journal: reserve the notes (pending under the operation) and journal the
 * swap → swap for the exact amount (change kept) → journal the sealed envelope or token (the point
 * of no return) → deliver. A crash before the envelope is journaled rolls back; after it, delivery is
 * retried with the same bytes. Notes come back only through a reclaim swap (`settle.ts`).
 */
import { decodeAddress } from '../core/address/index.js';
import { hex } from '../core/bytes.js';
import { sealJson } from '../core/envelope/index.js';
import { fail, isLancashError } from '../core/errors.js';
import { notesAfterFee } from '../core/fees.js';
import { type Amount, sum, toAmount } from '../core/money.js';
import { formatMoney } from '../core/money-format.js';
import type { Proof } from '../core/protocol/cashu.js';
import {
  JOB1_PATH,
  JOB1_REQUEST,
  JOB2_PATH,
  JOB2_REQUEST,
  PAYMENT,
  type TransferStatus,
  TransferStatus as TransferStatusSchema,
} from '../core/protocol/gateway.js';
import { encodeTokenV4 } from '../core/token/index.js';
import { mailboxOf, messageOf, newId, reachable, type WalletContext } from './context.js';
import type { Lock } from './locks.js';
import { inputFee, selectNotes } from './select.js';
import { advanced, heldNotes, reclaim, rollBack, settleByState } from './settle.js';
import type { Operation, OperationData, OperationKind, OperationState } from './store.js';
import { withState } from './store.js';
import { byRole, executeSwap, planSwap, toStored } from './swap.js';

export type SendProgress =
  | { stage: 'swapped' | 'delivered' | 'posted' }
  | { stage: 'transfer'; status: TransferStatus };

export interface SendOptions {
  /** The recipient's address (`lan1…` / `wan1…`). */
  to: string;
  amount: number;
  memo?: string;
  onProgress?: (p: SendProgress) => void;
  /** How long to follow a gateway transfer before returning it as pending; default 60 s. */
  followMs?: number;
}

const MAX_MEMO = 256;
const DEFAULT_FOLLOW_MS = 60_000;

/** Pays `amount` to `to`: directly on the same network, through the gateway to the other. */
export async function send(ctx: WalletContext, o: SendOptions): Promise<Operation> {
  const amount = toAmount(o.amount);
  const destination = decodeAddress(o.to);
  if (o.memo !== undefined && (typeof o.memo !== 'string' || o.memo.length > MAX_MEMO)) {
    fail(
      'InvalidInput',
      { argument: 'memo', expected: `at most ${MAX_MEMO} characters`, received: String(o.memo.length) },
      `memo: expected at most ${MAX_MEMO} characters`,
    );
  }
  const memo = o.memo === undefined ? {} : { memo: o.memo };
  const progress = o.onProgress ?? (() => {});

  if (destination.network === ctx.config.network) {
    const deliverTo = destination.inbox ?? mailboxOf(ctx);
    // Before anything is reserved: an inbox that cannot be reached must change nothing.
    const inbox = await reachable(deliverTo, () => ctx.net.mailboxInfo(deliverTo));
    if (inbox.network !== destination.network) {
      fail(
        'AddressInvalid',
        { address: o.to.slice(0, 20), reason: 'network' },
        `the inbox at ${deliverTo} is on the ${inbox.network} network, not ${destination.network}`,
      );
    }
    // Locked deliveries: to an address with a lock key, the notes are spendable by the recipient's key
    // (and ours, so an undelivered payment can still be taken back), by nobody who merely sees them.
    // Only at a mint that enforces NUT-11 (NUT-06): elsewhere locked notes could be lost or open to all.
    const lock =
      destination.lockKey !== undefined && (await ctx.mint.enforcesP2pk())
        ? { to: destination.lockKey, from: ctx.lock.publicKey }
        : undefined;
    let op = await prepare(ctx, 'send', amount, o.to, { deliverTo, address: o.to }, memo, lock);
    op = await swapOut(ctx, op, 'delivering', async (proofs) => ({
      envelope: await sealJson({
        type: PAYMENT,
        transferId: op.id,
        sender: ctx.keys,
        recipient: destination.publicKey,
        payload: { mint: ctx.config.mint, unit: ctx.config.unit, proofs, ...memo },
      }),
    }));
    progress({ stage: 'swapped' });
    if (op.state === 'delivering') op = await deliver(ctx, op);
    if (op.state === 'done') progress({ stage: 'delivered' });
    return op;
  }

  const gateway = ctx.config.gateway;
  if (gateway === undefined) {
    return fail(
      'InvalidInput',
      {
        argument: 'to',
        expected: `a ${ctx.config.network} address (this wallet has no gateway)`,
        received: `a ${destination.network} address`,
      },
      `to: ${o.to.slice(0, 12)}… is on the ${destination.network} network and this wallet has no gateway (init --gateway URL)`,
    );
  }
  const info = await reachable(gateway, () => ctx.net.gatewayInfo(gateway));
  if (info.unit !== ctx.config.unit) {
    fail(
      'MintMismatch',
      { expected: ctx.config.unit, received: info.unit },
      `the gateway at ${gateway} converts ${info.unit}, this wallet holds ${ctx.config.unit}`,
    );
  }
  let op = await prepare(
    ctx,
    'gateway',
    amount,
    o.to,
    { deliverTo: gateway, address: o.to, gatewayKey: info.encryptionKey },
    memo,
    undefined,
    await intakeNotes(ctx, amount),
  );
  op = await swapOut(ctx, op, 'posting', async (proofs) => ({
    envelope: await sealJson({
      // Job 1 takes local notes to the WAN, job 2 wide notes (with their DLEQ proofs) to the LAN.
      type: ctx.config.network === 'lan' ? JOB1_REQUEST : JOB2_REQUEST,
      transferId: op.id,
      sender: ctx.keys,
      recipient: hex(info.encryptionKey, 'encryptionKey', 32),
      payload: { proofs, destination: o.to, replyTo: ctx.address, ...memo },
    }),
  }));
  progress({ stage: 'swapped' });
  if (op.state === 'posting') op = await post(ctx, op);
  if (op.state === 'following') {
    progress({ stage: 'posted' });
    op = await follow(ctx, op, o.followMs ?? DEFAULT_FOLLOW_MS, progress);
  }
  return op;
}

/**
 * The notes a transfer hands to the gateway: their value less the intake's input fee on them (the
 * wallet's own mint's active keyset) is exactly `amount`, which the gateway converts 1:1.
 */
async function intakeNotes(ctx: WalletContext, amount: number): Promise<Amount[]> {
  return notesAfterFee(toAmount(amount), (await ctx.mint.activeKeyset()).inputFeePpk);
}

/** The notes held now, each with its keyset's input fee (for selection). */
async function candidatesOf(ctx: WalletContext) {
  const unspent = await ctx.store.notes({ state: 'unspent' });
  return Promise.all(
    unspent.map(async (note) => ({
      note,
      amount: note.proof.amount,
      feePpk: (await ctx.mint.keyset(note.proof.id)).inputFeePpk,
    })),
  );
}

/**
 * The NUT-02 input fees sending `amount` to `to` would cost now (told before the send): the swap's
 * on the notes it would spend, plus, to the other network, the gateway intake's on the notes sent.
 * Undefined when the balance does not cover it. The recipient's own receive swap is theirs to pay.
 */
export async function sendFee(ctx: WalletContext, to: string, amount: number): Promise<number | undefined> {
  const value = toAmount(amount);
  const viaGateway = decodeAddress(to).network !== ctx.config.network;
  const sent = viaGateway ? sum(await intakeNotes(ctx, value)) : value;
  const chosen = selectNotes(await candidatesOf(ctx), sent);
  return chosen === undefined ? undefined : inputFee(chosen) + (sent - value);
}

/**
 * Reserves notes worth `amount` (plus the swap's fee) and journals the swap, before anything leaves.
 * `sendNotes`: the exact notes to send when they must also pay a fee (a transfer's, `intakeNotes`).
 */
async function prepare(
  ctx: WalletContext,
  kind: OperationKind,
  amount: number,
  counterparty: string,
  data: OperationData,
  memo: { memo?: string },
  lock?: Lock,
  sendNotes?: readonly Amount[],
): Promise<Operation> {
  const candidates = await candidatesOf(ctx);
  const sent = sendNotes === undefined ? amount : sum(sendNotes);
  const chosen = selectNotes(candidates, sent);
  if (!chosen) {
    const available = candidates.reduce((n, x) => n + x.amount, 0);
    // Enough for the amount but not for the input fees it costs: say so, it is not obvious.
    const fees = available >= amount ? ' with the mint’s input fees' : '';
    return fail(
      'InsufficientFunds',
      { requested: amount, available, unit: ctx.config.unit },
      `${formatMoney(amount, ctx.config.unit)}${fees} is more than the balance ${formatMoney(available, ctx.config.unit)}`,
    );
  }
  const swap = await planSwap(
    ctx,
    chosen.map((c) => c.note.proof),
    sendNotes ?? amount,
    lock,
  );
  // What the send costs beyond `amount`: its own swap's fee, and the fee the sent notes pay on intake.
  const fee = inputFee(chosen) + (sent - amount);
  const id = newId();
  const at = ctx.now();
  const op: Operation = {
    id,
    transferId: id,
    kind,
    state: 'prepared',
    direction: 'out',
    amount,
    createdAt: at,
    updatedAt: at,
    counterparty,
    ...memo,
    data: { ...data, swap, ...(fee > 0 ? { fee } : {}) },
  };
  await ctx.store.commit({
    reserve: { operation: id, secrets: chosen.map((c) => c.note.proof.secret) },
    operation: op,
  });
  ctx.step(`wallet:${kind}:after-reserve`);
  return op;
}

/**
 * Runs the journaled swap; the notes for the other side are sealed by `seal` and journaled with it
 * in one commit (state `next`). A refused swap rolls back and throws the mint's refusal; an unclear
 * one leaves the operation `prepared` for `recover`.
 */
async function swapOut(
  ctx: WalletContext,
  op: Operation,
  next: OperationState,
  seal: (proofs: Proof[]) => Promise<OperationData>,
): Promise<Operation> {
  const plan = op.data.swap!;
  const outcome = await executeSwap(ctx, plan);
  if (outcome.kind === 'unclear' && outcome.notSent) {
    // Nothing reached the mint: the notes are free again now, not at the next recover().
    const reason = `nothing was sent: the mint could not be reached (${outcome.reason})`;
    await rollBack(ctx, op, reason, { kind: 'not-done', spent: [] });
    return fail(
      'PeerUnreachable',
      { url: ctx.config.mint, reason },
      `cannot reach the mint at ${ctx.config.mint}; nothing was sent and the balance is unchanged`,
    );
  }
  if (outcome.kind === 'unclear') {
    const waiting = advanced(ctx, op, 'prepared', { reason: outcome.reason });
    await ctx.store.commit({ operation: waiting });
    return waiting;
  }
  if (outcome.kind === 'not-done') {
    const reason = outcome.refusal?.message ?? 'the notes were spent elsewhere';
    await rollBack(ctx, op, `the mint refused the swap: ${reason}`, outcome);
    if (outcome.refusal) throw outcome.refusal;
    return fail('ProofsAlreadySpent', { Ys: [] }, `the mint refused the swap: ${reason}`);
  }
  ctx.step(`wallet:${op.kind}:after-swap`);
  const { keep, send: leaving } = byRole(plan, outcome.proofs);
  const sealed = await seal(leaving);
  const updated = advanced(ctx, op, next, {
    data: { ...op.data, ...sealed, send: leaving.map((p) => p.secret) },
  });
  const inputs = await heldNotes(ctx, op);
  await ctx.store.commit({
    notes: [
      ...withState(inputs, 'spent', op.id),
      ...toStored(ctx, keep, 'unspent'),
      ...toStored(ctx, leaving, 'pending', op.id),
    ],
    operation: updated,
  });
  ctx.step(`wallet:${op.kind}:after-journal`);
  return updated;
}

/** Deposits the journaled envelope; a proven refusal takes the notes back, a lost answer waits. */
async function deliver(ctx: WalletContext, op: Operation): Promise<Operation> {
  const { deliverTo, address, envelope } = op.data;
  try {
    await ctx.net.deposit(deliverTo!, address!, envelope!);
  } catch (e) {
    if (isLancashError(e)) return reclaim(ctx, op, `the inbox refused the payment: ${e.message}`, 'done');
    const waiting = advanced(ctx, op, 'delivering', { reason: messageOf(e) });
    await ctx.store.commit({ operation: waiting });
    return waiting;
  }
  ctx.step('wallet:send:after-deliver');
  return complete(ctx, op);
}

/** The notes the operation held are the other side's now. */
async function complete(
  ctx: WalletContext,
  op: Operation,
  patch: Partial<Operation> = {},
): Promise<Operation> {
  const done = advanced(ctx, op, 'done', patch);
  const { reason: _reason, ...clean } = done;
  await ctx.store.commit({ notes: withState(await heldNotes(ctx, op), 'spent', op.id), operation: clean });
  return clean;
}

/** Hands the journaled job envelope to the gateway (the same bytes on every retry). */
async function post(ctx: WalletContext, op: Operation): Promise<Operation> {
  const path = ctx.config.network === 'lan' ? JOB1_PATH : JOB2_PATH;
  let status: TransferStatus;
  try {
    status = await ctx.net.call({
      base: op.data.deliverTo!,
      method: 'POST',
      path,
      body: op.data.envelope,
      idempotencyKey: op.id,
      schema: TransferStatusSchema,
    });
  } catch (e) {
    if (isLancashError(e))
      return reclaim(ctx, op, `the gateway refused the transfer: ${e.message}`, 'failed');
    const waiting = advanced(ctx, op, 'posting', { reason: messageOf(e) });
    await ctx.store.commit({ operation: waiting });
    return waiting;
  }
  ctx.step('wallet:gateway:after-post');
  return applyStatus(ctx, op, status);
}

/** What the gateway says about a transfer, applied: done → the notes are gone; refused → reclaim. */
export async function applyStatus(
  ctx: WalletContext,
  op: Operation,
  status: TransferStatus,
): Promise<Operation> {
  const transfer = { state: status.state, ...(status.refusal ? { refusal: status.refusal } : {}) };
  const data = { ...op.data, transfer };
  if (status.state === 'done') return complete(ctx, op, { data });
  if (status.state === 'refused') {
    const why = status.refusal ? `${status.refusal.detail} (${status.refusal.code})` : 'no reason given';
    return reclaim(ctx, { ...op, data }, `the gateway refused the transfer: ${why}`, 'failed');
  }
  const following = advanced(ctx, op, 'following', { data });
  await ctx.store.commit({ operation: following });
  return following;
}

/** Polls the transfer until it ends or `followMs` passes (then it stays `following`). */
async function follow(
  ctx: WalletContext,
  op: Operation,
  followMs: number,
  progress: (p: SendProgress) => void,
): Promise<Operation> {
  const deadline = ctx.now() + followMs;
  let current = op;
  let delay = 50;
  let last = '';
  for (;;) {
    try {
      const status = await ctx.net.transfer(current.data.deliverTo!, current.id);
      if (status.state !== last) progress({ stage: 'transfer', status });
      last = status.state;
      if (
        status.state !== current.data.transfer?.state ||
        status.state === 'done' ||
        status.state === 'refused'
      )
        current = await applyStatus(ctx, current, status);
    } catch {
      // Unreachable for a moment: the transfer goes on at the gateway; ask again.
    }
    if (current.state !== 'following' || ctx.now() >= deadline) return current;
    await ctx.sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
}

/** A `cashuB` token worth `amount`; its notes stay pending until the mint says they were redeemed. */
export async function tokenSend(ctx: WalletContext, amount: number, memo?: string): Promise<Operation> {
  const value = toAmount(amount);
  const op = await prepare(ctx, 'token', value, ctx.config.mint, {}, memo === undefined ? {} : { memo });
  const issued = await swapOut(ctx, op, 'issued', async (proofs) => ({
    token: encodeTokenV4({
      mint: ctx.config.mint,
      unit: ctx.config.unit,
      proofs,
      ...(memo === undefined ? {} : { memo }),
    }),
  }));
  if (issued.state !== 'issued') {
    return fail(
      'PeerUnreachable',
      { url: ctx.config.mint, reason: issued.reason ?? 'unclear' },
      `the mint did not answer the swap (${issued.reason}); the notes stay reserved until \`recover\``,
    );
  }
  return issued;
}

/** One step towards the end of an outgoing operation found open (after a crash, or still in flight). */
export async function resumeOutgoing(ctx: WalletContext, op: Operation): Promise<Operation> {
  switch (op.state) {
    case 'prepared':
      return rollBack(ctx, op, 'interrupted before anything left; nothing was sent');
    case 'delivering':
      return deliver(ctx, op);
    case 'posting': {
      // The gateway may have the transfer already (the answer was lost): ask before posting again.
      try {
        return applyStatus(ctx, op, await ctx.net.transfer(op.data.deliverTo!, op.id));
      } catch (e) {
        if (isLancashError(e, 'NotFound')) return post(ctx, op);
        return op;
      }
    }
    case 'following':
      try {
        return applyStatus(ctx, op, await ctx.net.transfer(op.data.deliverTo!, op.id));
      } catch {
        return op;
      }
    case 'issued':
      return settleByState(ctx, op, 'wait');
    case 'watching':
      return settleByState(ctx, op, 'reclaim');
    case 'reclaiming':
      if (op.kind === 'gateway') {
        // The gateway may have taken the transfer after all: its word comes first.
        try {
          const status = await ctx.net.transfer(op.data.deliverTo!, op.id);
          if (status.state !== 'refused') return applyStatus(ctx, op, status);
        } catch {
          // Unknown to it or unreachable: the mint decides below.
        }
      }
      return reclaim(ctx, op, op.reason ?? 'taking back', op.kind === 'gateway' ? 'failed' : 'done');
    default:
      return op;
  }
}

/**
 * Takes back what an open operation holds: a token not redeemed, a payment not delivered, a transfer
 * the gateway has not taken. The mint decides: if the other side spent the notes first, the
 * operation is done.
 */
export async function cancel(ctx: WalletContext, op: Operation): Promise<Operation> {
  if (op.state === 'prepared') return rollBack(ctx, op, 'cancelled before anything left');
  const gatewayHasIt = op.kind === 'gateway' && op.state === 'following';
  if (op.state === 'done' || op.state === 'failed' || op.direction === 'in' || gatewayHasIt) {
    return fail(
      'InvalidInput',
      { argument: 'operation', expected: 'an open outgoing operation', received: `${op.kind} ${op.state}` },
      gatewayHasIt
        ? `transfer ${op.id} is with the gateway; it ends done or refused on its own`
        : `operation ${op.id} is ${op.state}; only an open payment, transfer or token can be cancelled`,
    );
  }
  return reclaim(ctx, op, 'cancelled', op.kind === 'gateway' ? 'failed' : 'done');
}
