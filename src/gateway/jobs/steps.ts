/**
 * The step pieces every gateway job ends with, shared by the conversions (job 1, job 2) and the
 * operator jobs (payroll, payout): the journaled state move, local notes generated against a
 * receipt, the sealed payment to the destination, the sealed `gateway.notice` to `replyTo`, the
 * refusal, and the request hash idempotency compares.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeAddress } from '../../core/address/index.js';
import { bytesToHex, utf8 } from '../../core/bytes.js';
import type { Curve } from '../../core/crypto/curve.js';
import { type Envelope, sealJson } from '../../core/envelope/index.js';
import { isLancashError, type LancashError } from '../../core/errors.js';
import { fault } from '../../core/faults.js';
import { sum } from '../../core/money.js';
import type { Proof } from '../../core/protocol/cashu.js';
import { GATEWAY_NOTICE, PAYMENT, type Payment } from '../../core/protocol/gateway.js';
import { traceStep } from '../../core/step-trace.js';
import type { DepositInTransaction } from '../../mailbox/service.js';
import { inThreadCrypto, type MintCrypto } from '../../mint/crypto.js';
import type { Mint } from '../../mint/mint.js';
import type { Store, TransactionOptions } from '../../store/index.js';
import type { Database } from '../../store/schema.js';
import type { Deliverer } from '../delivery.js';
import type { GatewayKeys } from '../keys.js';
import { relockKey } from '../locks.js';
import { blindedMessages, makeOutputs, unblindInPool } from '../wallet.js';
import { type Job, type JobState, type Journal, journalColumns, point, settled, toStatus } from './model.js';
import * as repo from './repository.js';

export type Trx = import('kysely').Kysely<Database>;

/** What a move may change besides the state. */
export interface MovePatch {
  /**
   * The parts of the journal the move writes, on top of the job's (`model.ts` `journalColumns`: a
   * part the job holds already, the same value, is not written again).
   */
  journal?: Partial<Journal>;
  refusal?: NonNullable<Job['refusal']>;
  notice?: Job['notice'];
  active?: number;
  /**
   * The move goes through this state on its way (its event with this detail and the journal's bulk,
   * then the event into the move's own state): two moves of one transaction as one write
   * (`repo.StepMove`'s `via`).
   */
  via?: { state: JobState; detail: string };
}

/**
 * Runs `write` in one transaction (it must touch the database only through `trx`: it may run again);
 * `options.durable: false` only for a commit that moves no value (`TransactionOptions`).
 */
export type Commit = <T>(write: (trx: Trx) => Promise<T>, options?: TransactionOptions) => Promise<T>;

/**
 * The options of a commit that moves no value: it returns without waiting for the log's flush
 * (`TransactionOptions.durable`), so a power loss may lose it, and what it recorded is then done
 * again (docs/storage.md, "Commits that move no value"). Each use says why that is safe.
 */
export const MOVES_NO_VALUE: TransactionOptions = Object.freeze({ durable: false });

/** What every gateway job service is built on: the gateway's database, local mint and keys, and its hooks. */
export interface JobServiceBase {
  store: Store;
  /**
   * How a step's effect and journal entry commit; default `store.transaction`. The gateway passes one
   * `GroupCommit` to both services, so steps of different jobs that are ready together share a commit.
   */
  commit?: Commit;
  /** The local mint (on the gateway's database). */
  mint: Mint;
  curve: Curve;
  /**
   * Where the curve work on notes runs (job 2's DLEQ checks, the checks and unblinding of signed
   * outputs); default in-thread on `curve`. Servers pass the worker pool, so it never holds the main thread.
   */
  crypto?: MintCrypto;
  keys: GatewayKeys;
  /** The local mint's URL as LAN terminals reach it: named in the payments of local notes. */
  localMintUrl: () => string;
  clock?: () => number;
  /**
   * This process's name in job leases, when several processes may share the journal (PostgreSQL):
   * every step's commit then also requires that the job's lease is still this process's, so a process
   * that lost a job to another (its lease lapsed) changes nothing (docs/gateway.md, "Running several
   * gateway processes"). Undefined: the only process (SQLite), no lease is checked.
   */
  leaseOwner?: string;
  /**
   * With `leaseOwner`: a new conversion job is written already held by this process for this long, so
   * its runner (`onIntake`'s `leased`) drives it without a claim of its own. Undefined: born unleased.
   */
  leaseMs?: number;
  /**
   * After a new job's intake committed, with the job as written (the runner's cue); `leased`: the job
   * was written held by this process (`leaseMs`), which then must drive it or give the lease up.
   */
  onIntake?: (job: Job, leased?: boolean) => void;
  /** Once, when a job is finished (which step that is, the service says). */
  onFinished?: (job: Pick<Job, 'id' | 'direction' | 'state' | 'amount'>) => void;
}

