/**
 * The mint engine, shared by the wide bank and the gateway's local mint. It checks requests the way
 * a good Cashu mint must (NUT-00/02/03/07/09/12), does the crypto outside any transaction, and writes
 * each state change in one transaction whose primary keys make double spends and double signing
 * impossible. Callers that account for value themselves (issue server, receiving server, gateway
 * jobs) use the prepare/commit pairs inside their own transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hex } from '../core/bytes.js';
import { type LockCheck, planLocks, type SpendContext } from '../core/conditions/verify.js';
import type { Curve } from '../core/crypto/curve.js';
import { defaultCurve } from '../core/crypto/index.js';
import type { MintKeyset } from '../core/crypto/keyset.js';
import { NOT_ON_CURVE } from '../core/crypto/point.js';
import { fail, isLancashError } from '../core/errors.js';
import { Topics } from '../core/http/sse.js';
import { type Amount, sum } from '../core/money.js';
import { BlankMessage, BlindedMessage, type BlindSignature, decode, Proof } from '../core/protocol/cashu.js';
import type { Store } from '../store/index.js';
import type { Database } from '../store/schema.js';
import { type CryptoAnswer, inThreadCrypto, type MintCrypto } from './crypto.js';
import { GroupCommit } from './group-commit.js';
import { Keysets } from './keysets.js';
import * as repo from './repository.js';

type Trx = Kysely<Database>;

export interface MintLimits {
  /** NUT-06 style bound on inputs per request. */
  maxInputs: number;
  maxOutputs: number;
}

export const DEFAULT_LIMITS: MintLimits = { maxInputs: 1000, maxOutputs: 1000 };

/**
 * How long a ready swap's commit may wait for swaps still in their crypto, to share their transaction
 * (only when some are): on SQLite a 64+64-note commit costs ~3.1 ms of CPU alone and ~2.1 ms per swap
 * in groups of four, and the event loop blocks once per group instead of once per swap.
 */
const COMMIT_LINGER_MS = 20;

export interface MintOptions {
  store: Store;
  unit: string;
  /** Batch crypto; default in-thread on `curve`. Servers pass the worker pool. */
  crypto?: MintCrypto;
  curve?: Curve;
  limits?: Partial<MintLimits>;
  inputFeePpk?: number;
  clock?: () => number;
  /**
   * NUT-02: books the input fee a swap keeps (value leaving circulation), inside the swap's own
   * transaction; only called when the fee is above 0. The wide bank posts it to its ledger; the
   * gateway's audit reads its local fees from the mint's rows instead (docs/gateway.md, "Fees").
   */
  onSwapFee?: (trx: Trx, operation: string, fee: Amount) => Promise<void>;
}

/** Inputs that passed every check and whose signatures verify; nothing is written yet. */
export interface PreparedInputs {
  readonly amount: Amount;
  /** NUT-02: ceil(Σ input_fee_ppk / 1000). */
  readonly fee: Amount;
  readonly unit: string;
  readonly Ys: readonly string[];
  readonly rows: readonly repo.NewProof[];
}

/** Outputs that passed every check, already signed; nothing is written yet. */
export interface PreparedOutputs {
  readonly amount: Amount;
  readonly unit: string;
  readonly signatures: readonly BlindSignature[];
  readonly rows: readonly repo.NewSignature[];
}

/**
 * The mint's rows of a request another service accounts for (the wide bank's issue and receive), as
 * that service writes them: inside its transaction (`commit`), or on PostgreSQL as part of its one
 * statement (`rows`, migration 030), after which it calls `committed` or, when that statement refused
 * the mint's rows (rolled back), `refused`, which throws the mint's own refusal read from committed rows.
 */
export interface MintWrite {
  commit(trx: Trx): Promise<void>;
  readonly rows: repo.MintRows;
  committed(): void;
  refused(e: { retired?: repo.Retired }): Promise<never>;
}

/** Where inputs are spent, for NUT-11 SIG_ALL: a swap's outputs, a melt's blank outputs and quote id. */
export type SpendOf = Omit<SpendContext, 'now'>;

