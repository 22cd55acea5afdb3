/**
 * The one registry of lancash errors. Every refusal the system can give has a stable numeric code,
 * an HTTP status and a typed detail. Codes 1xxxx–3xxxx are the Cashu spec's (`error_codes.md`), so
 * Cashu wallets understand them; 7xxxx are lancash's own. The wire form is
 * `{ code, detail, error, info }` where `detail` is the human sentence Cashu wallets display.
 *
 * Never renumber a code: tests, wallets and operators match on the number.
 */

/** The typed detail each error carries, by error name. */
export interface ErrorDetails {
  // --- Cashu spec codes (error_codes.md) ---
  ProofVerificationFailed: { index?: number; reason: string };
  ProofsAlreadySpent: { Ys: string[] };
  ProofsPending: { Ys: string[] };
  OutputsAlreadySigned: { B_: string[] };
  OutputsPending: { B_: string[] };
  TransactionUnbalanced: { inputs: number; outputs: number; fees: number };
  AmountOutsideLimit: { amount: number | string; min: number; max: number };
  DuplicateInputs: { index: number };
  DuplicateOutputs: { index: number; B_: string };
  MultipleUnits: { units: string[] };
  UnitMismatch: { inputUnit: string; outputUnit: string };
  AmountlessInvoiceNotSupported: { request: string };
  UnitNotSupported: { unit: string };
  MaxInputsExceeded: { count: number; max: number };
  MaxOutputsExceeded: { count: number; max: number };
  KeysetUnknown: { id: string };
  KeysetInactive: { id: string };
  /** `retiredAt`: unix ms when its grace period ended. */
  KeysetExpired: { id: string; retiredAt: number };
  QuoteNotPaid: { quote: string };
  QuoteAlreadyIssued: { quote: string };
  LightningPaymentFailed: { quote: string; reason: string };
  QuotePending: { quote: string };
  InvoiceAlreadyPaid: { quote: string };
  QuoteExpired: { quote: string };
  /** NUT-20: the quote carries a pubkey and the request's signature is missing or does not verify. */
  MintQuoteSignatureInvalid: { quote: string; reason: string };
  /** NUT-20: a pubkey is required (or the one given is not a compressed secp256k1 point). */
  MintQuotePubkeyRequired: { reason: string };
  // --- lancash: malformed input (70xxx) ---
  InvalidInput: { argument: string; expected: string; received: string };
  InvalidAmount: { argument: string; expected: string; received: string };
  InvalidHex: { argument: string; expected: string; received: string };
  InvalidPoint: { argument: string; reason: string };
  InvalidScalar: { argument: string; reason: string };
  InvalidDenomination: { amount: number; keyset: string };
  EmptyRequest: { argument: string };
  InvalidToken: { reason: string };
  InvalidKeyset: { reason: string };
  DleqInvalid: { index?: number; reason: string };
  CborInvalid: { offset: number; reason: string };
  InvalidString: { argument: string; reason: string };
  /** NUT-10/11/14: a well-known secret lancash cannot enforce as written (the note is unspendable). */
  ConditionMalformed: { argument: string; reason: string };
  WitnessMalformed: { argument: string; reason: string };
  /** Worst-case Schnorr verifications a request's witnesses could cost, over the bound. */
  SignatureChecksExceeded: { checks: number; max: number };
  /** NUT-11: SIG_ALL inputs are spent only by a swap or melt, whose outputs the signatures cover. */
  SigAllNotAllowed: { reason: string };
  // --- lancash: envelopes and addresses (71xxx) ---
  EnvelopeMalformed: { reason: string };
  EnvelopeOpenFailed: { reason: string };
  EnvelopeWrongRecipient: { expected: string; received: string };
  EnvelopeReplayed: { transferId: string };
  AddressInvalid: { address: string; reason: string };
  MailboxFull: { limit: 'messages' | 'bytes'; max: number };
  MailboxQuotaExceeded: { limit: 'messages' | 'bytes'; max: number };
  /** `scope`: the depositor's share across every inbox, or of this one inbox. */
  MailboxDepositorLimit: { limit: 'messages' | 'bytes'; max: number; scope: 'mailbox' | 'inbox' };
  InboxNotAllowed: { address: string; inbox: string };
  InboxWatchRefused: { reason: string };
  /** Writes from the network (strangers' deposits, drains, watches) at their bound: retry later. */
  MailboxBusy: { retryAfterSeconds: number };
  // --- lancash: requests and idempotency (72xxx) ---
  IdempotencyConflict: { key: string };
  NotFound: { what: string; id: string };
  RateLimited: { retryAfterSeconds: number };
  PayloadTooLarge: { limit: number };
  SubscriptionLimit: { limit: 'connections' | 'subscriptions' | 'filters'; max: number };
  // --- lancash: accounts and the wide bank (73xxx) ---
  AccountUnknown: { account: string };
  InsufficientBalance: { account: string; requested: number };
  // --- lancash: the gateway (74xxx) ---
  OperatorUnauthorized: { reason: string };
  UpstreamUnavailable: { upstream: string; reason: string };
  JobNotParked: { id: string; state: string };
  JournalBehindBank: { missing: string[]; count: number; repair: string };
  BankBehindJournal: { bankLast: number; expectedAtLeast: number; missing: string[]; repair: string };
  ReconcileFailed: { request: string; reason: string };
  ParkedPaymentNotAbandonable: { id: string };
  KeysetRotationConflict: { reason: string };
  /** `database`: the SQLite journal another gateway process holds. */
  GatewayRunning: { database: string };
  // --- lancash: wallets (75xxx) ---
  WalletNotInitialized: { reason: string };
  WalletExists: { reason: string };
  InsufficientFunds: { requested: number; available: number; unit: string };
  MintMismatch: { expected: string; received: string };
  WalletBusy: { reason: string };
  PeerUnreachable: { url: string; reason: string };
  TransferRefused: { transferId: string; code: number; reason: string };
  /** The wallet's store is encrypted and no passphrase was given (or this page cannot decrypt). */
  WalletLocked: { reason: string };
  PassphraseWrong: { reason: string };
  // --- lancash: server side (79xxx); never a client's fault ---
  StorageUnavailable: { reason: string };
  SecretsKeyMissing: { secret: string };
  SecretsKeyWrong: { secret: string };
  DataDirectoryExposed: { path: string; mode: string; fix: string };
  Internal: { reason: string };
}