/** The columns every new job starts with: active, no notice or refusal, due now, created now. */
export type FreshJobColumns = Pick<
  repo.JobRow,
  | 'active'
  | 'notice'
  | 'refusal'
  | 'attempts'
  | 'next_attempt_at'
  | 'last_error'
  | 'created_at'
  | 'updated_at'
>;

export function freshJobColumns(now: number): FreshJobColumns {
  return {
    active: 1,
    notice: 'none',
    refusal: null,
    attempts: 0,
    next_attempt_at: now,
    last_error: null,
    created_at: now,
    updated_at: now,
  };
}

/** Where a service's curve work on notes runs: `o.crypto`, else in-thread on `o.curve`. */
export function cryptoOf(o: { curve: Curve; crypto?: MintCrypto }): MintCrypto {
  return o.crypto ?? inThreadCrypto(o.curve);
}

/** The transaction a service's steps commit in: `o.commit`, else one of their own. */
export function commitOf(o: { store: Store; commit?: Commit }): Commit {
  return o.commit ?? ((write, options) => o.store.transaction(write, options));
}

/**
 * Moves the job from its current state to `to` with its event, if it is still held under `lease` (the
 * process's `leaseOwner`; undefined: none checked). A move that leaves the job `settled` (nothing left
 * to run) gives the lease up in the same write, so the run ends without a commit of its own for it.
 * Answers the job as it now is in the journal (the runner carries it to the next step instead of
 * reading it again), or undefined when the job had moved already or its lease is another's (nothing
 * changed).
 */
export async function moveJob<J extends Job>(
  trx: Trx,
  job: J,
  to: JobState,
  now: number,
  patch: MovePatch & { journal?: Partial<J['journal']> },
  detail: string,
  lease: string | undefined,
): Promise<J | undefined> {
  const { journal, refusal, notice, active, via } = patch;
  const columns = journal === undefined ? undefined : journalColumns(job.journal, journal);
  const moved = await repo.moveWithEvent(trx, {
    id: job.id,
    kind: job.kind,
    createdAt: job.createdAt,
    from: job.state,
    to,
    lease,
    release: lease !== undefined && settled(to, notice ?? job.notice),
    ...(columns?.head !== undefined ? { journal: columns.head } : {}),
    ...(columns?.bulk !== undefined ? { bulk: columns.bulk } : {}),
    ...(refusal !== undefined ? { refusal: JSON.stringify(refusal) } : {}),
    ...(notice !== undefined ? { notice } : {}),
    ...(active !== undefined ? { active } : {}),
    ...(via !== undefined ? { via } : {}),
    now,
    detail,
  });
  if (!moved) return undefined;
  return {
    ...job,
    state: to,
    ...(journal !== undefined ? { journal: { ...job.journal, ...journal } } : {}),
    ...(refusal !== undefined ? { refusal } : {}),
    ...(notice !== undefined ? { notice } : {}),
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
    updatedAt: now,
  };
}