interface CheckedInputs {
  proofs: Proof[];
  /** NUT-11/14: per input, the Schnorr work its spending condition needs (null: none). */
  locks: (LockCheck | null)[];
  keysets: MintKeyset[];
  unit: string;
  amount: Amount;
  fee: Amount;
}

interface CheckedOutputs {
  msgs: BlindedMessage[];
  /** Each `B_` in lowercase hex, as the signed set keys it. */
  B_s: string[];
  keysets: MintKeyset[];
  unit: string;
  amount: Amount;
}

/** NUT-07 states. */
export type NoteState = 'UNSPENT' | 'PENDING' | 'SPENT';

/**
 * What changed, published after the commit by `Mint.changes` (NUT-17 subscriptions listen): by
 * subscription kind, the ids whose state may have changed (`proof_state`: `Y`s; quote kinds: quote
 * ids). A hint only: listeners read the state again, so a hint for a write that rolled back costs a read.
 */
export type ChangeKind = 'proof_state' | 'bolt11_mint_quote' | 'bolt11_melt_quote';

export class Mint {
  readonly unit: string;
  readonly limits: MintLimits;
  /** State changes, published once committed (see `ChangeKind`); quote services publish here too. */
  readonly changes = new Topics<readonly string[]>();
  private readonly clock: () => number;
  /**
   * Swaps commit in groups: one transaction (one log sync) for the swaps that arrive meanwhile. On
   * PostgreSQL only those whose fee `onSwapFee` books (`swapsInOne`).
   */
  private readonly commits: GroupCommit;
  /** Swaps past their checks and not yet queued for commit: the commits on their way. */
  private swapsInCrypto = 0;
  private readonly onSwapFee: MintOptions['onSwapFee'];

  private constructor(
    readonly store: Store,
    readonly keysets: Keysets,
    private readonly crypto: MintCrypto,
    opts: MintOptions,
  ) {
    this.unit = opts.unit;
    this.onSwapFee = opts.onSwapFee;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.clock = opts.clock ?? Date.now;
    this.commits = new GroupCommit(store, { lingerMs: COMMIT_LINGER_MS, coming: () => this.swapsInCrypto });
  }

  static async open(opts: MintOptions): Promise<Mint> {
    const curve = opts.curve ?? defaultCurve();
    const keysets = await Keysets.open(opts.store, curve, {
      unit: opts.unit,
      ...(opts.inputFeePpk !== undefined ? { inputFeePpk: opts.inputFeePpk } : {}),
      ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
    });
    return new Mint(opts.store, keysets, opts.crypto ?? inThreadCrypto(curve), opts);
  }

  /**
   * Checks and verifies inputs (NUT-00/02/03, NUT-10/11/14 spending conditions) without writing
   * anything. `spend`: the melt whose outputs and quote id SIG_ALL inputs sign; without it (inputs
   * spent with no outputs at this mint) SIG_ALL inputs are refused.
   */
  async prepareInputs(inputs: unknown, spend?: SpendOf): Promise<PreparedInputs> {
    await this.keysets.fresh(idsOf(inputs));
    const c = this.withLocks(this.checkInputs(inputs), spend);
    return preparedInputs(c, await this.runCrypto(c, undefined));
  }

  /**
   * Checks and blind-signs outputs (NUT-00/02/03/12) without writing anything. `signInactive`: outputs
   * the caller itself journaled before a rotation (the gateway's jobs in flight) are signed by the
   * keyset they were made for, which stays redeemable until it is retired; never for outputs a client
   * sent to a Cashu endpoint. `journaled`: outputs the caller made itself and journaled (the gateway's
   * jobs), which no client chose: the early look for outputs signed before (`refuseSigned`, a read,
   * one round trip on PostgreSQL) is skipped; the commit's key on `B_` refuses them all the same.
   */
  async prepareOutputs(
    outputs: unknown,
    o: { signInactive?: boolean; journaled?: boolean } = {},
  ): Promise<PreparedOutputs> {
    await this.keysets.fresh(idsOf(outputs));
    const c = this.checkOutputs(outputs, o.signInactive === true);
    if (o.journaled !== true) await this.refuseSigned(c);
    return preparedOutputs(c, await this.runCrypto(undefined, c));
  }

