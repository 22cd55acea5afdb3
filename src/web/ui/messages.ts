/**
 * Errors in plain words for the pages (issue 9's quality bar): every `LancashError` the wallet or a
 * server can raise, by name (`src/core/errors.ts`), as one sentence saying what happened and what to
 * do next. The one place the web maps error codes to words; pages never show a raw message alone.
 */
import { type ErrorName, errorNameOf, isLancashError } from '../../core/errors.js';
import { formatMoney } from '../../core/money-format.js';

/** What went wrong and what to do next, in words a member of the organisation understands. */
export interface Explained {
  /** What happened, one sentence. */
  what: string;
  /** What to do next, one sentence. */
  next: string;
}

const TRY_LATER = 'Nothing was sent and nothing changed. Wait a minute and try again.';
const ASK_OPERATOR = "If it keeps happening, tell your organisation's operator.";

/** The sentences of each error name; `detail` is the error's own message, for the few that need it. */
const WORDS: Partial<Record<ErrorName, (detail: string, info: unknown) => Explained>> = {
  InsufficientFunds: (_detail, info) => ({
    what: isFunds(info)
      ? `Your balance is too low: you asked for ${formatMoney(info.requested, info.unit)} and ${formatMoney(info.available, info.unit)} can be spent now.`
      : 'Your balance is too low for this amount.',
    next: 'Send a smaller amount, or receive money first.',
  }),
  InvalidAmount: (detail) => ({
    what: `That amount cannot be used: ${afterColon(detail)}.`,
    next: 'Type the amount in digits, like 12.50.',
  }),
  AmountOutsideLimit: () => ({
    what: 'That amount is outside what this bank accepts in one payment.',
    next: 'Try a smaller amount, or split it into several payments.',
  }),
  AddressInvalid: () => ({
    what: 'That is not a valid address.',
    next: 'Copy the address again from the person you are paying: it starts with lan1 or wan1.',
  }),
  InvalidToken: () => ({
    what: 'That is not a valid cashu token.',
    next: 'Copy the whole token again (it starts with cashuB or cashuA) and paste it here.',
  }),
  MintMismatch: () => ({
    what: 'This money is from another bank than the one this wallet uses.',
    next: 'Ask the sender for a token of this wallet’s bank, or redeem it in a wallet of that bank.',
  }),
  UnitNotSupported: () => ({
    what: 'This bank does not hold that currency.',
    next: ASK_OPERATOR,
  }),
  ProofsAlreadySpent: () => ({
    what: 'This money was already spent.',
    next: 'If it was a token, ask the sender for a new one. Your balance is unchanged.',
  }),
  ProofsPending: () => ({
    what: 'This money is being spent in another payment right now.',
    next: 'Wait a minute and look at the history again.',
  }),
  PeerUnreachable: () => ({
    what: 'A server the wallet needs did not answer.',
    next: `${TRY_LATER} Check that you are connected to your organisation's network.`,
  }),
  UpstreamUnavailable: () => ({
    what: 'The gateway cannot reach the wide bank right now.',
    next: `${TRY_LATER} ${ASK_OPERATOR}`,
  }),
  RateLimited: () => ({ what: 'Too many requests in a short time.', next: TRY_LATER }),
  StorageUnavailable: () => ({ what: 'The server could not store the request.', next: TRY_LATER }),
  MailboxFull: () => ({
    what: 'The recipient’s inbox is full.',
    next: 'Ask them to open their wallet (it empties the inbox), then send again. Your money stayed with you.',
  }),
  MailboxQuotaExceeded: () => ({
    what: 'The mailbox is full for now.',
    next: 'Try again later. Your money stayed with you.',
  }),
  MailboxBusy: () => ({
    what: 'The mailbox is busy with many requests right now.',
    next: 'Wait a few seconds and try again. Your money stayed with you.',
  }),
  MailboxDepositorLimit: () => ({
    what: 'You have many payments waiting to be collected.',
    next: 'Wait until the recipients open their wallets, then send again.',
  }),
  InboxNotAllowed: () => ({
    what: 'The gateway does not deliver to that address’s inbox.',
    next: 'Ask the recipient for an address without its own inbox, or ask the operator.',
  }),
  TransferRefused: (detail) => ({
    what: `The transfer was refused: ${detail}.`,
    next: 'Your money came back to your balance. Check the address and the amount, then try again.',
  }),
  WalletNotInitialized: () => ({
    what: 'There is no wallet in this browser yet.',
    next: 'Create a new wallet or restore one from its seed words.',
  }),
  WalletExists: () => ({
    what: 'A wallet already exists in this browser.',
    next: 'Open it, or erase it in Settings first.',
  }),
  WalletBusy: () => ({
    what: 'The wallet is busy with another payment.',
    next: 'Wait until it ends, then try again.',
  }),
  WalletLocked: () => ({
    what: 'The wallet is locked with a passphrase.',
    next: 'Type its passphrase to open it.',
  }),
  PassphraseWrong: () => ({
    what: 'That passphrase does not open this wallet.',
    next: 'Type it again, carefully (capital letters count). Without it, restore the wallet from its seed words.',
  }),
  InboxWatchRefused: () => ({
    what: 'The mailbox refused to announce new payments to this page.',
    next: 'Payments still arrive: the wallet checks the inbox every few seconds instead.',
  }),
  KeysetInactive: () => ({
    what: 'The bank has changed its keys since this money was made.',
    next: 'Reload the page and try again.',
  }),
  KeysetExpired: () => ({
    what: 'This money was made with keys the bank has retired, and it no longer takes it.',
    next: 'Ask the bank’s operator: a wallet renews such money when it opens, within the weeks the bank allows.',
  }),
  KeysetUnknown: () => ({
    what: 'The bank does not know the keys of this money.',
    next: 'It may come from another bank. Ask the sender.',
  }),
  OperatorUnauthorized: () => ({
    what: 'The operator token is missing or wrong.',
    next: 'Type the operator token again (the demo prints it).',
  }),
  JobNotParked: () => ({
    what: 'This job is not parked any more: it was retried or abandoned already.',
    next: 'Refresh the list to see where it stands.',
  }),
  ParkedPaymentNotAbandonable: () => ({
    what: 'This parked delivery is a payment: it carries money, so it cannot be abandoned.',
    next: 'Retry it instead: the same sealed payment is sent, so it cannot be paid twice.',
  }),
  NotFound: () => ({ what: 'The server does not know this.', next: ASK_OPERATOR }),
  PayloadTooLarge: () => ({ what: 'This is too large to send in one go.', next: 'Send a smaller amount.' }),
};