/** The `lancash.payment` of `proofs` (notes of `mint`, in `unit`) sealed to the job's destination. */
export function sealPayment(
  keys: GatewayKeys,
  job: Job,
  mint: { url: string; unit: string },
  proofs: Proof[],
): Promise<Envelope> {
  const payment: Payment = {
    mint: mint.url,
    unit: mint.unit,
    proofs,
    ...(job.journal.memo !== undefined ? { memo: job.journal.memo } : {}),
    via: { gateway: keys.publicKeyHex, direction: job.direction, kind: job.kind },
  };
  return sealJson({
    type: PAYMENT,
    transferId: job.id,
    sender: keys.encryption,
    recipient: decodeAddress(job.destination).publicKey,
    payload: payment,
  });
}

/** A job's local notes signed, checked and sealed as their payment, not committed yet (`prepareLocal`). */
export interface LocalNotes {
  outputs: Job['journal']['outputs'];
  prepared: Awaited<ReturnType<Mint['prepareOutputs']>>;
  localProofs: Proof[];
  delivery: Envelope;
}

/**
 * The local notes of the job's journaled outputs: signed by the local mint, unblinded and checked,
 * and their payment sealed; nothing is written, and nothing given until `commitLocal`. Outputs
 * journaled before a key rotation keep their keyset (still redeemable), so a rotation never strands a
 * job. Once that keyset is retired (a rotation with no grace while the job waited) the mint never
 * signed them: fresh ones on the active keyset take their place, journaled with the notes.
 */
export async function prepareLocal(o: JobServiceBase, job: Job, unit: string): Promise<LocalNotes> {
  const { mint } = o;
  let outputs = job.journal.outputs;
  await mint.keysets.fresh();
  if (outputs.some((x) => mint.keysets.retired(x.id))) {
    const amount = sum(outputs.map((x) => x.amount));
    const lock = relockKey(job.destination, outputs);
    outputs = makeOutputs(o.curve, mint.keysets.current().id, amount, lock);
  }
  // Outputs this gateway made and journaled: no early look for signed ones (the commit refuses them).
  const prepared = await mint.prepareOutputs(blindedMessages(outputs), {
    signInactive: true,
    journaled: true,
  });
  traceStep(job.id, 'generate.signed');
  const localProofs = await unblindInPool(cryptoOf(o), outputs, prepared.signatures, (id) => {
    const ks = mint.keysets.get(id);
    return { id: ks.id, unit: ks.unit, keys: ks.publicKeys };
  });
  traceStep(job.id, 'generate.unblinded');
  const delivery = await sealPayment(o.keys, job, { url: o.localMintUrl(), unit }, localProofs);
  traceStep(job.id, 'generate.sealed');
  return { outputs, prepared, localProofs, delivery };
}

/**
 * Moves the job to `delivering` with its `local` notes: one transaction journals `journal` (with the
 * notes and the payment) and commits the signatures under `operation`, so they are given only together
 * with what the step received (job 2: the receipt). Answers the moved job, or undefined when it had
 * moved already (nothing changed; the signatures are never given).
 *
 * With `deliverer`, a payment whose inbox is the gateway's LAN mailbox (the same database) is deposited
 * in that transaction too and the job moved on to `done` (two more commits and their waits saved): the
 * payment is in the inbox exactly when the journal has it, a crash anywhere before the commit leaves
 * neither. A deposit the mailbox refuses (a full inbox, no room) rolls back with everything else; the
 * step then commits without it and the job waits in `delivering` for the delivery step, which tries
 * the deposit again as it tries any inbox (sweeping, recording the refusal, parking it in the end).
 */