  private checkInputs(inputs: unknown): CheckedInputs {
    const proofs = this.decodeList(Proof, inputs, 'inputs', this.limits.maxInputs, 'MaxInputsExceeded');
    const keysets: MintKeyset[] = [];
    const seen = new Set<string>();
    for (const [i, p] of proofs.entries()) {
      const ks = this.keysets.get(p.id); // NUT-02: inputs of an unknown keyset are refused
      this.refuseRetired(ks, `inputs[${i}]`);
      this.denomination(ks, p.amount);
      // NUT-03: the same secret twice is the same note twice (identical Y).
      if (seen.has(p.secret)) fail('DuplicateInputs', { index: i }, `inputs[${i}] repeats an earlier input`);
      seen.add(p.secret);
      keysets.push(ks);
    }
    return {
      proofs,
      locks: [],
      keysets,
      unit: this.oneUnit(keysets),
      amount: sum(proofs.map((p) => p.amount)),
      fee: Math.ceil(sum(keysets.map((k) => k.inputFeePpk)) / 1000) as Amount,
    };
  }

  /**
   * NUT-10/11/14: the inputs' spending conditions checked structurally (secrets, witnesses, SIG_ALL
   * over `spend`, bounds); the signatures they need verify later, in the crypto job.
   */
  private withLocks(c: CheckedInputs, spend: SpendOf | undefined): CheckedInputs {
    return { ...c, locks: planLocks(c.proofs, { ...spend, now: Math.floor(this.clock() / 1000) }) };
  }

  private checkOutputs(outputs: unknown, signInactive = false): CheckedOutputs {
    const msgs = this.decodeList(
      BlindedMessage,
      outputs,
      'outputs',
      this.limits.maxOutputs,
      'MaxOutputsExceeded',
    );
    const keysets: MintKeyset[] = [];
    const B_s: string[] = [];
    const seen = new Set<string>();
    for (const [i, m] of msgs.entries()) {
      const ks = this.keysets.get(m.id);
      this.refuseRetired(ks, `outputs[${i}]`);
      // NUT-02: only the active keyset signs (and, for a moment after a rotation, the one it replaced).
      if (!ks.active && !signInactive && !this.keysets.inOverlap(ks.id, this.clock()))
        fail('KeysetInactive', { id: ks.id }, `outputs[${i}]: keyset ${ks.id} is inactive`);
      this.denomination(ks, m.amount);
      const B_ = m.B_.toLowerCase();
      if (seen.has(B_)) fail('DuplicateOutputs', { index: i, B_ }, `outputs[${i}] repeats an earlier output`);
      seen.add(B_);
      B_s.push(B_);
      keysets.push(ks);
    }
    return { msgs, B_s, keysets, unit: this.oneUnit(keysets), amount: sum(msgs.map((m) => m.amount)) };
  }

  /** Fails fast on outputs signed before, so they buy no signing work; the primary key on B_ enforces it at commit. */
  private async refuseSigned(c: CheckedOutputs): Promise<void> {
    const signed = await repo.signaturesFor(this.store.db, this.store.dialect, c.B_s);
    if (signed.length > 0) this.alreadySigned(signed.map((s) => s.b_));
  }

