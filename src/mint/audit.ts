/**
 * The checks of a mint's own tables that hold whatever books sit beside it (the wide bank's ledger, the
 * gateway's journal), shared by both audits (docs/wide-bank.md, "The audit"). Each difference names its
 * rows (`mint_proofs:<Y>`, `mint_signatures:<B_>`, `mint_keysets:<id>`) and the amounts:
 *   - a note held pending by an operation that never holds notes pending (a spent note flipped back);
 *   - two signature rows with one C_ (a copied row: one blinded message signs to one point);
 *   - per keyset and amount, more notes spent or pending than were ever signed;
 *   - a note of a keyset the mint does not have;
 *   - a keyset row that no longer matches the NUT-02 v2 id it was created with, which commits to its
 *     keys, unit and `input_fee_ppk`: a changed fee is named with the fee the id commits to. This needs
 *     the seed: with a sealed seed and no secrets key it is listed as not checked;
 *   - with the seed too, every signature row against the keys: C_ = k·B_ for its keyset and amount (a
 *     row whose amount was raised is named with the amount its C_ really signs);
 *   - the running totals (`mint_totals`, what the operator console reads) against the sums of the rows
 *     they stand for: value signed, spent and pending.
 * And per operation, the value it moved: NUT-03's `Σ inputs − fee = Σ outputs` is recomputed for each
 * swap from its rows (`valueOf`), and `signaturesToName` picks the rows an unbalanced operation's
 * excess can be.
 */

import type { Kysely } from 'kysely';
import { bytesToHex, hex } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { deriveKeyset } from '../core/crypto/keyset.js';
import { keysetIdV2 } from '../core/crypto/nut02.js';
import { isSealed } from '../core/secret-box.js';
import type { Store } from '../store/index.js';
import type { Database } from '../store/schema.js';
import * as repo from './repository.js';

/** The settings row of the mint's seed (`keysets.ts`). */
const SEED_SETTING = 'mint.seed';

/**
 * Signature rows read and verified at a time (~75 µs each): a server's on-demand audit (the gateway's
 * console) gives its event loop back between pages, so no page holds it more than a few tens of ms.
 */
const SIGNATURE_PAGE = 500;

/** Fees searched for the one a keyset's id commits to: NUT-02 fees are parts per thousand of a unit. */
const MAX_FEE_PPK_SEARCHED = 100_000;

export interface MintDifference {
  what: string;
  expected: number;
  actual: number;
  rows: string[];
}

/** What one operation moved at the mint. */
export interface OperationValue {
  signed: number;
  spent: number;
  pending: number;
  /** NUT-02: ceil(Σ input_fee_ppk of its inputs / 1000), from the keysets as they are now. */
  fee: number;
}

/** Value signed, spent, pending and the input fee, per operation. */
export async function valueByOperation(db: Kysely<Database>): Promise<Map<string, OperationValue>> {
  return new Map(
    (await repo.valueByOperation(db)).map((r) => [
      r.operation,
      { signed: r.signed, spent: r.spent, pending: r.pending, fee: Math.ceil(r.feePpk / 1000) },
    ]),
  );
}

/**
 * The rows an operation's `excess` of signed value can be: its signatures of exactly that amount, those
 * whose time differs from the operation's others first (a signature moved in, or inserted, later).
 */
