/**
 * The mint's keysets (NUT-01/02): derived from one master seed kept in the database (sealed when the
 * operator gave a secrets key, `secret-settings.ts`), so every process
 * sharing the database signs with the same keys. Rotation makes a new keyset active; old keysets stay
 * redeemable but never sign again (NUT-02), until their grace period ends and they are retired (inputs
 * refused, Cashu 12003). Each process reads the rows again at most `reloadMs` after its last read, so a
 * rotation made by another process (or the CLI) is seen within that time (docs/mint.md, "Key rotation").
 */
import { bytesToHex, hex } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { deriveKeyset, type MintKeyset } from '../core/crypto/keyset.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { fail } from '../core/errors.js';
import type { Store } from '../store/index.js';
import * as repo from './repository.js';
import { loadSecretSetting } from './secret-settings.js';

const SEED_KEY = 'mint.seed';

export interface KeysetOptions {
  unit: string;
  /** Amounts 2^0 … 2^(maxOrder−1); 32 covers every note up to `MAX_NOTE_AMOUNT`. */
  maxOrder?: number;
  inputFeePpk?: number;
  /** How long the rows read are trusted before a request reads them again; default `KEYSET_RELOAD_MS`. */
  reloadMs?: number;
  clock?: () => number;
}

/** Every process sees another's rotation within this time (one small SELECT per second at most). */
export const KEYSET_RELOAD_MS = 1000;

/** Least time between two reads asked for by an unknown keyset id. */
export const UNKNOWN_RELOAD_MS = 100;

/**
 * How long after a rotation the keyset it replaced still signs a client's outputs: a wallet that read
 * the keyset list from a process still on its last read (up to `KEYSET_RELOAD_MS`) made its outputs on
 * it, and must not be refused for that. The keyset stays redeemable long after, so nothing is at risk.
 */
export const ROTATION_OVERLAP_MS = 2 * KEYSET_RELOAD_MS;

/** The grace period when the operator names none: a week, for wallets opened now and then. */
export const DEFAULT_GRACE_MS = 7 * 24 * 3600_000;

export interface RotateOptions {
  /**
   * How long the keysets made inactive stay redeemable; 0 retires them at once (a compromised key).
   * Default `DEFAULT_GRACE_MS`.
   */
  graceMs?: number;
  /** NUT-02 fee of the new keyset; default the active keyset's (a rotation changes keys, not prices). */
  inputFeePpk?: number;
}

export class Keysets {
  private byId = new Map<string, MintKeyset>();
  private active!: MintKeyset;
  private nextIndex = 0;
  /** Unix ms from which a keyset's inputs are refused; absent: never. */
  private retiring = new Map<string, number>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  /** The keyset the active one replaced, and when (the active row's `created_at`). */
  private replaced: { id: string; at: number } | undefined;
  private loading: Promise<void> | undefined;
  private readonly clock: () => number;

  private constructor(
    private readonly store: Store,
    private readonly curve: Curve,
    private readonly seed: Uint8Array,
    private readonly opts: KeysetOptions,
  ) {
    this.clock = opts.clock ?? Date.now;
  }

  /** Loads the keysets, creating the seed and the first keyset on a fresh database. */
  static async open(store: Store, curve: Curve, opts: KeysetOptions): Promise<Keysets> {
    const seedHex = await loadSecretSetting(store, SEED_KEY, () => bytesToHex(randomScalar()));
    const ks = new Keysets(store, curve, hex(seedHex, SEED_KEY, 32), opts);
    await ks.reload();
    if (ks.byId.size === 0) {
      // Two processes starting on one fresh database: the unique derivation index lets one row win.
      await repo.insertKeyset(store.db, ks.row(0, true), { ifAbsent: true });
      await ks.reload();
    }
    return ks;
  }