  /**
   * One crypto job for checked inputs and/or outputs: every input verified before any output is
   * signed (forged inputs must not buy three times their cost in signing work); refuses the first
   * forged input (NUT-00) or `B_` that is not a point.
   */
  private async runCrypto(
    ins: CheckedInputs | undefined,
    outs: CheckedOutputs | undefined,
  ): Promise<CryptoAnswer> {
    const keys: Uint8Array[] = [];
    const indexOf = new Map<Uint8Array, number>();
    const keyIndex = (ks: MintKeyset, amount: number): number => {
      const k = ks.privateKeys.get(amount)!; // checked by `denomination`
      let i = indexOf.get(k);
      if (i === undefined) {
        i = keys.push(k) - 1;
        indexOf.set(k, i);
      }
      return i;
    };
    const proofs = ins?.proofs ?? [];
    const inKeysets = ins?.keysets ?? [];
    const msgs = outs?.msgs ?? [];
    const outKeysets = outs?.keysets ?? [];
    const answer = await this.crypto.run({
      keys,
      inputs: {
        secret: proofs.map((p) => p.secret),
        C: proofs.map((p) => p.C),
        key: proofs.map((p, i) => keyIndex(inKeysets[i]!, p.amount)),
        ...(ins?.locks.some((l) => l !== null) ? { lock: ins.locks } : {}),
      },
      outputs: { B_: msgs.map((m) => m.B_), key: msgs.map((m, i) => keyIndex(outKeysets[i]!, m.amount)) },
    });
    if (answer.forged >= 0) {
      const i = answer.forged;
      fail(
        'ProofVerificationFailed',
        { index: i, reason: 'signature does not verify' },
        `inputs[${i}]: signature does not verify`,
      );
    }
    if (answer.locked >= 0) {
      const i = answer.locked;
      fail(
        'ProofVerificationFailed',
        { index: i, reason: answer.lockReason },
        `inputs[${i}]: ${answer.lockReason}`,
      );
    }
    if (answer.invalid >= 0)
      fail('InvalidPoint', { argument: `outputs[${answer.invalid}].B_`, reason: NOT_ON_CURVE });
    return answer;
  }

  /**
   * Writes prepared inputs as spent or pending under `operation`, inside the caller's transaction.
   * Throws `ProofsAlreadySpent` / `ProofsPending` naming the notes when any `Y` is already held.
   */
  async commitInputs(trx: Trx, p: PreparedInputs, operation: string, state: repo.ProofState): Promise<void> {
    const now = this.clock();
    const n = await repo.insertProofs(
      trx,
      this.store.dialect,
      p.rows,
      { state, operation, created_at: now, updated_at: now },
      p.fee,
    );
    if (n === p.rows.length) {
      this.changed(trx, 'proof_state', p.Ys);
      return;
    }
    await this.refuseInputs(trx, p, operation);
  }

  /** Why inputs were not all inserted: the notes others hold, spent (`ProofsAlreadySpent`) or pending. */
  private async refuseInputs(db: Trx, p: PreparedInputs, operation: string): Promise<never> {
    // The rows this statement just inserted are visible here too: name only the notes held by others.
    const all = await repo.proofStates(db, this.store.dialect, p.Ys);
    const others = all.filter((h) => h.operation !== operation);
    const held = others.length > 0 ? others : all;
    const spent = held.filter((h) => h.state === 'spent').map((h) => h.y);
    if (spent.length > 0) fail('ProofsAlreadySpent', { Ys: spent }, `${spent.length} input(s) already spent`);
    // None left to name (the holder released them since): all of them, as pending.
    const Ys = held.length > 0 ? held.map((h) => h.y) : [...p.Ys];
    return fail('ProofsPending', { Ys }, `${Ys.length} input(s) are pending`);
  }

  /**
   * Records prepared signatures under `operation` inside the caller's transaction; returns them.
   * A keyset retired since the checks (another process's rotation with no grace) refuses them here,
   * from the rows as committed: no signature of a retired keyset is ever given.
   */
  async commitOutputs(trx: Trx, p: PreparedOutputs, operation: string): Promise<BlindSignature[]> {
    const now = this.clock();
    const keysets = [...new Set(p.rows.map((r) => r.keyset_id))];
    const { inserted, retired } = await repo.insertSignatures(
      trx,
      this.store.dialect,
      p.rows,
      { operation, created_at: now },
      { keysets, now },
    );
    if (retired !== undefined) this.expired(retired.id, retired.retires_at);
    if (inserted !== p.rows.length) await this.refuseOutputs(trx, p, operation);
    return [...p.signatures];
  }

  /** Why outputs were not all inserted: `OutputsAlreadySigned` naming those signed before. */
  private async refuseOutputs(db: Trx, p: PreparedOutputs, operation: string): Promise<never> {
    const Bs = p.rows.map((r) => r.b_);
    // The rows this statement just inserted are visible here too: name only those signed by others.
    const signed = (await repo.signaturesFor(db, this.store.dialect, Bs))
      .filter((s) => s.operation !== operation)
      .map((s) => s.b_);
    return this.alreadySigned(signed.length > 0 ? signed : Bs);
  }

