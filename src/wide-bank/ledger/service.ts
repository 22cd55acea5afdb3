/**
 * The wide bank's accounts as a double-entry ledger (docs/design.md §4, §6 invariant 1). Every posting is one
 * balanced set of entries (Σ = 0) written inside the caller's transaction, together with the effect it
 * accounts for (notes signed, notes spent). Two system accounts close the books:
 *   - `funding`: money from and to the outside (operator deposits and withdrawals, Lightning mint and
 *     melt); its balance is minus everything that came in net;
 *   - `notes_outstanding`: the value of wide notes in circulation.
 * So `funding + Σ holders + notes_outstanding = 0` always. A holder's balance never goes below 0: the
 * debit is a conditional UPDATE, and a CHECK constraint stands behind it.
 *
 * Also the idempotency rule shared by every value-moving request: an answer is stored under its
 * request key in the same transaction as the effect, and a repeat gets that answer back.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Kysely } from 'kysely';
import { Batcher, type Outcome } from '../../core/batcher.js';
import { bytesToHex, hex, utf8 } from '../../core/bytes.js';
import { fail, isLancashError } from '../../core/errors.js';
import { type Amount, toAmount } from '../../core/money.js';
import type { MintWrite } from '../../mint/mint.js';
import type { Store } from '../../store/index.js';
import type { Database } from '../../store/schema.js';
import { moveAndAppend, type NewLogRow } from '../request-log/repository.js';
import { linkHash, linkRows } from './chain.js';
import * as repo from './repository.js';

export type Trx = Kysely<Database>;

export const FUNDING = 'funding';
export const NOTES_OUTSTANDING = 'notes_outstanding';

export type EntryKind = 'deposit' | 'withdraw' | 'issue' | 'receive' | 'minted' | 'melted' | 'fee';

export interface Account {
  id: string;
  kind: 'holder' | 'system';
  /** The holder's X25519 public key (hex); null for system accounts. */
  holderKey: string | null;
  balance: number;
  createdAt: number;
}

/** What a deposit or a withdrawal answers, and answers again for the same `ref`. */
export interface Posting {
  tx: string;
  kind: 'deposit' | 'withdraw';
  account: string;
  amount: number;
  ref: string;
}

/** A request that must take effect at most once. */
export interface RequestKey {
  /** Unique per request, e.g. `issue:<holder key>:<transfer id>`. */
  key: string;
  kind: string;
  account: string;
  /** `requestHash(...)` of the request's canonical form. */
  requestHash: string;
}

/** How `Ledger.settle` finds a repeat of a request already answered. */
export interface SettleOptions {
  /**
   * `run` refuses a repeat by a read of its own before any crypto or write (an issue's outputs are all
   * signed once it committed: `Mint.prepareOutputs`' early look), so the stored answer is read only
   * after a refusal, not before every request: one statement a request fewer.
   */
  repeatRefusedEarly?: boolean;
}

/** What a posting writes with its holder's leg (see `postAll`). */
export interface PostOptions {
  /**
   * The request's line in its account's request log, written with that account's balance update
   * (numbered by the row's counter, one statement on PostgreSQL) and before the shared rows (system
   * accounts, chain head) are taken, so it does not lengthen the hold of the rows every posting waits for.
   */
  log?: NewLogRow;
}

interface Leg {
  account: string;
  /** Signed: + credit, − debit. */
  amount: number;
  /** A debit that must be covered by the balance (holder accounts). */
  covered: boolean;
}

/** SHA-256 hex of a canonical JSON value (arrays in a fixed order, so equal requests hash equal). */
export function requestHash(canonical: unknown): string {
  return bytesToHex(sha256(utf8(JSON.stringify(canonical))));
}

/** One balanced posting: its own transaction id and link in the chain. */
export interface Draft {
  kind: EntryKind;
  ref: string;
  legs: readonly Leg[];
  tx: string;
}