export type ErrorName = keyof ErrorDetails;

interface ErrorSpec {
  readonly code: number;
  readonly status: number;
  /** What went wrong, in the words a wallet shows its user. */
  readonly title: string;
}

/** The registry: name → stable code, HTTP status, title. */
export const ERRORS: { readonly [K in ErrorName]: ErrorSpec } = {
  ProofVerificationFailed: { code: 10001, status: 400, title: 'Proof verification failed' },
  ProofsAlreadySpent: { code: 11001, status: 400, title: 'Proofs already spent' },
  ProofsPending: { code: 11002, status: 400, title: 'Proofs are pending' },
  OutputsAlreadySigned: { code: 11003, status: 400, title: 'Outputs already signed' },
  OutputsPending: { code: 11004, status: 400, title: 'Outputs are pending' },
  TransactionUnbalanced: {
    code: 11005,
    status: 400,
    title: 'Transaction is not balanced (inputs != outputs)',
  },
  AmountOutsideLimit: { code: 11006, status: 400, title: 'Amount outside of limit range' },
  DuplicateInputs: { code: 11007, status: 400, title: 'Duplicate inputs provided' },
  DuplicateOutputs: { code: 11008, status: 400, title: 'Duplicate outputs provided' },
  MultipleUnits: { code: 11009, status: 400, title: 'Inputs/Outputs of multiple units' },
  UnitMismatch: { code: 11010, status: 400, title: 'Inputs and outputs not of same unit' },
  AmountlessInvoiceNotSupported: { code: 11011, status: 400, title: 'Amountless invoice is not supported' },
  UnitNotSupported: { code: 11013, status: 400, title: 'Unit in request is not supported' },
  MaxInputsExceeded: { code: 11014, status: 400, title: 'Max inputs exceeded' },
  MaxOutputsExceeded: { code: 11015, status: 400, title: 'Max outputs exceeded' },
  KeysetUnknown: { code: 12001, status: 400, title: 'Keyset is not known' },
  KeysetInactive: { code: 12002, status: 400, title: 'Keyset is inactive, cannot sign messages' },
  KeysetExpired: { code: 12003, status: 400, title: 'Keyset has expired' },
  QuoteNotPaid: { code: 20001, status: 400, title: 'Quote request is not paid' },
  QuoteAlreadyIssued: { code: 20002, status: 400, title: 'Quote has already been issued' },
  LightningPaymentFailed: { code: 20004, status: 400, title: 'Lightning payment failed' },
  QuotePending: { code: 20005, status: 400, title: 'Quote is pending' },
  InvoiceAlreadyPaid: { code: 20006, status: 400, title: 'Invoice already paid' },
  QuoteExpired: { code: 20007, status: 400, title: 'Quote is expired' },
  MintQuoteSignatureInvalid: { code: 20008, status: 400, title: 'Signature for mint request invalid' },
  MintQuotePubkeyRequired: { code: 20009, status: 400, title: 'Pubkey required for mint quote' },

  InvalidInput: { code: 70000, status: 400, title: 'Request is malformed' },
  InvalidAmount: { code: 70001, status: 400, title: 'Amount is not a valid amount' },
  InvalidHex: { code: 70002, status: 400, title: 'Value is not valid hex of the expected length' },
  InvalidPoint: { code: 70003, status: 400, title: 'Value is not a valid secp256k1 point' },
  InvalidScalar: { code: 70004, status: 400, title: 'Value is not a valid secp256k1 scalar' },
  InvalidDenomination: { code: 70005, status: 400, title: 'Amount is not a denomination of the keyset' },
  EmptyRequest: { code: 70006, status: 400, title: 'Request has no inputs or no outputs' },
  InvalidToken: { code: 70007, status: 400, title: 'Token cannot be decoded' },
  InvalidKeyset: { code: 70008, status: 400, title: 'Keyset is malformed' },
  DleqInvalid: { code: 70009, status: 400, title: 'DLEQ proof does not verify' },
  CborInvalid: { code: 70010, status: 400, title: 'CBOR is malformed or outside the accepted subset' },
  InvalidString: {
    code: 70011,
    status: 400,
    title: 'String is not well-formed Unicode (a lone surrogate) or holds NUL (U+0000)',
  },
  ConditionMalformed: {
    code: 70020,
    status: 400,
    title: 'Spending condition (NUT-10 secret) is malformed; the note cannot be spent',
  },
  WitnessMalformed: { code: 70021, status: 400, title: 'Witness is malformed or missing' },
  SignatureChecksExceeded: {
    code: 70022,
    status: 400,
    title: 'Too many signature checks in one request; send fewer locked notes at once',
  },
  SigAllNotAllowed: {
    code: 70023,
    status: 400,
    title: 'SIG_ALL notes can only be spent by a swap or melt at the mint; swap them first',
  },

  EnvelopeMalformed: { code: 71001, status: 400, title: 'Envelope is malformed' },
  EnvelopeOpenFailed: { code: 71002, status: 400, title: 'Envelope cannot be opened' },
  EnvelopeWrongRecipient: { code: 71003, status: 400, title: 'Envelope is sealed to another key' },
  EnvelopeReplayed: { code: 71004, status: 409, title: 'Envelope transfer id was already used' },
  AddressInvalid: { code: 71005, status: 400, title: 'Address is invalid' },
  MailboxFull: { code: 71006, status: 409, title: 'Inbox is full, try again after its owner drains it' },
  MailboxQuotaExceeded: {
    code: 71007,
    status: 409,
    title: 'The mailbox holds all it may across its inboxes, try again later',
  },
  MailboxDepositorLimit: {
    code: 71008,
    status: 429,
    title: 'This depositor has too many messages pending in the mailbox, try again later',
  },
  InboxNotAllowed: {
    code: 71010,
    status: 403,
    title: "The address's inbox URL is not on the gateway's allow-list",
  },
  InboxWatchRefused: {
    code: 71011,
    status: 403,
    title: "Only the inbox's owner may follow it: send a fresh proof sealed from the owner's key",
  },
  // 429, not 503: a proven refusal (nothing was done), which clients read as one; a 5xx is unclear.
  MailboxBusy: {
    code: 71012,
    status: 429,
    title: 'The mailbox serves as many writes from the network as it may at once; retry after Retry-After',
  },

  IdempotencyConflict: {
    code: 72001,
    status: 409,
    title: 'Idempotency key was used with a different request',
  },
  NotFound: { code: 72002, status: 404, title: 'Not found' },
  RateLimited: { code: 72003, status: 429, title: 'Too many requests' },
  PayloadTooLarge: { code: 72004, status: 413, title: 'Request body too large' },
  SubscriptionLimit: { code: 72035, status: 429, title: 'Too many live subscriptions (NUT-17)' },

  AccountUnknown: { code: 73001, status: 404, title: 'Account is not known' },
  InsufficientBalance: { code: 73002, status: 400, title: 'Account balance is too low' },

  OperatorUnauthorized: { code: 74001, status: 401, title: 'Operator token missing or wrong' },
  UpstreamUnavailable: { code: 74002, status: 503, title: 'The wide bank did not answer, retry later' },
  JobNotParked: { code: 74008, status: 409, title: 'The job is not parked, so there is nothing to retry' },
  JournalBehindBank: {
    code: 74003,
    status: 503,
    title: 'The gateway journal is behind the wide bank (restored from an older copy?); reconcile first',
  },
  BankBehindJournal: {
    code: 74004,
    status: 503,
    title:
      'The wide bank lost requests the gateway journal holds (its database restored?); stop and recover it',
  },
  ReconcileFailed: { code: 74005, status: 409, title: 'A request at the wide bank cannot be rebuilt here' },
  ParkedPaymentNotAbandonable: {
    code: 74009,
    status: 409,
    title: 'A parked payment carries money and cannot be abandoned; retry it instead',
  },
  KeysetRotationConflict: {
    code: 74010,
    status: 409,
    title:
      'Another key rotation happened at the same moment; look at the keysets, then rotate again if needed',
  },
  GatewayRunning: {
    code: 74016,
    status: 409,
    title: 'Another gateway process runs on this SQLite database; a SQLite gateway is one process',
  },

  WalletNotInitialized: { code: 75001, status: 404, title: 'No wallet here; run init first' },
  WalletExists: { code: 75002, status: 409, title: 'A wallet already exists here' },
  InsufficientFunds: { code: 75003, status: 400, title: 'Not enough money in the wallet' },
  MintMismatch: { code: 75004, status: 400, title: "Notes are not from this wallet's mint or unit" },
  WalletBusy: { code: 75005, status: 409, title: 'The wallet is in use by another process' },
  PeerUnreachable: { code: 75006, status: 503, title: 'A server the wallet needs did not answer' },
  TransferRefused: { code: 75007, status: 400, title: 'The transfer was refused' },
  WalletLocked: { code: 75008, status: 423, title: 'The wallet is locked; enter its passphrase' },
  PassphraseWrong: { code: 75009, status: 401, title: 'That passphrase does not open this wallet' },

  StorageUnavailable: { code: 79001, status: 503, title: 'Storage unavailable, retry later' },
  // Start-up refusals of a server (issue 8 item 7): never sent to a client, statuses only for completeness.
  SecretsKeyMissing: {
    code: 79002,
    status: 500,
    title: 'The stored secrets are sealed and no secrets key was given',
  },
  SecretsKeyWrong: { code: 79003, status: 500, title: 'The secrets key does not open the stored secrets' },
  DataDirectoryExposed: { code: 79004, status: 500, title: 'The data directory is readable by other users' },
  Internal: { code: 79999, status: 500, title: 'Internal error' },
};