const INVALID_INPUT = (detail: string): Explained => ({
  what: `That was not accepted: ${afterColon(detail)}.`,
  next: 'Check what you typed and try again.',
});

/**
 * Any thrown value in plain words. A lancash error by its name; anything else is a server that did
 * not answer (the wallet throws nothing else for an unclear outcome, which it keeps open instead).
 */
export function explainError(e: unknown): Explained {
  if (isLancashError(e)) {
    const words = WORDS[e.kind];
    if (words) return words(trimEnd(e.message), e.info);
    if (e.kind === 'InvalidInput' || e.kind.startsWith('Invalid')) return INVALID_INPUT(trimEnd(e.message));
    return { what: `${trimEnd(e.message)}.`, next: ASK_OPERATOR };
  }
  if (e instanceof TypeError || (e instanceof Error && /fetch|network|timeout|abort/i.test(e.message))) {
    return {
      what: 'The server did not answer.',
      next: "Check that you are connected to your organisation's network, then try again.",
    };
  }
  return {
    what: 'Something went wrong in the page.',
    next: `Reload the page and try again. ${ASK_OPERATOR}`,
  };
}

/** `explainError` as one line. */
export function errorSentence(e: unknown): string {
  const { what, next } = explainError(e);
  return `${what} ${next}`;
}

/**
 * Why the gateway refused a transfer (its `refusal.code` and `detail`), in words, with what happened
 * to the money: a refused transfer's notes come back to the sender.
 */
export function refusalSentence(refusal: { code: number; detail: string } | undefined): string {
  const name = refusal ? errorNameOf(refusal.code) : undefined;
  const words = name ? WORDS[name] : undefined;
  const why = words
    ? words(refusal?.detail ?? '', undefined).what
    : refusal
      ? `${trimEnd(refusal.detail)}.`
      : 'No reason was given.';
  return `${why} Your money came back to your balance.`;
}

function isFunds(info: unknown): info is { requested: number; available: number; unit: string } {
  if (typeof info !== 'object' || info === null) return false;
  const i = info as Record<string, unknown>;
  return typeof i.requested === 'number' && typeof i.available === 'number' && typeof i.unit === 'string';
}

function afterColon(s: string): string {
  const i = s.indexOf(': ');
  return trimEnd(i >= 0 && i < 24 ? s.slice(i + 2) : s);
}

function trimEnd(s: string): string {
  return s.replace(/[.\s]+$/, '');
}

/**
 * Why the gateway or the bank refused a job (a refusal's `code` and `detail`), without what it meant
 * for a wallet's balance: the operator console's reasons. The operator's own cases first (payroll and
 * payout against the reserve), then the general sentence of the code.
 */
export function reasonOf(code: number, detail: string): string {
  const name = errorNameOf(code);
  switch (name) {
    case 'NotFound':
      return `The reserve holds no deposit under that reference (${trimEnd(detail)}). Ask the bank's operator to make the deposit, then issue again with the same reference.`;
    case 'InvalidAmount':
      return `The deposit under that reference is of another amount (${trimEnd(detail)}). Issue exactly the amount deposited.`;
    case 'InsufficientBalance':
      return 'The reserve at the bank holds too little for this payout.';
    case 'IdempotencyConflict':
      return 'That reference was already used for another request. Use a new reference.';
    case undefined:
      return detail ? `${trimEnd(detail)}.` : 'No reason was given.';
    default: {
      const words = WORDS[name];
      return words ? words(detail, undefined).what : `${trimEnd(detail)}.`;
    }
  }
}