/** Requests a statement at most (`Ledger.requests`): far below the 64 subtransactions a backend caches. */
const MAX_BATCH = 32;

/** Holder keys whose account ids are remembered (an id never changes: the map only saves a lookup). */
const MAX_CACHED_IDS = 10_000;

export class Ledger {
  /** Account id by holder key: the binding is written once (`openAccount`) and never changes. */
  private readonly idsByHolder = new Map<string, string>();

  /**
   * PostgreSQL: the issues and receives queued while the previous batches' statements run, written by
   * the next one (`onceWith`); at most `MAX_BATCH` a statement bounds how long it holds the shared rows.
   */
  private readonly requests: Batcher<repo.RequestInOne, repo.RequestOutcome>;

  constructor(
    readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {
    this.requests = new Batcher(
      (rs) => writeRequests(store.db, rs),
      // Two in flight: the next batch waits in the server for the running one's holder rows and starts
      // the moment it commits, not after a turn of this event loop (busy in the bench for ms).
      { maxGroup: MAX_BATCH, concurrency: 2 },
    );
  }

  /** Opens the account of a holder key, or returns the one already open for it (several processes may race). */
  async openAccount(holderKey: string | Uint8Array): Promise<Account & { created: boolean }> {
    const key = typeof holderKey === 'string' ? holderKey.toLowerCase() : bytesToHex(holderKey);
    hex(key, 'holderKey', 32);
    const created = await repo.insertAccountIfAbsent(this.store.db, {
      id: `acct_${randomBytes(8).toString('hex')}`,
      kind: 'holder',
      holder_key: key,
      balance: 0,
      created_at: this.clock(),
      log_seq: 0,
    });
    return { ...(await this.accountOfHolder(key)), created };
  }

  /** An account by its id or by its holder's key (hex); `AccountUnknown` otherwise. */
  async account(idOrHolderKey: string): Promise<Account> {
    const row =
      (await repo.accountById(this.store.db, idOrHolderKey)) ??
      (await repo.accountByHolderKey(this.store.db, idOrHolderKey.toLowerCase()));
    return row ? toAccount(row) : unknown(idOrHolderKey);
  }

  /** The account opened for a holder key (hex); `AccountUnknown` otherwise. */
  async accountOfHolder(holderKey: string): Promise<Account> {
    const row = await repo.accountByHolderKey(this.store.db, holderKey.toLowerCase());
    return row ? toAccount(row) : unknown(holderKey);
  }

  /** The id of the account opened for a holder key (hex), looked up once per process; `AccountUnknown` otherwise. */
  async accountIdOfHolder(holderKey: string): Promise<string> {
    const key = holderKey.toLowerCase();
    const cached = this.idsByHolder.get(key);
    if (cached !== undefined) return cached;
    const { id } = await this.accountOfHolder(key);
    if (this.idsByHolder.size >= MAX_CACHED_IDS) this.idsByHolder.clear();
    this.idsByHolder.set(key, id);
    return id;
  }

  async accounts(): Promise<Account[]> {
    return (await repo.listAccounts(this.store.db)).map(toAccount);
  }

  async balance(account: string): Promise<Amount> {
    return (await this.account(account)).balance as Amount;
  }

  /** Operator: money arrived from outside for a holder (funding → holder). The same `ref` posts once. */
  deposit(account: string, amount: number, ref: string): Promise<Posting> {
    return this.operatorPosting('deposit', account, amount, ref);
  }

  /** Operator: money paid out to a holder (holder → funding); refused when the balance is short. */
  withdraw(account: string, amount: number, ref: string): Promise<Posting> {
    return this.operatorPosting('withdraw', account, amount, ref);
  }

  /** Notes issued against a holder's account (holder → notes_outstanding). */
  async postIssue(
    trx: Trx,
    account: string,
    amount: number,
    ref: string,
    o: PostOptions = {},
  ): Promise<string> {
    const p = issuePostings(account, amount, ref, o);
    await this.postAll(trx, p.drafts, o);
    return p.drafts[0]!.tx;
  }

  /**
   * Notes received into a holder's account (notes_outstanding → holder), and their NUT-02 input fee
   * when `fee` > 0 as a second posting like `postFee` (notes_outstanding → funding). Both in one call,
   * so their rows are locked in the one global order (see `postAll`).
   */
  async postReceive(
    trx: Trx,
    account: string,
    amount: number,
    ref: string,
    o: PostOptions & { fee?: number } = {},
  ): Promise<string> {
    const p = receivePostings(account, amount, ref, o);
    await this.postAll(trx, p.drafts, o);
    return p.drafts[0]!.tx;
  }

  /** A holder's own withdrawal to the outside, e.g. the gateway's payout (holder → funding, must be covered). */
  postWithdraw(trx: Trx, account: string, amount: number, ref: string): Promise<string> {
    const a = toAmount(amount);
    return this.post(trx, 'withdraw', ref, [
      { account, amount: -a, covered: true },
      { account: FUNDING, amount: a, covered: false },
    ]);
  }

  /** Notes minted against a paid Lightning invoice, NUT-04 (funding → notes_outstanding). */
  postMinted(trx: Trx, amount: number, ref: string): Promise<string> {
    const a = toAmount(amount);
    return this.post(trx, 'minted', ref, [
      { account: FUNDING, amount: -a, covered: false },
      { account: NOTES_OUTSTANDING, amount: a, covered: false },
    ]);
  }

  /** Notes melted to pay a Lightning invoice, NUT-05 (notes_outstanding → funding). */
  postMelted(trx: Trx, amount: number, ref: string): Promise<string> {
    const a = toAmount(amount);
    return this.post(trx, 'melted', ref, [
      { account: NOTES_OUTSTANDING, amount: -a, covered: false },
      { account: FUNDING, amount: a, covered: false },
    ]);
  }

  /**
   * NUT-02 input fee the mint kept on a swap or a receive (notes_outstanding → funding): value that
   * leaves circulation as the bank's income, booked like a melt's `kept` (docs/wide-bank.md, "Fees").
   */
  postFee(trx: Trx, amount: number, ref: string): Promise<string> {
    return this.post(trx, 'fee', ref, feeLegs(toAmount(amount)));
  }

  /**
   * The answer stored for `r.key`, if any. The same key with a different request is refused with
   * `IdempotencyConflict`: a key names one request, forever.
   */
  async answered(r: RequestKey, db: Trx = this.store.db): Promise<string | undefined> {
    const row = await repo.getRequest(db, r.key);
    if (row === undefined) return undefined;
    if (row.request_hash !== r.requestHash || row.kind !== r.kind || row.account_id !== r.account) {
      fail('IdempotencyConflict', { key: r.key }, `request key ${r.key} was used with a different request`);
    }
    return row.response;
  }

  /**
   * Runs `apply` and stores `answer` under `r.key` in ONE transaction, then returns the answer. The
   * key's row is written first, so of concurrent duplicates (any process) one proceeds and the others
   * wait on its primary key and then get its stored answer, having changed nothing.
   */
  async once(r: RequestKey, answer: string, apply: (trx: Trx) => Promise<void>): Promise<string> {
    const stored = await this.store.transaction(async (trx) => {
      const fresh = await repo.insertRequestIfAbsent(trx, {
        key: r.key,
        kind: r.kind,
        account_id: r.account,
        request_hash: r.requestHash,
        response: answer,
        created_at: this.clock(),
      });
      if (!fresh) return { replay: true as const };
      await apply(trx);
      return { replay: false as const };
    });
    if (!stored.replay) return answer;
    const winner = await this.answered(r);
    if (winner === undefined) fail('Internal', { reason: `request ${r.key} vanished` });
    return winner;
  }

  /**
   * `once` for a request whose effect is the mint's rows (`mint`) and the ledger's `postings` (the
   * issue and the receive): on SQLite in one transaction as `once` runs it (mint rows, then postings).
   * On PostgreSQL in ONE statement outside any transaction block, together with the requests queued
   * while the previous such statement ran (migration 033, `requestsInOne`), each in its own
   * subtransaction: one commit, one flush of the log for the batch, where each request had waited for
   * the previous one's flush (every request holds `notes_outstanding` and the chain head to its
   * commit). The rows every such request shares are taken in the ledger's lock order (holders, a
   * `mint_totals` shard, the system accounts, the chain head; docs/wide-bank.md "Lock order") and
   * held for that statement and its commit only, never across a round trip to this process (whose
   * event loop may be busy for milliseconds). A request's refusal rolls back its own rows only and
   * throws the same errors as the transaction's statements: the mint's (`mint.refused`),
   * `InsufficientBalance`, `AccountUnknown`. A batch's statement that fails as a whole runs each of its
   * requests again alone (`writeRequests`); a request whose own statement fails too (a lost
   * connection, even at its commit) fails, its outcome unclear: the caller's retry under the same key
   * answers it (written once, or refused once).
   */
  async onceWith(r: RequestKey, answer: string, mint: MintWrite, postings: Postings): Promise<string> {
    const o: PostOptions = postings.log === undefined ? {} : { log: postings.log };
    if (this.store.dialect !== 'postgres') {
      return this.once(r, answer, async (trx) => {
        await mint.commit(trx);
        await this.postAll(trx, postings.drafts, o);
      });
    }
    balanced(postings.drafts);
    const now = this.clock();
    const moves = planMoves(postings.drafts, postings.log).map(
      (m): repo.Move => [m.leg.account, m.leg.amount, m.covered, m.logged],
    );
    const shared = moves.findIndex(([account]) => lockOrder(account) === 1);
    const log = postings.log;
    let outcome: repo.RequestOutcome;
    try {
      outcome = await this.requests.run({
        key: r.key,
        kind: r.kind,
        account: r.account,
        hash: r.requestHash,
        response: answer,
        at: now,
        mint: mint.rows,
        moves,
        holders: shared < 0 ? moves.length : shared,
        ...(log === undefined
          ? {}
          : {
              log: {
                key: log.key,
                kind: log.kind,
                ref: log.ref,
                amount: log.amount,
                recovery: log.recovery,
                createdAt: log.created_at,
              },
            }),
        links: postings.drafts.map((d) => JSON.stringify(linkRows(entriesOf(d, now)))),
      });
    } catch (e) {
      const refusal = repo.refusalInOne(e);
      if (refusal === undefined) throw e;
      outcome = { refused: refusal };
    }
    if ('refused' in outcome) {
      const refusal = outcome.refused;
      switch (refusal.code) {
        case 'mint':
          return mint.refused(refusal.retired === undefined ? {} : { retired: refusal.retired });
        case 'covered':
          return fail(
            'InsufficientBalance',
            { account: refusal.account, requested: debitOf(postings.drafts, refusal.account) },
            `account ${refusal.account} does not cover ${debitOf(postings.drafts, refusal.account)}`,
          );
        case 'unknown':
          return unknown(refusal.account);
        case 'noChain':
          return noChain();
      }
    }
    if (outcome.written) {
      mint.committed();
      return answer;
    }
    const winner = await this.answered(r);
    if (winner === undefined) fail('Internal', { reason: `request ${r.key} vanished` });
    return winner;
  }

  /**
   * Runs a request that may race with a duplicate of itself: a refusal it meets (the duplicate spent
   * the balance, signed the outputs, spent the notes) gives way to the duplicate's stored answer.
   */
  async settle(r: RequestKey, run: () => Promise<string>, o: SettleOptions = {}): Promise<string> {
    // A repeat is answered from the stored row before any work: without this read it would be refused
    // only by its effect, after `run`'s crypto (a receive verifies every note first), so a replayed
    // envelope would cost the bank a whole request's curve work each time. Unless `run` itself refuses
    // a repeat before its crypto (`repeatRefusedEarly`): the catch below then answers it.
    if (o.repeatRefusedEarly !== true) {
      const stored = await this.answered(r);
      if (stored !== undefined) return stored;
    }
    try {
      return await run();
    } catch (e) {
      let winner: string | undefined;
      try {
        winner = await this.answered(r);
      } catch (conflict) {
        // A different request under the same key won the race: that is the answer to give.
        if (isLancashError(conflict, 'IdempotencyConflict')) throw conflict;
      }
      if (winner !== undefined) return winner;
      throw e;
    }
  }

  private async operatorPosting(
    kind: 'deposit' | 'withdraw',
    accountRef: string,
    amount: number,
    ref: string,
  ): Promise<Posting> {
    const a = toAmount(amount);
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 128) {
      fail(
        'InvalidInput',
        { argument: 'ref', expected: '1 to 128 characters', received: String(ref) },
        'ref must be 1 to 128 characters',
      );
    }
    const account = await this.account(accountRef);
    if (account.kind !== 'holder') unknown(accountRef);
    const r: RequestKey = {
      key: `${kind}:${ref}`,
      kind,
      account: account.id,
      requestHash: requestHash([kind, account.id, a]),
    };
    const posting: Posting = { tx: randomUUID(), kind, account: account.id, amount: a, ref };
    const legs: Leg[] =
      kind === 'deposit'
        ? [
            { account: FUNDING, amount: -a, covered: false },
            { account: account.id, amount: a, covered: false },
          ]
        : [
            { account: account.id, amount: -a, covered: true },
            { account: FUNDING, amount: a, covered: false },
          ];
    const answer = await this.settle(r, () =>
      this.once(r, JSON.stringify(posting), async (trx) => {
        await this.post(trx, kind, ref, legs, {}, posting.tx);
      }),
    );
    return JSON.parse(answer) as Posting;
  }

