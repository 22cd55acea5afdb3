/**
 * The intake of the conversion jobs (docs/gateway.md): the request envelope opened, a replay answered
 * with the same transfer, the cheap checks first, then the notes taken in (job 1: the local notes held
 * pending; job 2: the wide notes confirmed against the bank, bounded per client) and the job journaled,
 * all in ONE transaction. Refusals before the commit change nothing.
 */
import { decodeAddress } from '../../core/address/index.js';
import { bytesToHex } from '../../core/bytes.js';
import { openJson } from '../../core/envelope/index.js';
import { fail } from '../../core/errors.js';
import { fault } from '../../core/faults.js';
import { amountAfterFee, feeOfPpk } from '../../core/fees.js';
import { isUnclear } from '../../core/http/client.js';
import { sum } from '../../core/money.js';
import { decode, type Proof } from '../../core/protocol/cashu.js';
import {
  type Direction,
  JOB1_REQUEST,
  JOB2_REQUEST,
  Job1Request,
  type TransferStatus,
} from '../../core/protocol/gateway.js';
import { traceStart, traceStep } from '../../core/step-trace.js';
import type { MintCrypto } from '../../mint/crypto.js';
import type { PreparedInputs } from '../../mint/mint.js';
import type { Deliverer } from '../delivery.js';
import { deliveryLock } from '../locks.js';
import { heldAsProofs } from '../reconcile/service.js';
import { checkProofsDleq, makeOutputs, noteYs } from '../wallet.js';
import type { WideBankPort, WideKeyset, WideNoteState } from '../wide-bank.js';
import type { IntakeLimits } from './intake-limits.js';
import {
  type Job,
  type JobState,
  type Journal,
  jobTag,
  newJournalColumns,
  point,
  toStatus,
} from './model.js';
import { toJob, toJobHead } from './reads.js';
import * as repo from './repository.js';
import {
  type Commit,
  commitOf,
  cryptoOf,
  freshJobColumns,
  hashOf,
  type JobServiceBase,
  type Trx,
} from './steps.js';

export interface JobIntakeOptions extends JobServiceBase {
  bank: WideBankPort;
  deliverer: Deliverer;
  /** Per-client bounds on WAN intakes (issue 8); without, none. */
  intakeLimits?: IntakeLimits;
  /** Notes job 2's intake sends to DLEQ checks (the operator's metric). */
  onDleqChecks?: (notes: number) => void;
}

/** What an intake takes in: the amount, the first journal, and its effect inside the intake's transaction. */
interface Taken {
  amount: number;
  journal: Journal;
  commit?: (trx: Trx, operation: string) => Promise<void>;
  /** The local notes `commit` holds pending, as the job carries them in memory (`Job.heldInputs`). */
  held?: readonly Proof[];
}

export class JobIntake {
  private readonly clock: () => number;
  private readonly commit: Commit;
  private readonly crypto: MintCrypto;

  constructor(private readonly o: JobIntakeOptions) {
    this.clock = o.clock ?? Date.now;
    this.crypto = cryptoOf(o);
    this.commit = commitOf(o);
  }