  /** Re-reads keyset rows (another process may have rotated). */
  async reload(): Promise<void> {
    const at = this.clock();
    const rows = await repo.listKeysets(this.store.db);
    const next = new Map<string, MintKeyset>();
    let active: MintKeyset | undefined;
    for (const r of rows) {
      const ks =
        this.byId.get(r.id) ??
        deriveKeyset(this.curve, {
          seed: this.seed,
          derivationIndex: r.derivation_index,
          unit: r.unit,
          maxOrder: r.max_order,
          inputFeePpk: r.input_fee_ppk,
          active: r.active === 1,
        });
      if (ks.id !== r.id)
        fail('InvalidKeyset', { reason: `stored keyset ${r.id} does not match its derivation` });
      const current = { ...ks, active: r.active === 1 };
      next.set(r.id, current);
      if (current.active) active = current;
    }
    this.byId = next;
    this.retiring = new Map(
      rows.flatMap((r) => (r.retires_at === null ? [] : [[r.id, Number(r.retires_at)]])),
    );
    this.loadedAt = at;
    const activeRow = rows.find((r) => r.active === 1);
    const before = rows
      .filter((r) => activeRow !== undefined && r.derivation_index < activeRow.derivation_index)
      .at(-1);
    this.replaced =
      activeRow === undefined || before === undefined
        ? undefined
        : { id: before.id, at: Number(activeRow.created_at) };
    this.nextIndex = Math.max(-1, ...rows.map((r) => r.derivation_index)) + 1;
    if (active) this.active = active;
  }

  /**
   * Reads the rows again when the last read is older than `reloadMs`, or when one of `ids` is not
   * known and the last read is older than `UNKNOWN_RELOAD_MS` (a keyset another process made since:
   * a wallet may bring its notes here at once; made-up ids cost at most one read per that time). One
   * read serves every caller waiting for it.
   */
  async fresh(ids: readonly unknown[] = []): Promise<void> {
    const age = this.clock() - this.loadedAt;
    if (age < (this.opts.reloadMs ?? KEYSET_RELOAD_MS)) {
      if (age < UNKNOWN_RELOAD_MS) return;
      const known = (id: unknown) => typeof id !== 'string' || this.byId.has(id.toLowerCase());
      if (ids.every(known)) return;
    }
    this.loading ??= this.reload().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  /**
   * Makes a fresh keyset the only active one; the old ones keep redeeming for `graceMs`, then are
   * retired.
   */
  async rotate(o: RotateOptions = {}): Promise<MintKeyset> {
    const graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) {
      fail(
        'InvalidInput',
        { argument: 'graceMs', expected: 'a non-negative integer', received: String(graceMs) },
        `the grace period must be a non-negative number of milliseconds, got ${graceMs}`,
      );
    }
    await this.reload();
    const row = this.row(this.nextIndex, true, o.inputFeePpk ?? this.current().inputFeePpk);
    // One transaction: a concurrent rotation hits the unique derivation index and rolls back whole.
    await this.store.transaction(async (trx) => {
      await repo.deactivateKeysets(trx, row.created_at + graceMs);
      await repo.insertKeyset(trx, row, { ifAbsent: false });
    });
    await this.reload();
    return this.get(row.id);
  }

  all(): MintKeyset[] {
    return [...this.byId.values()];
  }

  current(): MintKeyset {
    return this.active;
  }

  /** When `id` is (or was) retired, unix ms; undefined when it is not scheduled to be. */
  retiresAt(id: string): number | undefined {
    return this.retiring.get(id.toLowerCase());
  }

  /** Whether inactive `id` still signs a client's outputs at `now`: it was replaced a moment ago. */
  inOverlap(id: string, now = this.clock()): boolean {
    const r = this.replaced;
    return (
      r !== undefined &&
      r.id === id.toLowerCase() &&
      now - r.at < ROTATION_OVERLAP_MS &&
      !this.retired(id, now)
    );
  }

  /** Whether `id`'s notes are refused at `now` (its grace period is over). */
  retired(id: string, now = this.clock()): boolean {
    const at = this.retiresAt(id);
    return at !== undefined && now >= at;
  }

  /** The keyset with this id, or `KeysetUnknown` (NUT-02). */
  get(id: string): MintKeyset {
    const ks = this.byId.get(id.toLowerCase());
    if (!ks) fail('KeysetUnknown', { id }, `keyset ${id} is not known to this mint`);
    return ks;
  }

  private row(derivationIndex: number, active: boolean, inputFeePpk?: number): repo.KeysetRow {
    const maxOrder = this.opts.maxOrder ?? 32;
    const fee = inputFeePpk ?? this.opts.inputFeePpk ?? 0;
    const ks = deriveKeyset(this.curve, {
      seed: this.seed,
      derivationIndex,
      unit: this.opts.unit,
      maxOrder,
      inputFeePpk: fee,
      active,
    });
    return {
      id: ks.id,
      unit: this.opts.unit,
      active: active ? 1 : 0,
      input_fee_ppk: fee,
      derivation_index: derivationIndex,
      max_order: maxOrder,
      created_at: this.clock(),
      retires_at: null,
    };
  }
}