  /** Writes one balanced posting (see `postAll`); returns its transaction id. */
  private async post(
    trx: Trx,
    kind: EntryKind,
    ref: string,
    legs: readonly Leg[],
    o: PostOptions = {},
    tx: string = randomUUID(),
  ): Promise<string> {
    await this.postAll(trx, [{ kind, ref, legs, tx }], o);
    return tx;
  }

  /**
   * Writes balanced postings, each one link of the hash chain (migration 013). Rows are locked in one
   * global order, holders first (by id), then the system accounts (by id), then the chain head: the
   * rows every posting shares are taken last and held only until the commit, and no two transactions
   * wait on each other in a cycle (a transaction posts once, or all its postings in one call).
   */
  private async postAll(trx: Trx, drafts: readonly Draft[], o: PostOptions): Promise<void> {
    balanced(drafts);
    const moves = planMoves(drafts, o.log);
    // PostgreSQL, one posting whose only shared account comes last (deposit, withdraw, and the
    // issue and receive inside a transaction): that account's move rides in the link's statement, in
    // the same lock order.
    const last = moves.at(-1);
    const withLink =
      this.store.dialect === 'postgres' &&
      drafts.length === 1 &&
      last !== undefined &&
      !last.covered &&
      !last.logged &&
      moves.filter((m) => lockOrder(m.leg.account) === 1).length === 1 &&
      lockOrder(last.leg.account) === 1
        ? last.leg
        : undefined;
    for (const m of withLink === undefined ? moves : moves.slice(0, -1)) {
      const { leg: l, covered } = m;
      if (m.logged && o.log !== undefined) {
        if (!(await moveAndAppend(trx, this.store.dialect, o.log, l.amount, covered))) {
          await refuseLeg(trx, l, covered);
        }
      } else if (covered) {
        if (!(await repo.debitIfCovered(trx, l.account, -l.amount))) await refuseLeg(trx, l, covered);
      } else if (!(await repo.adjustBalance(trx, l.account, l.amount))) {
        unknown(l.account);
      }
    }
    const now = this.clock();
    for (const d of drafts) await this.appendLink(trx, entriesOf(d, now), withLink);
  }