  /**
   * Takes in a job request envelope (job 1 on the LAN listener, job 2 on the WAN listener). A replay
   * of an envelope (or a re-sealed copy of the same request) answers the same transfer; the same
   * transfer id from another sender or with another request is refused (409). Refusals before the
   * commit change nothing. `client` (the caller's IP) is what the WAN intake's bounds count by.
   */
  async intake(direction: Direction, envelope: unknown, client = ''): Promise<TransferStatus> {
    const { store, keys } = this.o;
    const arrived = traceStart();
    const opened = await openJson({
      envelope,
      recipient: keys.encryption,
      expectedType: direction === 'lan-to-wan' ? JOB1_REQUEST : JOB2_REQUEST,
    });
    const req = decode(Job1Request, opened.payload, 'payload');
    const id = opened.transferId;
    traceStep(id, 'intake.in', arrived);
    traceStep(id, 'intake.opened');
    const senderKey = bytesToHex(opened.sender);
    const requestHash = hashRequest(direction, req);
    // No look for an earlier copy of this transfer first: a copy meets the journal's row at the insert
    // below, or a refusal in the checks (its notes taken), and is answered as that transfer then. A fresh
    // transfer, nearly every one, saves the read (round fifteen: one round trip a conversion).
    let destination: ReturnType<typeof decodeAddress>;
    let taken: Taken;
    try {
      destination = decodeAddress(req.destination, direction === 'lan-to-wan' ? 'wan' : 'lan');
      if (req.replyTo !== undefined) decodeAddress(req.replyTo);
      // Issue 8 item 5: an inbox URL the operator did not allow is refused before anything changes.
      for (const address of [req.destination, req.replyTo])
        if (address !== undefined) this.o.deliverer.admit(address);
      if (req.proofs.length > this.o.mint.limits.maxInputs) {
        fail('MaxInputsExceeded', { count: req.proofs.length, max: this.o.mint.limits.maxInputs });
      }
      taken =
        direction === 'lan-to-wan'
          ? await this.takeLocalNotes(req.proofs, await deliveryLock(req.destination, this.o.bank.base))
          : await this.takeWideNotes(
              id,
              req.proofs,
              client,
              await deliveryLock(req.destination, this.o.localMintUrl()),
            );
    } catch (e) {
      // A copy of a transfer taken in before (a terminal posting again after a timeout, while the first
      // copy ran or after it ended): its notes read as pending or spent, or it meets a refusal the first
      // did not (an address the operator no longer allows, the bank out of reach). Its answer is the
      // transfer's. A refusal costs this read; before, every intake did.
      const taker = await repo.getJob(store.db, id).catch(() => undefined);
      if (taker !== undefined) return this.replayed(taker, senderKey, requestHash, direction);
      throw e;
    }
    traceStep(id, 'intake.checked');
    const now = this.clock();
    const state: JobState = direction === 'lan-to-wan' ? 'issuing' : 'receiving';
    const journal: Journal = { ...taken.journal, ...(req.memo !== undefined ? { memo: req.memo } : {}) };
    const { head, bulk } = newJournalColumns(journal);
    const row: repo.IntakeRow = {
      ...freshJobColumns(now),
      id,
      direction,
      state,
      sender_key: senderKey,
      request_hash: requestHash,
      destination: req.destination,
      destination_key: bytesToHex(destination.publicKey),
      reply_to: req.replyTo ?? null,
      amount: taken.amount,
      journal: head,
    };
    const { leaseOwner, leaseMs } = this.o;
    const lease =
      leaseOwner !== undefined && leaseMs !== undefined ? { owner: leaseOwner, ttlMs: leaseMs } : undefined;
    const fresh = await this.commit(async (trx) => {
      // The job row first: of two copies of one envelope racing, one inserts and the other stops here.
      if (!(await repo.insertIntake(trx, row, '', lease, bulk))) return false;
      await taken.commit?.(trx, `${jobTag(direction)}:${id}`);
      return true;
    });
    if (!fresh) {
      const winner = await repo.getJob(store.db, id);
      if (winner === undefined) fail('Internal', { reason: `job ${id} vanished` });
      return this.replayed(winner, senderKey, requestHash, direction);
    }
    fault(point(direction, 'intake'));
    traceStep(id, 'intake.committed');
    const job: Job = {
      ...toJob(row, journal),
      ...(taken.held !== undefined ? { heldInputs: taken.held } : {}),
    };
    this.o.onIntake?.(job, lease !== undefined);
    return toStatus(job);
  }

  /**
   * Job 1: the local notes are verified now and held pending in the intake's transaction; the wide
   * outputs are locked to the destination's key when its address carries one.
   */
  private async takeLocalNotes(proofs: Proof[], lockKey: Uint8Array | undefined): Promise<Taken> {
    const { mint, curve } = this.o;
    const prepared: PreparedInputs = await mint.prepareInputs(proofs);
    // The LAN sender pays the local mint's input fee (the organisation's fee income, docs/gateway.md,
    // "Fees"): 1 local = 1 wide for what is left, which is exactly what the bank issues.
    const amount = amountAfterFee(prepared.amount, prepared.fee);
    const keyset = await this.upstream(this.o.bank.activeKeyset());
    return {
      amount,
      journal: {
        outputs: makeOutputs(curve, keyset.id, amount, lockKey),
        inputYs: [...prepared.Ys],
        ...(prepared.fee > 0 ? { inputFee: prepared.fee } : {}),
      },
      commit: (trx, operation) => mint.commitInputs(trx, prepared, operation, 'pending'),
      // As `repo.heldNotes` reads them back: the rows of one write, by `y`.
      held: heldAsProofs([...prepared.rows].sort((a, b) => (a.y < b.y ? -1 : a.y > b.y ? 1 : 0))),
    };
  }