export async function signaturesToName(
  db: Kysely<Database>,
  operation: string,
  excess: number,
): Promise<string[]> {
  if (excess <= 0) return [];
  const sigs = await repo.signaturesOf(db, operation);
  const times = new Map<number, number>();
  for (const s of sigs) times.set(Number(s.created_at), (times.get(Number(s.created_at)) ?? 0) + 1);
  const usual = [...times.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const fits = sigs.filter((s) => Number(s.amount) === excess);
  const odd = fits.filter((s) => Number(s.created_at) !== usual);
  return (odd.length > 0 ? odd : fits).map((s) => `mint_signatures:${s.b_}`);
}

export interface MintIntegrity {
  differences: MintDifference[];
  /** What could not be checked here, and why. */
  notChecked: string[];
}

/** The row-level checks of the module doc; `mayHoldPending` says which operations hold notes pending. */
export async function mintIntegrity(
  store: Store,
  o: { mayHoldPending: (operation: string) => boolean },
): Promise<MintIntegrity> {
  const db = store.db;
  const differences: MintDifference[] = [];
  const notChecked: string[] = [];

  for (const p of await repo.pendingProofs(db)) {
    if (o.mayHoldPending(p.operation)) continue;
    differences.push({
      what: `note held pending by ${p.operation}, which holds no notes pending (a spent note set back?)`,
      expected: 0,
      actual: Number(p.amount),
      rows: [`mint_proofs:${p.y}`, `mint_proofs:operation=${p.operation}`],
    });
  }

  const repeated = new Map<string, { b_: string; amount: number }[]>();
  for (const s of await repo.repeatedSignatures(db)) {
    const list = repeated.get(s.c_) ?? [];
    list.push({ b_: s.b_, amount: Number(s.amount) });
    repeated.set(s.c_, list);
  }
  for (const [c_, list] of repeated) {
    differences.push({
      what: `signature rows sharing one C_ (${c_}): a blinded message signs to one point, so all but one are copies worth ${list[0]!.amount} each`,
      expected: 1,
      actual: list.length,
      rows: list.map((s) => `mint_signatures:${s.b_}`),
    });
  }

  const keysets = await repo.listKeysets(db);
  const known = new Set(keysets.map((k) => k.id));
  const counts = await repo.countsByKeysetAmount(db);
  const signed = new Map(counts.signed.map((c) => [`${c.keyset}/${c.amount}`, c.count]));
  for (const h of counts.held) {
    const rows = [
      `mint_proofs:keyset=${h.keyset},amount=${h.amount}`,
      `mint_signatures:keyset=${h.keyset},amount=${h.amount}`,
    ];
    if (!known.has(h.keyset)) {
      differences.push({
        what: `notes of keyset ${h.keyset}, which the mint does not have`,
        expected: 0,
        actual: h.count * h.amount,
        rows: [`mint_proofs:keyset=${h.keyset},amount=${h.amount}`],
      });
      continue;
    }
    const n = signed.get(`${h.keyset}/${h.amount}`) ?? 0;
    if (h.count > n) {
      differences.push({
        what: `notes of ${h.amount} in keyset ${h.keyset} spent or pending against those ever signed (value: ${(h.count - n) * h.amount} more than signed)`,
        expected: n,
        actual: h.count,
        rows,
      });
    }
  }

  // The running totals (migration 019) the console reads against the rows they stand for.
  const t = await repo.totalsAgainstRows(db);
  for (const k of ['signed', 'spent', 'pending'] as const) {
    if (t.running[k] === t.rows[k]) continue;
    differences.push({
      what: `running total of value ${k} (mint_totals) against the sum of its rows: one of them was changed outside the mint`,
      expected: t.rows[k],
      actual: t.running[k],
      rows: ['mint_totals', k === 'signed' ? 'mint_signatures' : `mint_proofs:state=${k}`],
    });
  }
  const fees = await repo.feesAgainstRows(db);
  if (fees.running !== fees.rows) {
    differences.push({
      what: 'running total of input fees collected (mint_totals) against the fees of the spent notes: one of them was changed outside the mint',
      expected: fees.rows,
      actual: fees.running,
      rows: ['mint_totals', 'mint_proofs:state=spent', 'mint_keysets:input_fee_ppk'],
    });
  }

  const seed = await readSeed(store);
  if (typeof seed === 'string') {
    notChecked.push(seed);
  } else {
    const curve = defaultCurve();
    const keys = new Map<string, ReadonlyMap<number, Uint8Array>>();
    for (const k of keysets) {
      const derived = deriveKeyset(curve, {
        seed,
        derivationIndex: k.derivation_index,
        unit: k.unit,
        maxOrder: k.max_order,
        inputFeePpk: Number(k.input_fee_ppk),
      });
      keys.set(k.id, derived.privateKeys);
      if (derived.id === k.id) continue;
      let committed: number | undefined;
      for (let fee = 0; fee <= MAX_FEE_PPK_SEARCHED && committed === undefined; fee++) {
        if (keysetIdV2(derived.publicKeys, k.unit, fee) === k.id) committed = fee;
      }
      differences.push(
        committed !== undefined
          ? {
              what: `keyset ${k.id}: input_fee_ppk against the fee its NUT-02 id was created with`,
              expected: committed,
              actual: Number(k.input_fee_ppk),
              rows: [`mint_keysets:${k.id}`],
            }
          : {
              what: `keyset ${k.id}: its derivation index, unit or max order no longer derive its id (a changed or foreign row)`,
              expected: 0,
              actual: 1,
              rows: [`mint_keysets:${k.id}`],
            },
      );
    }
    differences.push(...(await verifySignatures(db, keys)));
  }
  return { differences, notChecked };
}

/** Every signature row against the private keys: C_ = k·B_ for its keyset and amount. */
async function verifySignatures(
  db: Kysely<Database>,
  keys: ReadonlyMap<string, ReadonlyMap<number, Uint8Array>>,
): Promise<MintDifference[]> {
  const curve = defaultCurve();
  const out: MintDifference[] = [];
  for (let after = ''; ; ) {
    const page = await repo.signaturesPage(db, after, SIGNATURE_PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1]!.b_;
    for (const s of page) {
      const amount = Number(s.amount);
      const ofKeyset = keys.get(s.keyset_id);
      const B_ = /^[0-9a-f]{66}$/.test(s.b_) ? hex(s.b_, 'B_', 33) : undefined;
      const signs = (k: Uint8Array | undefined) =>
        B_ !== undefined && k !== undefined && curve.isPoint(B_) && bytesToHex(curve.mul(B_, k)) === s.c_;
      if (signs(ofKeyset?.get(amount))) continue;
      // The amount its C_ really signs, if any: a raised amount shows what it was.
      const real = [...(ofKeyset?.entries() ?? [])].find(([, k]) => signs(k))?.[0];
      out.push({
        what: `signature row whose C_ is not the mint’s signature of its B_ for ${amount} in keyset ${s.keyset_id}${real === undefined ? '' : ` (it signs ${real})`}`,
        expected: real ?? 0,
        actual: amount,
        rows: [`mint_signatures:${s.b_}`],
      });
    }
    if (page.length < SIGNATURE_PAGE) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

/** The seed, read without writing anything; or why it cannot be read. */
async function readSeed(store: Store): Promise<Uint8Array | string> {
  const stored = await repo.getSetting(store.db, SEED_SETTING);
  if (stored === undefined) return 'the keysets against their ids: this database has no mint seed';
  if (!isSealed(stored)) return hex(stored, SEED_SETTING, 32);
  if (store.secrets === undefined)
    return 'the keysets against their ids (fees, keys): the seed is sealed; give the secrets key (LANCASH_SECRETS_KEY or --secrets-key-file) to check them';
  return hex(store.secrets.open(SEED_SETTING, stored), SEED_SETTING, 32);
}