  /**
   * The entries as the chain's next link, numbered and hashed under the head's row lock; on
   * PostgreSQL with `move`, a system account's leg, first, in the same statement.
   */
  private async appendLink(trx: Trx, entries: readonly repo.EntryRow[], move?: Leg): Promise<void> {
    if (this.store.dialect === 'postgres') {
      // One round trip under the head's lock: the server hashes the link (`linkHash`'s text).
      const rows = JSON.stringify(linkRows(entries));
      const n =
        move === undefined
          ? await repo.appendLinkInServer(trx, rows)
          : await repo.moveAndAppendLinkInServer(trx, move.account, move.amount, rows);
      if (n === entries.length) return;
      if (move !== undefined && (await repo.accountById(trx, move.account)) === undefined)
        unknown(move.account);
      noChain();
    }
    const link = (await repo.advanceChain(trx)) ?? noChain();
    const hash = linkHash(link.prev, link.seq, entries);
    await repo.insertEntries(
      trx,
      entries.map((e) => ({ ...e, chain_seq: link.seq, chain_hash: hash })),
    );
    await repo.setChainHead(trx, hash);
  }
}

/**
 * A batch of `onceWith`'s requests in one statement (`requestsInOne`). When the statement fails as a
 * whole with an error that is not a refusal (a value of one request the server cannot take, a lost
 * connection), the error belongs to no request in particular: each runs again alone, so it reaches
 * only the request that causes it (one client's bytes cannot fail its neighbours), and a request the
 * failed call did write (the connection lost at its commit) is answered as a replay. A refusal of the
 * whole statement (no system account, no chain head) is every request's answer.
 */