  /**
   * Prepared outputs as a write of the caller's request (`MintWrite`): signed under `operation` in its
   * transaction (`commitOutputs`), or, on PostgreSQL, as rows of its one statement (migration 030).
   */
  outputsWrite(p: PreparedOutputs, operation: string): MintWrite {
    const now = this.clock();
    return {
      commit: async (trx) => {
        await this.commitOutputs(trx, p, operation);
      },
      rows: repo.signatureRows(p.rows, operation, now, [...new Set(p.rows.map((r) => r.keyset_id))]),
      committed: () => {},
      refused: async (e) => {
        if (e.retired !== undefined) this.expired(e.retired.id, e.retired.retires_at);
        return this.refuseOutputs(this.store.db, p, operation);
      },
    };
  }

  /** Prepared inputs as a write of the caller's request (`MintWrite`, as `outputsWrite`; `commitInputs`). */
  inputsWrite(p: PreparedInputs, operation: string, state: repo.ProofState): MintWrite {
    const now = this.clock();
    return {
      commit: (trx) => this.commitInputs(trx, p, operation, state),
      rows: repo.proofRows(p.rows, { state, operation, created_at: now, updated_at: now }, p.fee),
      committed: () => this.changed(this.store.db, 'proof_state', p.Ys),
      refused: () => this.refuseInputs(this.store.db, p, operation),
    };
  }

  /** NUT-03 swap: spend inputs, sign outputs of equal value less fees, in one transaction. */
  async swap(
    inputs: unknown,
    outputs: unknown,
    operation = `swap:${randomUUID()}`,
  ): Promise<BlindSignature[]> {
    await this.keysets.fresh([...idsOf(inputs), ...idsOf(outputs)]);
    const checked = this.checkInputs(inputs);
    const outs = this.checkOutputs(outputs);
    // NUT-11: SIG_ALL inputs sign this swap's outputs.
    const ins = this.withLocks(checked, { outputs: outs.msgs });
    // NUT-03: inputs and outputs share one unit; NUT-02: inputs = outputs + fees.
    if (ins.unit !== outs.unit) fail('UnitMismatch', { inputUnit: ins.unit, outputUnit: outs.unit });
    if (ins.amount !== outs.amount + ins.fee) {
      fail(
        'TransactionUnbalanced',
        { inputs: ins.amount, outputs: outs.amount, fees: ins.fee },
        `inputs ${ins.amount} must equal outputs ${outs.amount} plus fees ${ins.fee}`,
      );
    }
    // Outputs signed before are refused first; then one job verifies every input before any signing.
    let answer: CryptoAnswer;
    const inOne = this.swapsInOne(ins.fee);
    // Only a swap that will join a group is one a group may wait for.
    if (!inOne) this.swapsInCrypto++;
    try {
      await this.refuseSigned(outs);
      answer = await this.runCrypto(ins, outs);
    } catch (err) {
      // NUT-19: the same swap again finds its outputs signed; it gets the answer it got before.
      if (isLancashError(err, 'OutputsAlreadySigned')) return this.replayedSwap(ins, outs, err);
      throw err;
    } finally {
      if (!inOne) this.swapsInCrypto--;
    }
    const verified = preparedInputs(ins, answer);
    const signed = preparedOutputs(outs, answer);
    try {
      return await (inOne
        ? this.swapInOne(verified, signed, operation)
        : this.swapCommit(verified, signed, operation));
    } catch (err) {
      // A twin of this very swap committed first (a client's retry racing its original).
      if (isLancashError(err, 'ProofsAlreadySpent') || isLancashError(err, 'OutputsAlreadySigned'))
        return this.swapAnswered(verified.Ys, outs, err);
      throw err;
    }
  }

  /**
   * NUT-19 for swaps, from what the database holds (nothing is written): a swap whose outputs are
   * signed answers the signatures it got, if its inputs verify again (only their holder can replay)
   * and the inputs and outputs are exactly one earlier swap's, all its inputs spent by it and all its
   * outputs signed by it with the same amounts and keysets. Anything else keeps its refusal. The
   * outputs' rows are read first, so a request that is no replay is refused before any crypto.
   */
  private async replayedSwap(
    ins: CheckedInputs,
    outs: CheckedOutputs,
    refusal: unknown,
  ): Promise<BlindSignature[]> {
    const signed = await this.signedExactlyBy(outs.msgs);
    if (signed === undefined) throw refusal;
    const answer = await this.runCrypto(ins, undefined);
    return this.heldAnswer(answer.Y, signed, refusal);
  }

