/**
 * Full books for `bench gateway --rows N`, written fast by bulk SQL (one INSERT … SELECT over a
 * generated series per table, never by converting): N spent notes and N signatures at the wide bank's
 * mint and at the gateway's local mint, and N finished conversions in the gateway's journal, each `done`
 * with its three events, 30 days old and pruned as the gateway's policy leaves it (`jobs/prune.ts`:
 * the bulk of a five-note conversion's journal gone, about 6 KB a row; unpruned, a million rows would
 * be about 6 GB).
 *
 * The rows carry amount 0, so every sum the mint audits take is unchanged; but they are not backed by
 * bank requests, so the gateway's audit and its check against the bank's request log would name them:
 * both are skipped in this mode (the scenario says so in its figures, and lengthens the gateway's
 * request-log check beyond the run).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { bytesToHex } from '../core/bytes.js';
import type { Envelope } from '../core/envelope/index.js';
import type { Journal } from '../gateway/jobs/model.js';
import { slimJournal } from '../gateway/jobs/prune.js';
import type { Store } from '../store/index.js';
import { sqlState } from '../store/retry.js';

export interface Books {
  rows: number;
  seconds: number;
  audits: string;
}

/** A finished conversion's journal as the runner leaves it: five notes' outputs, notes and the sealed payment. */
function sampleJournal(): Journal {
  const h = (n: number) => bytesToHex(randomBytes(n));
  const notes = [1, 2, 4, 8, 16];
  const proof = (a: number) => ({
    amount: a,
    id: `00${h(7)}`,
    secret: h(32),
    C: `02${h(32)}`,
    dleq: { e: h(32), s: h(32), r: h(32) },
  });
  return {
    outputs: notes.map((a) => ({ amount: a, id: `00${h(7)}`, B_: `02${h(32)}`, secret: h(32), r: h(32) })),
    inputYs: notes.map(() => `02${h(32)}`),
    wideProofs: notes.map(proof),
    delivery: {
      v: 1,
      type: 'lancash.payment',
      transferId: h(16),
      sender: h(32),
      enc: h(32),
      ct: h(1500),
    } as unknown as Envelope,
  };
}

/** Series 1..n as rows `i` (SQLite: a recursive CTE; PostgreSQL: generate_series). */
function series(store: Store, n: number) {
  return store.dialect === 'postgres'
    ? sql`SELECT i FROM generate_series(1, ${n}::bigint) AS s(i)`
    : sql`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n}) SELECT i FROM s`;
}

/** 66 hex characters from the row number `i` and a tag: unique per row, point-shaped. */
function hex66(store: Store, tag: string) {
  return store.dialect === 'postgres'
    ? sql`${tag} || lpad(to_hex(i), 62, '0')`
    : sql`${tag} || printf('%062x', i)`;
}

/** N spent notes and N signatures of amount 0 under `keysetId`, all of operation `books`. */
async function fillMint(store: Store, rows: number, keysetId: string, now: number): Promise<void> {
  await sql`INSERT INTO mint_proofs (y, state, amount, keyset_id, secret, c, witness, operation, created_at, updated_at)
    SELECT ${hex66(store, '02bb')}, 'spent', 0, ${keysetId}, 'books-' || i, ${hex66(store, '03bb')}, NULL, 'books', ${now}, ${now}
    FROM (${series(store, rows)}) AS n`.execute(store.db);
  await sql`INSERT INTO mint_signatures (b_, amount, keyset_id, c_, dleq_e, dleq_s, operation, created_at)
    SELECT ${hex66(store, '02bc')}, 0, ${keysetId}, ${hex66(store, '03bc')}, 'e', 's', 'books', ${now}
    FROM (${series(store, rows)}) AS n`.execute(store.db);
}

/** N finished conversions, half each way, of 1 to 10⁴ minor units, 30 days old and pruned, with their three events each. */
async function fillJournal(store: Store, rows: number, now: number): Promise<void> {
  const at = now - 30 * 86_400_000;
  const journal = JSON.stringify(slimJournal(sampleJournal()));
  const id = sql`'books' || i`;
  await sql`INSERT INTO gateway_jobs (id, direction, state, active, sender_key, request_hash, destination, destination_key,
      reply_to, amount, journal, notice, refusal, attempts, next_attempt_at, last_error, created_at, updated_at, pruned_at)
    SELECT ${id}, CASE WHEN i % 2 = 0 THEN 'lan-to-wan' ELSE 'wan-to-lan' END, 'done', 0, ${hex66(store, 'aa')},
      ${hex66(store, 'bb')}, 'books-destination-' || (i % 1000), ${hex66(store, 'cc')}, NULL, 1 + i % 10000, ${journal}, 'none', NULL, 0,
      ${at}, NULL, ${at}, ${at}, ${at + 7 * 86_400_000}
    FROM (${series(store, rows)}) AS n`.execute(store.db);
  const steps: [number, string, string][] = [
    [1, 'received', 'issuing'],
    [2, 'issuing', 'delivering'],
    [3, 'delivering', 'done'],
  ];
  for (const [seq, from, to] of steps) {
    await sql`INSERT INTO gateway_job_events (job_id, seq, from_state, to_state, at, detail)
      SELECT ${id}, ${seq}, ${from}, ${to}, ${at}, '' FROM (${series(store, rows)}) AS n`.execute(store.db);
  }
}

/** The wide bank's share of the books: N spent notes and signatures at its mint (`keysetId` its active keyset). */
export async function fillBankBooks(
  store: Store,
  rows: number,
  keysetId: string,
  now: number,
): Promise<void> {
  await fillMint(store, rows, keysetId, now);
  await settle(store);
}

/**
 * PostgreSQL after a fill: the filled tables vacuumed and analysed, and their pages checkpointed, as a
 * server in service did long ago for its old rows. Left to the server, both ran through the timed
 * window: the first autovacuum of each filled table (its insert threshold) and the checkpoint of the
 * fill's pages (docs/performance.md, round fourteen: the checkpointer writing the whole window on both
 * servers, an autovacuum worker half of it, half-load p99 402 / 335 ms). A role that may not
 * checkpoint leaves it to the server.
 */
export async function settle(store: Store): Promise<void> {
  if (store.dialect !== 'postgres') return;
  await sql`VACUUM (ANALYZE)`.execute(store.db);
  await sql`CHECKPOINT`.execute(store.db).catch((e: unknown) => {
    // 42501 insufficient_privilege: CHECKPOINT needs a superuser or pg_checkpoint; any other error is real.
    if (sqlState(e) !== '42501') throw e;
  });
}

/**
 * Fills both mints and the journal; `bank` fills the wide bank's mint (`fillBankBooks`, here or in the
 * bank's own process), `keyset` is the gateway's active keyset id.
 */
export async function fillBooks(o: {
  bank: (rows: number, now: number) => Promise<void>;
  gateway: Store;
  keyset: string;
  rows: number;
}): Promise<Books> {
  const from = performance.now();
  const now = Date.now();
  await o.bank(o.rows, now);
  await fillMint(o.gateway, o.rows, o.keyset, now);
  await fillJournal(o.gateway, o.rows, now);
  await settle(o.gateway);
  return {
    rows: o.rows,
    seconds: Math.round((performance.now() - from) / 100) / 10,
    audits: 'skipped: the rows are not backed by bank requests (gateway audit and request-log check)',
  };
}