async function writeRequests(
  db: Trx,
  rs: readonly repo.RequestInOne[],
): Promise<Outcome<repo.RequestOutcome>[]> {
  try {
    return (await repo.requestsInOne(db, rs)).map((value) => ({ ok: true, value }));
  } catch (e) {
    if (rs.length === 1 || repo.refusalInOne(e) !== undefined) throw e;
  }
  const out: Outcome<repo.RequestOutcome>[] = [];
  for (const r of rs) {
    try {
      out.push({ ok: true, value: (await repo.requestsInOne(db, [r]))[0]! });
    } catch (error) {
      out.push({ ok: false, error });
    }
  }
  return out;
}

/** A request's postings, not written yet (`onceWith`), with the request's log line if any. */
export interface Postings {
  readonly drafts: readonly Draft[];
  readonly log?: NewLogRow;
}

/** The issue's posting (holder → notes_outstanding, covered). */
export function issuePostings(account: string, amount: number, ref: string, o: PostOptions = {}): Postings {
  const a = toAmount(amount);
  const drafts = [
    draft('issue', ref, [
      { account, amount: -a, covered: true },
      { account: NOTES_OUTSTANDING, amount: a, covered: false },
    ]),
  ];
  return o.log === undefined ? { drafts } : { drafts, log: o.log };
}