  /**
   * Job 2: the wide notes are confirmed before anything is journaled: each keyset is the bank's and of
   * our unit, each DLEQ proof verifies against the bank's key (NUT-12), and the bank does not know them
   * as spent or pending (NUT-07). The receiving server checks them again, for good, in step 2.
   * A stranger chooses these notes (issue 8), so the cheap checks come first (a repeated note, keysets
   * the bank lists), the curve work runs in the crypto workers as one job, and the client's notes in
   * intake and the bank calls it causes are bounded (`IntakeLimits`) before the work and the call.
   */
  private async takeWideNotes(
    id: string,
    proofs: Proof[],
    client: string,
    lockKey: Uint8Array | undefined,
  ): Promise<Taken> {
    const { bank, curve, mint, intakeLimits } = this.o;
    // NUT-03: the same secret twice is the same note twice.
    const seen = new Set<string>();
    for (const [i, p] of proofs.entries()) {
      if (seen.has(p.secret)) fail('DuplicateInputs', { index: i }, `proofs[${i}] repeats an earlier note`);
      seen.add(p.secret);
    }
    // One id at a time: the first the bank does not list ends the intake, answered from the cached list.
    const keysets = new Map<string, WideKeyset>();
    for (const kid of new Set(proofs.map((p) => p.id.toLowerCase()))) {
      const ks = await this.upstream(bank.keyset(kid));
      if (ks.unit !== bank.info.unit)
        fail(
          'UnitNotSupported',
          { unit: ks.unit },
          `notes of unit ${ks.unit}, this gateway takes ${bank.info.unit}`,
        );
      keysets.set(ks.id, ks);
    }
    const release = intakeLimits?.admit(client, proofs.length);
    // The NUT-07 call, once sent: the admission ends when it has ended too, answered or not.
    let asked: Promise<unknown> | undefined;
    try {
      // The client's bank-call budget is charged before its curve work: a client out of budget costs nothing.
      intakeLimits?.bankCall(client);
      this.o.onDleqChecks?.(proofs.length);
      // A small request (every terminal's) has its Ys hashed here (≈ 20 µs a note), so the NUT-07 call
      // needs no answer from the pool and runs while the pool checks the proofs: one wait on the
      // critical path instead of two. A large one keeps the sequence, so that a stranger's thousand
      // notes never hold the main thread. Either way both must pass before anything is journaled,
      // and a failed DLEQ proof refuses as before, whatever the bank answers.
      const early = proofs.length <= EARLY_YS_MAX ? noteYs(curve, proofs) : undefined;
      let checked: Promise<WideNoteState[]> | undefined;
      if (early !== undefined) {
        checked = this.upstream(bank.checkState(early));
        asked = checked.catch(() => undefined);
      }
      const Ys = await checkProofsDleq(this.crypto, proofs, (kid) => keysets.get(kid.toLowerCase())!, early);
      traceStep(id, 'intake.dleq');
      // Y is the note whatever the secret's encoding: two secrets of one Y are one note.
      const firstOf = new Map<string, number>();
      for (const [i, Y] of Ys.entries()) {
        if (firstOf.has(Y)) fail('DuplicateInputs', { index: i }, `proofs[${i}] repeats an earlier note`);
        firstOf.set(Y, i);
      }
      const states = await (checked ?? this.upstream(bank.checkState(Ys)));
      traceStep(id, 'intake.checkstate');
      const spent = Ys.filter((_, i) => states[i] === 'SPENT');
      if (spent.length > 0)
        fail('ProofsAlreadySpent', { Ys: spent }, `${spent.length} note(s) already spent`);
      const pending = Ys.filter((_, i) => states[i] === 'PENDING');
      if (pending.length > 0) fail('ProofsPending', { Ys: pending }, `${pending.length} note(s) are pending`);
      // The WAN sender pays the bank's input fee on these notes (it keeps it when the receiving server
      // takes them): the reserve is credited, and job 2 generates, exactly what is left.
      const fee = feeOfPpk(proofs.reduce((n, p) => n + keysets.get(p.id.toLowerCase())!.inputFeePpk, 0));
      const amount = amountAfterFee(sum(proofs.map((p) => p.amount)), fee);
      return {
        amount,
        journal: {
          wideProofs: proofs,
          outputs: makeOutputs(curve, mint.keysets.current().id, amount, lockKey),
          ...(fee > 0 ? { inputFee: fee } : {}),
        },
      };
    } finally {
      if (asked === undefined) release?.();
      else void asked.then(release);
    }
  }

  private replayed(
    existing: repo.JobRow,
    senderKey: string,
    requestHash: string,
    direction: Direction,
  ): TransferStatus {
    if (
      existing.sender_key !== senderKey ||
      existing.request_hash !== requestHash ||
      existing.direction !== direction
    ) {
      fail(
        'IdempotencyConflict',
        { key: existing.id },
        `transfer id ${existing.id} was used for another request`,
      );
    }
    return toStatus(toJobHead(existing));
  }

  /** A call the intake cannot do without: the bank's refusal passes through, an unclear outcome is a 503. */
  private async upstream<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (!isUnclear(e)) throw e;
      return fail(
        'UpstreamUnavailable',
        { upstream: this.o.bank.base, reason: e.message },
        'the wide bank did not answer; send the same envelope again later',
      );
    }
  }
}

/**
 * Job 2's intake hashes the Ys of at most this many notes on the main thread (≈ 0.3 ms), to send its
 * NUT-07 call beside the DLEQ check; the bench's terminals send 1–14 notes, the pool cuts from 32.
 */
const EARLY_YS_MAX = 16;

/** SHA-256 of the request's canonical form (the notes in order), so a re-sealed copy hashes equal. */
function hashRequest(direction: Direction, r: Job1Request): string {
  const canonical = [
    direction,
    r.destination.toLowerCase(),
    r.replyTo?.toLowerCase() ?? null,
    r.memo ?? null,
    r.proofs.map((p) => [p.amount, p.id.toLowerCase(), p.secret, p.C.toLowerCase()]),
  ];
  return hashOf(canonical);
}
