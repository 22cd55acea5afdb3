/**
 * The database's tables as Kysely sees them: one interface per table, the same on SQLite and
 * PostgreSQL. Portable types only (docs/design.md §7): amounts and times are BIGINT read back as JS `number`
 * (unix ms for times), booleans are INTEGER 0/1, keys and curve points are hex TEXT.
 * Migrations in `migrations/` create exactly these; a test checks the two agree.
 */
import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/** Process-wide settings, e.g. the mint's master seed (hex). */
export interface SettingsTable {
  key: string;
  value: string;
}

/** NUT-02 keysets: the private keys derive from the master seed at `derivation_index`. */
export interface MintKeysetsTable {
  id: string;
  unit: string;
  /** 1 = the mint signs with it, 0 = redeem only (NUT-02 `active`). */
  active: number;
  input_fee_ppk: number;
  derivation_index: number;
  /** Denominations are 2^0 … 2^(max_order-1). */
  max_order: number;
  created_at: number;
  /** Unix ms from which inputs of this keyset are refused (Cashu 12003); null: never (migration 011). */
  retires_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export type ProofState = 'pending' | 'spent';

/**
 * The spent AND pending set in one table: its primary key on `y` is what makes a double spend
 * impossible, across processes too (docs/design.md §6.3).
 */
export interface MintProofsTable {
  /** NUT-07: hex of Y = hash_to_curve(secret), the note's identity. */
  y: string;
  state: ProofState;
  amount: number;
  keyset_id: string;
  secret: string;
  c: string;
  witness: string | null;
  /** Id of the swap, melt or job that holds the note. */
  operation: string;
  created_at: number;
  updated_at: number;
}

/** Every blinded message ever signed: re-signing is refused, NUT-09 restore reads it back. */
export interface MintSignaturesTable {
  b_: string;
  amount: number;
  keyset_id: string;
  c_: string;
  /** NUT-12 DLEQ proof of the signature. */
  dleq_e: string;
  dleq_s: string;
  operation: string;
  created_at: number;
}

/**
 * Running totals of the mint's books in shards (migration 019): value signed, spent and pending is
 * the sum over the rows, kept in the transactions that write `mint_signatures` and `mint_proofs`.
 */
export interface MintTotalsTable {
  id: number;
  signed: number;
  spent: number;
  pending: number;
  /** Migration 020: NUT-02 input fees collected (operations whose inputs are all spent). */
  fees: number;
}

/** Mailbox (docs/design.md §3): one row per inbox, keyed by the recipient's X25519 key (hex); counts live messages. */
export interface MailboxInboxesTable {
  recipient: string;
  messages: number;
  bytes: number;
  /** The last message id given in this inbox; ids are never reused. */
  last_seq: number;
}

/** Mailbox messages: envelope JSON (ciphertext only); an acked row keeps its keys with `envelope` = ''. */
export interface MailboxMessagesTable {
  recipient: string;
  seq: number;
  sender: string;
  transfer_id: string;
  /** sha256 (hex) of the envelope's canonical text: deposits are deduped by content (migration 007). */
  digest: string;
  /** Who deposited it (client IP, or IPv6 /64); '' for the server's own deposits and older rows. */
  depositor: string;
  /** The `mailbox_totals` row (shard) this message is counted in. */
  shard: number;
  envelope: string;
  size: number;
  created_at: number;
  /** 0 while pending; the ack time (unix ms) for a tombstone. */
  acked_at: number;
}

/** Pending messages and bytes across every inbox, in shards (`id` 0–63) that add up: see mailbox/repository.ts. */
export interface MailboxTotalsTable {
  id: number;
  messages: number;
  bytes: number;
}

/** Pending messages and bytes per depositor (client IP or IPv6 /64); a row at zero may be deleted. */
export interface MailboxDepositorsTable {
  depositor: string;
  messages: number;
  bytes: number;
}

/** Used drain nonces (the drain envelope's transfer id), per owner key. */
export interface MailboxNoncesTable {
  owner: string;
  nonce: string;
  created_at: number;
}

/** Wide bank (docs/design.md §4): a holder's account, or a system account (`funding`, `notes_outstanding`). */
export interface BankAccountsTable {
  id: string;
  kind: 'holder' | 'system';
  /** The holder's X25519 public key, lowercase hex; NULL for system accounts. UNIQUE. */
  holder_key: string | null;
  /** Σ of the account's entries, kept in the same transaction; holders never below 0. */
  balance: number;
  created_at: number;
  /** The `seq` of the account's newest request-log line, 0 without one (migration 024). */
  log_seq: number;
}

/** Double entry: the entries of one `tx_id` sum to 0. */
export interface BankEntriesTable {
  id: string;
  tx_id: string;
  account_id: string;
  /** Signed minor units: + credits the account, − debits it. */
  amount: number;
  /** deposit | withdraw | issue | receive | minted | melted */
  kind: string;
  /** What the posting answers to: a request key, a quote id, an operator's reference. */
  ref: string;
  created_at: number;
  /**
   * Migration 013: the posting's link in the ledger's hash chain, and its hash (the same on every
   * entry of the posting); NULL on entries written before the chain. Absent on insert means NULL.
   */
  chain_seq?: number | null;
  chain_hash?: string | null;
}

/** Migration 013: the head of the ledger's hash chain (one row, `id` 1): the last link's number and hash. */
export interface BankChainTable {
  id: number;
  seq: number;
  hash: string;
}

/** Idempotency: the answer given to a request key, kept forever and replayed byte for byte. */
export interface BankRequestsTable {
  key: string;
  kind: string;
  account_id: string;
  /** SHA-256 hex of the request's canonical form: the same key with another request is refused. */
  request_hash: string;
  /** The exact answer sent (for issue and receive: the sealed envelope's JSON text). */
  response: string;
  created_at: number;
}

/**
 * Migration 009: the requests a holder made on its own account (issue, receive, claim, payout),
 * numbered per account in commit order (1, 2, … without gaps): what the gateway checks its journal
 * against (docs/wide-bank.md, "The request log").
 */
export interface BankRequestLogTable {
  account_id: string;
  seq: number;
  /** The request's key in `bank_requests`. */
  key: string;
  kind: 'issue' | 'receive' | 'claim' | 'payout';
  /** The holder's transfer id (issue, receive) or ref (claim, payout). */
  ref: string;
  amount: number;
  /** An envelope the holder sealed to itself (JSON), returned as it came; the bank cannot read it. */
  recovery: string | null;
  created_at: number;
}

/**
 * Migration 010: the gateway's reserve series for the operator console (docs/gateway.md, "Operator
 * API"): the reserve at the wide bank (NULL when the bank did not answer) against local money
 * outstanding, in minor units, at `at` (unix ms, the key).
 */
export interface GatewayReserveSeriesTable {
  at: number;
  reserve: number | null;
  outstanding: number;
}

/** NUT-04/05/23 `bolt11` quotes of the wide bank's mint; `kind` says which state machine `state` follows. */
export interface LightningQuotesTable {
  /** NUT-04: random and secret; whoever knows a paid mint quote's id can mint it. */
  id: string;
  kind: 'mint' | 'melt';
  unit: string;
  /** mint: UNPAID → PAID → ISSUED; melt: UNPAID → PENDING → PAID, or back to UNPAID when the payment fails. */
  state: 'UNPAID' | 'PAID' | 'ISSUED' | 'PENDING';
  amount: number;
  /** melt: the most Lightning fee the inputs must cover (NUT-05); 0 for mint quotes. */
  fee_reserve: number;
  /** The BOLT11 invoice: issued by the mint (mint quote) or to be paid (melt quote). */
  request: string;
  payment_hash: string;
  /** Unix ms after which an UNPAID quote can no longer be paid (mint) or melted (melt). */
  expires_at: number;
  /** melt: hex preimage once PAID. */
  preimage: string | null;
  /** melt: payment attempts so far; each has its own idempotency key at the backend. */
  attempt: number;
  /** melt: the Lightning fee actually paid. */
  fee_paid: number;
  /** melt: value of the inputs held pending (or spent) for this quote, and their NUT-02 input fee. */
  inputs_amount: number;
  input_fee: number;
  /** melt: JSON of the NUT-08 blank outputs, kept so a later settlement can still sign change. */
  outputs: string;
  /** melt: JSON of the NUT-08 change signatures given. */
  change: string;
  /** mint: the NUT-20 compressed public key (hex) whose signature alone mints the quote; NULL: unlocked. */
  pubkey: string | null;
  created_at: number;
  updated_at: number;
}

/** Gateway (docs/design.md §5): one conversion job, keyed by the transfer id of the envelope that started it. */
export interface GatewayJobsTable {
  id: string;
  direction: 'lan-to-wan' | 'wan-to-lan';
  /** issuing | receiving | delivering | done | refused (docs/gateway.md). */
  state: 'issuing' | 'receiving' | 'delivering' | 'done' | 'refused';
  /** 1 while the runner has work (a state that is not terminal, or a notice to deliver), else 0. */
  active: number;
  /** The sender's X25519 key (hex), proven by the envelope. */
  sender_key: string;
  /** SHA-256 hex of the request's canonical form: a re-sealed copy is the same transfer. */
  request_hash: string;
  /** The destination address, and its key (hex) for the per-terminal history. */
  destination: string;
  destination_key: string;
  reply_to: string | null;
  amount: number;
  /**
   * JSON: what every later step needs: its head (memo, fee, receipts) here, its bulk (outputs with their
   * secrets and r, notes, envelopes) on the events that wrote it since migration 029.
   */
  journal: string;
  /** The refusal notice to `reply_to`: none | pending | sent | abandoned. */
  notice: 'none' | 'pending' | 'sent' | 'abandoned';
  /** JSON `{code, detail}` once refused. */
  refusal: string | null;
  /** Tries of the current step; `next_attempt_at` (unix ms) is when the runner tries again. */
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  /**
   * Migration 006: which saga the row follows: `transfer` (jobs 1 and 2), `payroll`, `payout`. Absent
   * on insert means `transfer` (the column's default); always present when read.
   */
  kind?: 'transfer' | 'payroll' | 'payout';
  /** Payroll and payout: the operator's reference, unique per kind among jobs not refused; else NULL. */
  ref?: string | null;
  /**
   * Migration 008: when the job's delivery (payment or notice) was parked for the operator (unix ms),
   * else NULL. Absent on insert means NULL.
   */
  parked_at?: number | null;
  /**
   * Migration 012: the gateway process that holds the job's lease (it alone drives the job and commits
   * its steps), until `lease_until` (unix ms, the database's clock); NULL when nobody holds it. Absent
   * on insert means NULL. PostgreSQL only: a SQLite gateway (one process) leaves them NULL.
   */
  lease_owner?: string | null;
  lease_until?: number | null;
  /**
   * Migration 018: when the finished job's bulk (outputs, notes, sealed envelopes) was pruned from its
   * journal (unix ms), else NULL (docs/gateway.md, "Pruning finished jobs"). Absent on insert means NULL.
   */
  pruned_at?: number | null;
}

/** Every state change of a job, in order: the history. */
/** Jobs past their bank call (`delivering` or `done`), in shards (migration 019): summed on read. */
export interface GatewayJobTotalsTable {
  id: number;
  past_the_call: number;
  /** Migration 020: finished jobs per state and kind, and the oldest one's `created_at` (NULL: none). */
  done_transfer: number;
  done_payroll: number;
  done_payout: number;
  refused_transfer: number;
  refused_payroll: number;
  refused_payout: number;
  oldest_done_transfer: number | null;
  oldest_done_payroll: number | null;
  oldest_done_payout: number | null;
  oldest_refused_transfer: number | null;
  oldest_refused_payroll: number | null;
  oldest_refused_payout: number | null;
}

export interface GatewayJobEventsTable {
  job_id: string;
  seq: number;
  from_state: string;
  to_state: string;
  at: number;
  detail: string;
  /**
   * Migration 029: JSON, the journal's bulk this event's write brought (outputs, notes, sealed
   * envelopes: `gateway/jobs/model.ts` `BULK_PARTS`), else NULL; NULL too once the job is pruned.
   * Absent on insert means NULL.
   */
  bulk?: string | null;
}

export interface Database {
  settings: SettingsTable;
  mint_keysets: MintKeysetsTable;
  mint_proofs: MintProofsTable;
  mint_signatures: MintSignaturesTable;
  mint_totals: MintTotalsTable;
  lightning_quotes: LightningQuotesTable;
  bank_accounts: BankAccountsTable;
  bank_entries: BankEntriesTable;
  bank_chain: BankChainTable;
  bank_requests: BankRequestsTable;
  bank_request_log: BankRequestLogTable;
  mailbox_inboxes: MailboxInboxesTable;
  mailbox_messages: MailboxMessagesTable;
  mailbox_nonces: MailboxNoncesTable;
  mailbox_totals: MailboxTotalsTable;
  mailbox_depositors: MailboxDepositorsTable;
  gateway_jobs: GatewayJobsTable;
  gateway_job_events: GatewayJobEventsTable;
  gateway_job_totals: GatewayJobTotalsTable;
  gateway_reserve_series: GatewayReserveSeriesTable;
}

export type SettingRow = Selectable<SettingsTable>;
export type MintKeysetRow = Selectable<MintKeysetsTable>;
export type NewMintKeyset = Insertable<MintKeysetsTable>;
export type MintKeysetUpdate = Updateable<MintKeysetsTable>;
export type MintProofRow = Selectable<MintProofsTable>;
export type NewMintProof = Insertable<MintProofsTable>;
export type MintProofUpdate = Updateable<MintProofsTable>;
export type MintSignatureRow = Selectable<MintSignaturesTable>;
export type NewMintSignature = Insertable<MintSignaturesTable>;