/** The receive's posting (notes_outstanding → holder) and its fee's (`postReceive`). */
export function receivePostings(
  account: string,
  amount: number,
  ref: string,
  o: PostOptions & { fee?: number } = {},
): Postings {
  const a = toAmount(amount);
  const drafts = [
    draft('receive', ref, [
      { account: NOTES_OUTSTANDING, amount: -a, covered: false },
      { account, amount: a, covered: false },
    ]),
  ];
  if (o.fee !== undefined && o.fee > 0) drafts.push(draft('fee', ref, feeLegs(toAmount(o.fee))));
  return o.log === undefined ? { drafts } : { drafts, log: o.log };
}

/** One balance update of `postAll`: a leg, or the log line's own move of 0 (`logged`, no leg of its account). */
interface Move {
  leg: Leg;
  /** A debit the balance must cover. */
  covered: boolean;
  /** The move that also numbers and writes the request's log line. */
  logged: boolean;
}

/**
 * The balance updates of postings, in the one global lock order: holders first (by id), then the
 * system accounts (by id; the chain head comes after all of them). The log line goes with its
 * account's own leg, or alone (a move of 0) before the first shared row, so it does not lengthen the
 * hold of the rows every posting waits for.
 */
function planMoves(drafts: readonly Draft[], log: NewLogRow | undefined): Move[] {
  const ordered = drafts
    .flatMap((d) => d.legs)
    .sort((x, y) => lockOrder(x.account) - lockOrder(y.account) || cmp(x.account, y.account));
  const moves: Move[] = [];
  let pending = log;
  const alone = (l: NewLogRow): Move => ({
    leg: { account: l.account_id, amount: 0, covered: false },
    covered: false,
    logged: true,
  });
  for (const leg of ordered) {
    if (pending !== undefined && lockOrder(leg.account) === 1) {
      moves.push(alone(pending));
      pending = undefined;
    }
    const logged = pending !== undefined && leg.account === pending.account_id;
    if (logged) pending = undefined;
    moves.push({ leg, covered: leg.covered && leg.amount < 0, logged });
  }
  if (pending !== undefined) moves.push(alone(pending));
  return moves;
}