/** The JSON body of an error response. Cashu wallets read `detail` and `code`. */
export interface WireError {
  code: number;
  detail: string;
  error: ErrorName;
  info: unknown;
}

/**
 * The one error class of lancash. Recognise it by `code` (or `isLancashError(e, 'Name')`), not only by
 * `instanceof`: errors cross process and network boundaries as `WireError`.
 */
export class LancashError<K extends ErrorName = ErrorName> extends Error {
  override readonly name = 'LancashError';
  readonly kind: K;
  readonly code: number;
  readonly status: number;
  readonly info: ErrorDetails[K];

  constructor(kind: K, info: ErrorDetails[K], message?: string, options?: { cause?: unknown }) {
    const spec = ERRORS[kind];
    super(message ?? spec.title, options);
    this.kind = kind;
    this.code = spec.code;
    this.status = spec.status;
    this.info = info;
  }

  toWire(): WireError {
    return { code: this.code, detail: this.message, error: this.kind, info: this.info };
  }
}

/** Throws the named error; for one-line guards. */
export function fail<K extends ErrorName>(kind: K, info: ErrorDetails[K], message?: string): never {
  throw new LancashError(kind, info, message);
}

/** True when `e` is a lancash error (of the given name, if one is given). */
export function isLancashError<K extends ErrorName>(e: unknown, kind?: K): e is LancashError<K> {
  return e instanceof LancashError && (kind === undefined || e.kind === kind);
}

const byCode = new Map<number, ErrorName>(
  (Object.keys(ERRORS) as ErrorName[]).map((name) => [ERRORS[name].code, name]),
);

/** The error name registered for a numeric code, if any (for errors read off the wire). */
export function errorNameOf(code: number): ErrorName | undefined {
  return byCode.get(code);
}

/** Rebuilds a lancash error from its wire form (a peer's answer). Unknown codes become `Internal`. */
export function fromWire(w: { code?: unknown; detail?: unknown; info?: unknown }): LancashError {
  const name = typeof w.code === 'number' ? errorNameOf(w.code) : undefined;
  const message = typeof w.detail === 'string' ? w.detail : undefined;
  if (name === undefined)
    return new LancashError('Internal', { reason: message ?? 'unknown error' }, message);
  return new LancashError(name, w.info as ErrorDetails[typeof name], message);
}

/** A short printable form of an untrusted value for error details (never the whole value). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `string(${value.length})` : JSON.stringify(value);
  if (typeof value === 'bigint') return `bigint ${value}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${String(value)}`;
}