  private async swapAnswered(
    Ys: readonly string[],
    outs: CheckedOutputs,
    refusal: unknown,
  ): Promise<BlindSignature[]> {
    return this.heldAnswer(Ys, await this.signedExactlyBy(outs.msgs), refusal);
  }

  private async heldAnswer(
    Ys: readonly string[],
    signed: { operation: string; signatures: BlindSignature[] } | undefined,
    refusal: unknown,
  ): Promise<BlindSignature[]> {
    if (signed === undefined || !(await this.heldExactlyBy(Ys, signed.operation))) throw refusal;
    return signed.signatures;
  }

  /**
   * NUT-19 replays: the signatures, in request order, when every output was signed by one operation
   * (`operation` when given) with the same amount and keyset, and that operation signed exactly these
   * outputs; otherwise undefined.
   */
  async signedExactlyBy(
    outputs: readonly BlindedMessage[],
    operation?: string,
  ): Promise<{ operation: string; signatures: BlindSignature[] } | undefined> {
    const { db, dialect } = this.store;
    const B_s = outputs.map((m) => m.B_.toLowerCase());
    const byB_ = new Map((await repo.signaturesFor(db, dialect, B_s)).map((s) => [s.b_, s]));
    const rows = B_s.map((B_) => byB_.get(B_));
    const op = operation ?? rows[0]?.operation;
    const same = rows.every(
      (r, i) =>
        r !== undefined &&
        r.operation === op &&
        r.amount === outputs[i]!.amount &&
        r.keyset_id === outputs[i]!.id,
    );
    if (op === undefined || outputs.length === 0 || !same) return undefined;
    if ((await repo.operationSize(db, op)).signatures !== rows.length) return undefined;
    return { operation: op, signatures: rows.map((r) => toBlindSignature(r!)) };
  }

  /**
   * NUT-19 replays: whether `Ys` are exactly the inputs `operation` spent (or holds pending, with
   * `pending`).
   */
  async heldExactlyBy(
    Ys: readonly string[],
    operation: string,
    o: { pending?: boolean } = {},
  ): Promise<boolean> {
    const { db, dialect } = this.store;
    const held = await repo.proofStates(db, dialect, Ys);
    const size = await repo.operationSize(db, operation);
    const states = o.pending === true ? ['spent', 'pending'] : ['spent'];
    return (
      held.length === Ys.length &&
      held.every((h) => states.includes(h.state) && h.operation === operation) &&
      size.proofs === Ys.length
    );
  }

  /**
   * Whether a swap's write is ONE statement (`swapInOne`): on PostgreSQL, unless the swap keeps a fee
   * that `onSwapFee` books in the same transaction (the wide bank's ledger posting). A group of such
   * statements in one transaction would cost BEGIN, COMMIT and a round trip each, one after another
   * on one connection; alone, each is one round trip on its own connection, and the server's log
   * flush is shared by the commits that arrive together anyway. SQLite keeps the group: there the
   * commit's fsync blocks the event loop, once a group.
   */
  private swapsInOne(fee: Amount): boolean {
    return this.store.dialect === 'postgres' && !(fee > 0 && this.onSwapFee !== undefined);
  }

  /**
   * A swap's write as one statement (migration 032): inputs spent, outputs signed, totals moved, or
   * nothing. A refusal is the one the transaction would give (`commitInputs`, `commitOutputs`), its
   * notes named from the committed rows.
   */
  private async swapInOne(
    verified: PreparedInputs,
    signed: PreparedOutputs,
    operation: string,
  ): Promise<BlindSignature[]> {
    const db = this.store.db;
    const refused = await repo.swapInOne(db, verified.rows, signed.rows, {
      operation,
      now: this.clock(),
      fees: verified.fee,
      keysets: [...new Set(signed.rows.map((r) => r.keyset_id))],
    });
    if (refused === undefined) {
      this.changed(db, 'proof_state', verified.Ys);
      return [...signed.signatures];
    }
    if (refused.retired !== undefined) return this.expired(refused.retired.id, refused.retired.retires_at);
    if (refused.table === 'mint_proofs') return this.refuseInputs(db, verified, operation);
    return this.refuseOutputs(db, signed, operation);
  }

