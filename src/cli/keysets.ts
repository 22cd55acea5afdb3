/**
 * `lancash wide-bank keyset …` and `lancash gateway keyset …` (docs/operations.md, "Key rotation"):
 * the operator lists a mint's keysets and rotates them, acting on the database directly like
 * `wide-bank account …` (whoever can run them can already read the database). A rotation is one
 * transaction; every server process on the database signs with the new keyset within a second
 * (`mint/keysets.ts`), and the old keysets stay redeemable for the grace period, then are retired.
 * They print JSON.
 */
import type { Command } from 'commander';
import { fail } from '../core/errors.js';
import { MAX_INPUT_FEE_PPK } from '../core/fees.js';
import type { Store, StoreConfig } from '../store/index.js';
import { runCommand, usage } from './usage.js';

/** The default `--grace`: a week, as `DEFAULT_GRACE_MS` of `mint/keysets.ts` (held to it by a test). */
export const DEFAULT_GRACE_HOURS = 168;

export interface KeysetCommandsOptions {
  /** `wide-bank` or `gateway`, for the messages. */
  command: string;
  /** The database the server runs on, which must exist already (a usage mistake otherwise). */
  store: (c: Command) => Promise<StoreConfig>;
}

/** One keyset as the operator reads it; times in ISO 8601 (UTC). */
export interface KeysetListing {
  id: string;
  unit: string;
  active: boolean;
  inputFeePpk: number;
  createdAt: string;
  /** When its notes stop being redeemed; null: not scheduled (the active keyset). */
  retiresAt: string | null;
  /** `active` signs; `retiring` redeems until `retiresAt`; `retired` refuses its notes (Cashu 12003). */
  state: 'active' | 'retiring' | 'retired' | 'redeemable';
}

export function registerKeysetCommands(parent: Command, o: KeysetCommandsOptions): void {
  const keyset = parent
    .command('keyset')
    .description('operator: list and rotate the mint’s keysets (acts on the database directly)');
  keyset
    .command('list')
    .description('every keyset: id, unit, active, fee, created, and when it retires')
    .action((_o: unknown, c: Command) =>
      runCommand(`${o.command} keyset list`, () =>
        withStore(o, c, async (store) => listing(await rows(store), Date.now())),
      ),
    );
  keyset
    .command('rotate')
    .description(
      'a fresh keyset signs from now on; the old ones stay redeemable for the grace period, then are retired',
    )
    .option(
      '--grace <hours>',
      'hours the old keysets stay redeemable (wallets renew their notes when they open); 0 retires them at once, for a key that leaked',
      String(DEFAULT_GRACE_HOURS),
    )
    .option(
      '--input-fee-ppk <n>',
      `NUT-02 input fee of the new keyset: parts per thousand of a minor unit per note spent, 0 to ${MAX_INPUT_FEE_PPK} (a request pays ceil(Σ / 1000)); default: the active keyset's`,
    )
    .action((opts: { grace: string; inputFeePpk?: string }, c: Command) =>
      runCommand(`${o.command} keyset rotate`, async () => {
        // Checked before the database opens: a mistyped value changes nothing.
        const graceMs = graceOf(opts.grace);
        const inputFeePpk = opts.inputFeePpk === undefined ? undefined : feeOf(opts.inputFeePpk);
        await withStore(o, c, (store) => rotate(store, graceMs, inputFeePpk));
      }),
    );
}

/** `--grace HOURS`: a non-negative number of hours (fractions allowed), as milliseconds. */
export function graceOf(text: string): number {
  const hours = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  const ms = Math.round(hours * 3_600_000);
  if (!Number.isSafeInteger(ms)) usage(`--grace: expected a number of hours such as 168 or 0.5, got ${text}`);
  return ms;
}

/**
 * `--input-fee-ppk N`: the new keyset's NUT-02 fee, a whole number from 0 to `MAX_INPUT_FEE_PPK`. Every
 * check of both mints counts it, and the books account it (docs/wide-bank.md and docs/gateway.md, "Fees").
 */
export function feeOf(text: string): number {
  const n = /^\d{1,9}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= MAX_INPUT_FEE_PPK)) {
    usage(
      `--input-fee-ppk: expected a whole number of parts per thousand from 0 to ${MAX_INPUT_FEE_PPK} (1000 = one minor unit per note spent), got ${text}`,
    );
  }
  return n;
}

async function withStore(
  o: KeysetCommandsOptions,
  c: Command,
  fn: (store: Store) => Promise<unknown>,
): Promise<void> {
  const config = await o.store(c);
  const { openStore } = await import('../store/index.js');
  const store = await openStore(config);
  try {
    process.stdout.write(`${JSON.stringify(await fn(store), null, 2)}\n`);
  } finally {
    await store.close();
  }
}

async function rows(store: Store) {
  const { listKeysets } = await import('../mint/repository.js');
  const found = await listKeysets(store.db);
  // A database whose server never ran has no mint yet: rotating would make its seed here.
  if (found.length === 0) usage('this database has no mint keysets yet: start the server on it once first');
  return found;
}

function listing(rs: Awaited<ReturnType<typeof rows>>, now: number): KeysetListing[] {
  return rs.map((r) => {
    const retiresAt = r.retires_at === null ? null : Number(r.retires_at);
    const state =
      r.active === 1
        ? 'active'
        : retiresAt === null
          ? 'redeemable'
          : now >= retiresAt
            ? 'retired'
            : 'retiring';
    return {
      id: r.id,
      unit: r.unit,
      active: r.active === 1,
      inputFeePpk: r.input_fee_ppk,
      createdAt: new Date(Number(r.created_at)).toISOString(),
      retiresAt: retiresAt === null ? null : new Date(retiresAt).toISOString(),
      state,
    };
  });
}

async function rotate(store: Store, graceMs: number, inputFeePpk: number | undefined) {
  const before = await rows(store);
  const current = before.find((r) => r.active === 1) ?? before[before.length - 1]!;
  const [{ defaultCurve }, { Keysets }, { isUniqueViolation }] = await Promise.all([
    import('../core/crypto/index.js'),
    import('../mint/keysets.js'),
    import('../store/index.js'),
  ]);
  const keysets = await Keysets.open(store, defaultCurve(), {
    unit: current.unit,
    maxOrder: current.max_order,
    inputFeePpk: 0,
  });
  let fresh: { id: string; inputFeePpk: number };
  try {
    fresh = await keysets.rotate({ graceMs, ...(inputFeePpk === undefined ? {} : { inputFeePpk }) });
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    // Another rotation committed first (the unique derivation index): nothing of this one stayed.
    return fail(
      'KeysetRotationConflict',
      { reason: e instanceof Error ? e.message : String(e) },
      'another rotation happened at the same moment; list the keysets and rotate again if needed',
    );
  }
  const now = Date.now();
  const after = listing(await rows(store), now);
  const until = after.find((k) => k.id === current.id && current.active === 1)?.retiresAt ?? undefined;
  return {
    previous: current.id,
    active: after.find((k) => k.id === fresh.id),
    said:
      `keyset ${fresh.id} signs from now on (every server process within a second)` +
      (fresh.inputFeePpk === 0
        ? '; '
        : ` and charges an input fee of ${fresh.inputFeePpk} ppk per note spent; `) +
      (until === undefined
        ? 'no old keyset was active'
        : graceMs === 0
          ? `keyset ${current.id} is retired now: its notes are refused (Cashu 12003)`
          : `keyset ${current.id} stays redeemable until ${until}, then its notes are refused (Cashu 12003); wallets swap them when they next open`),
    keysets: after,
  };
}