export async function commitLocal<J extends Job>(
  o: JobServiceBase,
  job: J,
  local: LocalNotes,
  step: {
    operation: string;
    detail: string;
    journal: Partial<J['journal']>;
    clock: () => number;
    deliverer?: Deliverer;
  },
): Promise<J | undefined> {
  const { outputs, prepared, localProofs, delivery } = local;
  const now = step.clock();
  const journal: Partial<J['journal']> = { ...step.journal, outputs, localProofs, delivery };
  const commit = commitOf(o);
  const write = (deposit: DepositInTransaction | undefined) =>
    commit(async (trx) => {
      // With the deposit, the job moves through `delivering` on to `done` in one write (its row, totals
      // and both events), before the notes and the deposit of the same transaction: all or nothing.
      const moved =
        deposit === undefined
          ? await moveJob(trx, job, 'delivering', now, { journal }, step.detail, o.leaseOwner)
          : await moveJob(
              trx,
              job,
              'done',
              now,
              { journal, active: 0, via: { state: 'delivering', detail: step.detail } },
              'delivered',
              o.leaseOwner,
            );
      if (moved === undefined) return undefined;
      await o.mint.commitOutputs(trx, prepared, step.operation);
      if (deposit === undefined) return moved;
      try {
        await deposit.write(trx);
      } catch (e) {
        if (isLancashError(e)) refused = e;
        throw e;
      }
      // A crash here, inside the transaction, loses the deposit with the notes: the step runs again.
      fault(point(job.direction, 'deliver'));
      return moved;
    });
  let refused: unknown;
  const deposit = step.deliverer?.inTransaction(job.destination, delivery);
  let moved: J | undefined;
  try {
    moved = await write(deposit);
  } catch (e) {
    if (e !== refused || deposit === undefined) throw e;
    moved = await write(undefined);
  }
  if (moved?.state === 'done') deposit?.committed();
  traceStep(job.id, 'generate.committed');
  return moved;
}

/** `prepareLocal` then `commitLocal`: the local notes generated and the job moved to `delivering`. */
export async function generateLocal<J extends Job>(
  o: JobServiceBase,
  job: J,
  step: {
    unit: string;
    operation: string;
    detail: string;
    journal: Partial<J['journal']>;
    clock: () => number;
    deliverer?: Deliverer;
  },
): Promise<J | undefined> {
  return commitLocal(o, job, await prepareLocal(o, job, step.unit), step);
}

/** The `gateway.notice` of how the job stands, sealed to its `replyTo`; undefined without one. */
export async function sealNotice(keys: GatewayKeys, job: Job): Promise<Envelope | undefined> {
  if (job.replyTo === null) return undefined;
  return sealJson({
    type: GATEWAY_NOTICE,
    transferId: job.id,
    sender: keys.encryption,
    recipient: decodeAddress(job.replyTo).publicKey,
    payload: { status: toStatus(job) },
  });
}

/**
 * Ends a job as refused by `e`: seals the notice, then moves it and commits `effect` in one transaction.
 * Answers the refused job, or undefined when it had moved already (nothing changed).
 */
export async function refuseJob<J extends Job>(
  o: { store: Store; keys: GatewayKeys; commit?: Commit; leaseOwner?: string },
  job: J,
  e: LancashError,
  now: number,
  effect?: (trx: Trx) => Promise<void>,
): Promise<J | undefined> {
  const refusal = { code: e.code, detail: e.message };
  const notice = await sealNotice(o.keys, { ...job, state: 'refused', refusal, updatedAt: now });
  return commitOf(o)(async (trx) => {
    const patch = {
      ...(notice !== undefined ? { journal: { notice } as Partial<J['journal']> } : {}),
      refusal,
      notice: notice === undefined ? ('none' as const) : ('pending' as const),
      active: notice === undefined ? 0 : 1,
    };
    const moved = await moveJob(trx, job, 'refused', now, patch, `${e.code} ${e.message}`, o.leaseOwner);
    if (moved !== undefined) await effect?.(trx);
    return moved;
  });
}

/** SHA-256 hex of a request's canonical form, so a repeated (or re-sealed) request hashes equal. */
export function hashOf(canonical: unknown): string {
  return bytesToHex(sha256(utf8(JSON.stringify(canonical))));
}