  private swapCommit(
    verified: PreparedInputs,
    signed: PreparedOutputs,
    operation: string,
  ): Promise<BlindSignature[]> {
    return this.commits.run(async (trx) => {
      await this.commitInputs(trx, verified, operation, 'spent');
      if (verified.fee > 0) await this.onSwapFee?.(trx, operation, verified.fee);
      return this.commitOutputs(trx, signed, operation);
    });
  }

  /** NUT-07: the state of each `Y` (hex), in request order. */
  async checkState(Ys: unknown): Promise<{ Y: string; state: NoteState; witness: string | null }[]> {
    const list = this.hexList(Ys, 'Ys', this.limits.maxInputs);
    const held = new Map(
      (await repo.proofStates(this.store.db, this.store.dialect, list)).map((h) => [h.y, h]),
    );
    return list.map((Y) => {
      const h = held.get(Y);
      const state: NoteState = h === undefined ? 'UNSPENT' : h.state === 'spent' ? 'SPENT' : 'PENDING';
      return { Y, state, witness: h?.witness ?? null };
    });
  }

  /**
   * NUT-09: the signatures the mint once gave for these blinded messages (unknown ones are left out).
   * The request's amounts are ignored (wallets send 0); the answer's outputs carry the signed amounts.
   */
  async restore(outputs: unknown): Promise<{ outputs: BlindedMessage[]; signatures: BlindSignature[] }> {
    const msgs = this.decodeList(
      BlankMessage,
      outputs,
      'outputs',
      this.limits.maxOutputs,
      'MaxOutputsExceeded',
    );
    const found = new Map(
      (
        await repo.signaturesFor(
          this.store.db,
          this.store.dialect,
          msgs.map((m) => m.B_.toLowerCase()),
        )
      ).map((s) => [s.b_, s]),
    );
    const pairs = msgs.flatMap((m) => {
      const s = found.get(m.B_.toLowerCase());
      return s ? [[m, toBlindSignature(s)] as const] : [];
    });
    return {
      outputs: pairs.map(([m, s]) => ({ ...m, amount: s.amount })),
      signatures: pairs.map(([, s]) => s),
    };
  }

  /** Marks an operation's pending inputs spent (e.g. a gateway job once the wide notes are confirmed). */
  async settlePending(trx: Trx, operation: string): Promise<number> {
    const ppk = new Map(this.keysets.all().map((k) => [k.id.toLowerCase(), k.inputFeePpk]));
    const Ys = await repo.settleProofs(trx, this.store.dialect, operation, this.clock(), (id) =>
      ppk.get(id.toLowerCase()),
    );
    this.changed(trx, 'proof_state', Ys);
    return Ys.length;
  }

  /** Releases an operation's pending inputs, which become spendable again (a proven refusal). */
  async releasePending(trx: Trx, operation: string): Promise<number> {
    const Ys = await repo.releaseProofs(trx, operation);
    this.changed(trx, 'proof_state', Ys);
    return Ys.length;
  }

  /** Publishes `ids` of `kind` on `changes` once what `db` wrote is committed (nothing when empty). */
  changed(db: Trx, kind: ChangeKind, ids: readonly string[]): void {
    if (ids.length > 0) this.store.afterCommit(db, () => this.changes.publish(kind, ids));
  }

  /** Value signed, spent and pending, for the audit. */
  totals(): Promise<{ signed: number; spent: number; pending: number }> {
    return repo.totals(this.store.db);
  }