function balanced(drafts: readonly Draft[]): void {
  for (const d of drafts) {
    if (d.legs.reduce((s, l) => s + l.amount, 0) !== 0) {
      fail('Internal', { reason: `posting ${d.kind} ${d.ref} does not balance` });
    }
  }
}

/** A posting's entries, as its link's rows. */
function entriesOf(d: Draft, now: number): repo.EntryRow[] {
  return d.legs.map((l) => ({
    id: randomUUID(),
    tx_id: d.tx,
    account_id: l.account,
    amount: l.amount,
    kind: d.kind,
    ref: d.ref,
    created_at: now,
  }));
}

/** What postings debit from `account` (the amount an `InsufficientBalance` names). */
function debitOf(drafts: readonly Draft[], account: string): number {
  return -drafts.flatMap((d) => d.legs).reduce((s, l) => (l.account === account ? s + l.amount : s), 0);
}

function draft(kind: EntryKind, ref: string, legs: readonly Leg[]): Draft {
  return { kind, ref, legs, tx: randomUUID() };
}

/** A NUT-02 input fee kept by the bank: notes_outstanding → funding. */
function feeLegs(a: Amount): Leg[] {
  return [
    { account: NOTES_OUTSTANDING, amount: -a, covered: false },
    { account: FUNDING, amount: a, covered: false },
  ];
}

/** Why a leg's balance update changed no row: a missing account, or a debit its balance does not cover. */
async function refuseLeg(trx: Trx, l: Leg, covered: boolean): Promise<never> {
  if (!covered || (await repo.accountById(trx, l.account)) === undefined) unknown(l.account);
  return fail(
    'InsufficientBalance',
    { account: l.account, requested: -l.amount },
    `account ${l.account} does not cover ${-l.amount}`,
  );
}

function noChain(): never {
  return fail('Internal', { reason: 'the ledger has no hash chain head (migration 013)' });
}

function lockOrder(account: string): number {
  return account === FUNDING || account === NOTES_OUTSTANDING ? 1 : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toAccount(r: repo.AccountRow): Account {
  return { id: r.id, kind: r.kind, holderKey: r.holder_key, balance: r.balance, createdAt: r.created_at };
}

function unknown(account: string): never {
  return fail('AccountUnknown', { account }, `no account ${account}`);
}
