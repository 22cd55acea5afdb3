/**
 * The mint's keysets (NUT-01/02): derived from one master seed kept in the database (sealed when the
 * operator gave a secrets key, `secret-settings.ts`), so every process
 * sharing the database signs with the same keys. Rotation makes a new keyset active; old keysets stay
 * redeemable but never sign again (NUT-02).
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
}

export class Keysets {
  private byId = new Map<string, MintKeyset>();
  private active!: MintKeyset;
  private nextIndex = 0;

  private constructor(
    private readonly store: Store,
    private readonly curve: Curve,
    private readonly seed: Uint8Array,
    private readonly opts: KeysetOptions,
  ) {}

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
    this.nextIndex = Math.max(-1, ...rows.map((r) => r.derivation_index)) + 1;
    if (active) this.active = active;
  }

  /** Makes a fresh keyset the only active one; the old ones keep redeeming. */
  async rotate(o: { inputFeePpk?: number } = {}): Promise<MintKeyset> {
    await this.reload();
    const row = this.row(this.nextIndex, true, o.inputFeePpk);
    // One transaction: a concurrent rotation hits the unique derivation index and rolls back whole.
    await this.store.transaction(async (trx) => {
      await repo.deactivateKeysets(trx);
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
      created_at: Date.now(),
    };
  }
}