  private decodeList<T extends typeof Proof | typeof BlindedMessage | typeof BlankMessage>(
    schema: T,
    value: unknown,
    argument: string,
    max: number,
    tooMany: 'MaxInputsExceeded' | 'MaxOutputsExceeded',
  ): (T extends typeof Proof ? Proof : BlindedMessage)[] {
    if (!Array.isArray(value)) {
      fail(
        'InvalidInput',
        { argument, expected: 'an array', received: typeof value },
        `${argument} must be an array`,
      );
    }
    // NUT-03: a request needs inputs and outputs.
    if (value.length === 0) fail('EmptyRequest', { argument }, `${argument} must not be empty`);
    if (value.length > max)
      fail(tooMany, { count: value.length, max }, `${argument}: at most ${max} allowed`);
    return value.map((v, i) => decode(schema, v, `${argument}[${i}]`)) as never;
  }

  private hexList(value: unknown, argument: string, max: number): string[] {
    if (!Array.isArray(value)) {
      fail(
        'InvalidInput',
        { argument, expected: 'an array', received: typeof value },
        `${argument} must be an array`,
      );
    }
    if (value.length > max) fail('MaxInputsExceeded', { count: value.length, max });
    return value.map((v, i) => {
      hex(v, `${argument}[${i}]`, 33);
      return (v as string).toLowerCase();
    });
  }

  /** NUT-01: an amount is valid only if the keyset has a key for it. */
  private denomination(ks: MintKeyset, amount: number): void {
    if (!ks.privateKeys.has(amount)) {
      fail(
        'InvalidDenomination',
        { amount, keyset: ks.id },
        `amount ${amount} is not a denomination of ${ks.id}`,
      );
    }
  }

  /** NUT-03: all notes of one request in one unit, and that unit is ours. */
  private oneUnit(keysets: readonly MintKeyset[]): string {
    const units = [...new Set(keysets.map((k) => k.unit))];
    if (units.length > 1) fail('MultipleUnits', { units });
    const unit = units[0] ?? this.unit;
    if (unit !== this.unit) fail('UnitNotSupported', { unit });
    return unit;
  }

  /** Cashu 12003: the keyset's grace period is over; its notes are neither redeemed nor signed. */
  private refuseRetired(ks: MintKeyset, argument: string): void {
    const at = this.keysets.retiresAt(ks.id);
    if (at !== undefined && this.clock() >= at) this.expired(ks.id, at, argument);
  }

  private expired(id: string, retiredAt: number, argument?: string): never {
    return fail(
      'KeysetExpired',
      { id, retiredAt },
      `${argument === undefined ? '' : `${argument}: `}keyset ${id} was retired at ${new Date(retiredAt).toISOString()}; its notes are no longer redeemed`,
    );
  }

  private alreadySigned(B_s: string[]): never {
    return fail('OutputsAlreadySigned', { B_: B_s }, `${B_s.length} output(s) were already signed`);
  }
}

function preparedInputs(c: CheckedInputs, a: CryptoAnswer): PreparedInputs {
  return {
    amount: c.amount,
    fee: c.fee,
    unit: c.unit,
    Ys: a.Y,
    rows: c.proofs.map((p, i) => ({
      y: a.Y[i]!,
      amount: p.amount,
      keyset_id: c.keysets[i]!.id,
      secret: p.secret,
      c: p.C.toLowerCase(),
      witness: p.witness ?? null,
    })),
  };
}

function preparedOutputs(c: CheckedOutputs, a: CryptoAnswer): PreparedOutputs {
  const rows = c.msgs.map((m, i) => ({
    b_: c.B_s[i]!,
    amount: m.amount,
    keyset_id: c.keysets[i]!.id,
    c_: a.C_[i]!,
    dleq_e: a.e[i]!,
    dleq_s: a.s[i]!,
  }));
  return { amount: c.amount, unit: c.unit, signatures: rows.map(toBlindSignature), rows };
}

function toBlindSignature(
  r: Pick<repo.SignatureRow, 'amount' | 'keyset_id' | 'c_' | 'dleq_e' | 'dleq_s'>,
): BlindSignature {
  return { amount: r.amount, id: r.keyset_id, C_: r.c_, dleq: { e: r.dleq_e, s: r.dleq_s } };
}

/** The keyset ids a request names, read before it is decoded (anything else is left to the checks). */
function idsOf(list: unknown): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.map((v: unknown) =>
    typeof v === 'object' && v !== null ? (v as { id?: unknown }).id : undefined,
  );
}
