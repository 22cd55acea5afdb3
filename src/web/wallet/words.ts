/**
 * The wallet page's words (issue 9's quality bar): amounts typed and read in major units, what a send
 * will do before it happens, and every operation of the history in plain sentences. Pure functions
 * over the wallet core's types, tested in `words.test.ts`; the pages only lay them out.
 */
import { decodeAddress, type Network } from '../../core/address/index.js';
import type { Amount } from '../../core/money.js';
import { formatMoney, parseMoney } from '../../core/money-format.js';
import type { TransferState } from '../../core/protocol/gateway.js';
import { decodeToken, type Token } from '../../core/token/index.js';
import { normalizeMintUrl, type Operation, type OperationState } from '../../wallet/index.js';
import { errorSentence, refusalSentence } from '../ui/messages.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** `LAN` / `WAN`. */
export function networkName(n: Network): string {
  return n.toUpperCase();
}

/** Where this wallet lives, in words for the home page. */
export function networkWords(n: Network): string {
  return n === 'lan' ? 'LAN: inside the organisation' : 'WAN: the wide bank, outside the organisation';
}

/** A long address or key shortened for reading: `wan1qx7f…k3d9ab`; short strings unchanged. */
export function shortAddress(s: string): string {
  return s.length > 20 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s;
}

/** What a person typed in an amount field, in minor units of `unit`, or the reason in words. */
export function readAmount(text: string, unit: string): Checked<Amount> {
  if (text.trim() === '') return { ok: false, message: 'Type an amount, like 12.50.' };
  try {
    return { ok: true, value: parseMoney(text, unit, { argument: 'amount' }) };
  } catch (e) {
    return { ok: false, message: errorSentence(e) };
  }
}

export interface SendPlan {
  network: Network;
  /** Whether the payment goes to the other network through the organisation's gateway. */
  viaGateway: boolean;
  /** The confirmation sentence: amount, destination and network. */
  sentence: string;
}

type SendingWallet = { network: Network; unit: string; gateway?: string | undefined };

/**
 * Where a typed address leads from this wallet: its network and whether the gateway converts, or why
 * it cannot be paid (checked before anything is reserved: a wrong address or a missing gateway
 * changes nothing).
 */
export function checkRecipient(
  wallet: SendingWallet,
  to: string,
): Checked<{ address: string; network: Network; viaGateway: boolean }> {
  const address = to.trim();
  if (address === '')
    return { ok: false, message: 'Paste the recipient’s address (it starts with lan1 or wan1).' };
  let network: Network;
  try {
    network = decodeAddress(address).network;
  } catch (e) {
    return { ok: false, message: errorSentence(e) };
  }
  if (network !== wallet.network && wallet.gateway === undefined) {
    return {
      ok: false,
      message: `That address is on the ${networkName(network)} and this wallet has no gateway to reach it. Set the gateway in Settings, or ask the recipient for a ${networkName(wallet.network)} address.`,
    };
  }
  return { ok: true, value: { address, network, viaGateway: network !== wallet.network } };
}

/**
 * The NUT-02 input fee a send costs on top of its amount, as the confirmation states it (undefined
 * without a fee): the mint's fee for the notes the send spends, and through the gateway the intake's
 * fee on the notes it takes, so the destination gets exactly the amount.
 */
export function feeSentence(fee: number, unit: string, viaGateway: boolean): string | undefined {
  if (fee <= 0) return undefined;
  return viaGateway
    ? `Plus the fee ${formatMoney(fee, unit)} (the mints’ input fees, so the gateway converts exactly the amount).`
    : `Plus the fee ${formatMoney(fee, unit)} (the mint’s input fee for the notes this send spends).`;
}

/** The fee an operation paid, after its description (nothing without a fee). */
function feeWords(op: Operation, unit: string): string {
  const fee = op.data.fee ?? 0;
  if (fee <= 0) return '';
  return op.direction === 'in'
    ? ` (fee ${formatMoney(fee, unit)} paid out of it)`
    : ` (fee ${formatMoney(fee, unit)})`;
}

/** What sending `amount` to `to` will do, as the confirmation states it, or why it cannot be done. */
export function planSend(wallet: SendingWallet, to: string, amount: number): Checked<SendPlan> {
  const recipient = checkRecipient(wallet, to);
  if (!recipient.ok) return recipient;
  const { address, network, viaGateway } = recipient.value;
  const money = formatMoney(amount, wallet.unit);
  const who = shortAddress(address);
  const where = network === 'lan' ? 'inside the organisation' : 'on the wide network';
  const sentence = viaGateway
    ? `Send ${money} to ${who} on the ${networkName(network)}, converted by ${wallet.network === 'lan' ? 'your' : 'the'} organisation's gateway.`
    : `Send ${money} to ${who} on the ${networkName(network)} (${where}), straight to their inbox.`;
  return { ok: true, value: { network, viaGateway, sentence } };
}

/** Where a transfer through the gateway stands, for the live progress of a send. */
export function transferStageWords(state: TransferState | string): string {
  switch (state) {
    case 'issuing':
      return 'The gateway has your money and is making the money of the other network.';
    case 'receiving':
      return 'The gateway is taking in your money.';
    case 'delivering':
      return 'The gateway is delivering the money to the recipient’s inbox.';
    case 'done':
      return 'Delivered.';
    case 'refused':
      return 'The gateway refused the transfer.';
    default:
      return 'Waiting for the gateway.';
  }
}

/** An operation's state in words. */
export function stateWords(state: OperationState): string {
  switch (state) {
    case 'done':
      return 'done';
    case 'failed':
      return 'failed';
    case 'issued':
      return 'not redeemed yet';
    case 'following':
      return 'with the gateway';
    case 'prepared':
    case 'delivering':
    case 'posting':
      return 'on its way';
    case 'reclaiming':
      return 'coming back';
    case 'watching':
      return 'waiting for the bank';
  }
}

/**
 * The other party of an operation, in words. Money the gateway delivers names payroll
 * (`gateway (payroll)`) or the conversion's direction (`gateway (wan-to-lan)`, from the payment's
 * `via`): into the LAN it is a payment from someone on the WAN; out of the LAN it is a member of the
 * organisation paying.
 */
export function counterpartyWords(op: Operation): string {
  const c = op.counterparty;
  if (c === undefined) return '';
  if (c === 'gateway (payroll)') return 'your organisation (payroll)';
  if (c.startsWith('gateway ('))
    return c.includes('wan-to-lan')
      ? 'someone on the WAN, through your organisation’s gateway'
      : 'a member of the organisation, through its gateway (from the LAN)';
  if (c.startsWith('token from ')) return 'a token';
  if (op.kind === 'token' || op.kind === 'mint') return 'a token';
  return shortAddress(c);
}

/** One line of the history. */
export interface HistoryLine {
  id: string;
  at: number;
  /** "Sent to wan1…", "Received from lan1…", "Token made", … */
  what: string;
  /** Signed, in major units with the unit: `+5.00 EUR`, `-2.50 EUR`. */
  amount: string;
  state: string;
  /** Set when it failed or is waiting: the reason in words. */
  note?: string;
  /** An open token or payment that can still be taken back (`wallet.cancel`), as the CLI's `cancel`. */
  cancellable: boolean;
}

export function historyLine(op: Operation, unit: string): HistoryLine {
  const who = counterpartyWords(op);
  const what = (() => {
    switch (op.kind) {
      case 'send':
        return `Sent to ${who}`;
      case 'gateway':
        return `Sent to ${who} through the gateway`;
      case 'token':
        return 'Token made';
      case 'receive':
        return who === 'a token' ? 'Token redeemed' : `Received from ${who}`;
      case 'mint':
        return 'Bought over Lightning';
      case 'watch':
        return 'Found by a restore';
      case 'refresh':
        return 'Money renewed: the bank changed its keys';
    }
  })();
  // A renewal moves no money in or out: its amount carries no sign.
  const sign = op.kind === 'refresh' ? '' : op.direction === 'in' ? '+' : '−';
  const line: HistoryLine = {
    id: op.id,
    at: op.createdAt,
    what: `${op.memo ? `${what} — “${op.memo}”` : what}${feeWords(op, unit)}`,
    amount: `${sign}${formatMoney(op.amount, unit)}`,
    state:
      op.state === 'failed' && op.direction === 'out' ? 'not sent, money returned' : stateWords(op.state),
    // A transfer the gateway has (`following`) ends done or refused on its own; the core refuses to cancel it.
    cancellable:
      op.direction === 'out' &&
      (op.state === 'issued' || op.state === 'delivering' || op.state === 'posting'),
  };
  if (op.kind === 'token' && op.state === 'failed') line.state = 'taken back';
  if (op.state === 'failed' && op.kind === 'gateway' && op.data.transfer?.state === 'refused')
    line.note = refusalSentence(op.data.transfer.refusal);
  // A token taken back says so in its state; its reason would only repeat it.
  else if (op.reason && op.state !== 'done' && line.state !== 'taken back') line.note = op.reason;
  return line;
}

/** History newest first. */
export function historyLines(ops: readonly Operation[], unit: string): HistoryLine[] {
  return [...ops].sort((a, b) => b.createdAt - a.createdAt).map((op) => historyLine(op, unit));
}

/** How a send ended, in words: what happened to the money and, when it did not arrive, what to do. */
export function sendOutcome(op: Operation, unit: string): { ok: boolean; text: string } {
  const money = formatMoney(op.amount, unit);
  const who = shortAddress(op.counterparty ?? '');
  if (op.state === 'done') {
    return {
      ok: true,
      text:
        op.kind === 'gateway'
          ? `Sent ${money} to ${who}: the gateway delivered it on the other network.`
          : `Sent ${money} to ${who}: it is in their inbox.`,
    };
  }
  if (op.state === 'failed') {
    const why =
      op.data.transfer?.state === 'refused'
        ? refusalSentence(op.data.transfer.refusal)
        : `${op.reason ?? 'It did not go through'}. Your money came back to your balance.`;
    return { ok: false, text: `${money} was not sent. ${why} Check the address and try again.` };
  }
  return {
    ok: true,
    text: `${money} is on its way to ${who}. The wallet goes on with it by itself, even after a reload; the history shows when it ends.`,
  };
}

/** What taking back an open operation did (`wallet.cancel`): the mint decides who had the notes first. */
export function cancelOutcome(op: Operation, unit: string): { ok: boolean; text: string } {
  const money = formatMoney(op.amount, unit);
  const what = op.kind === 'token' ? 'The token' : 'The payment';
  if (op.state === 'failed')
    return { ok: true, text: `${what} was taken back: ${money} is in your balance again.` };
  if (op.state === 'done')
    return { ok: false, text: `${what} had already been collected: ${money} went to the other side.` };
  return {
    ok: true,
    text: 'The bank did not answer yet; the wallet finishes taking it back by itself and the history shows when.',
  };
}

/** An incoming payment announced. */
export function receivedSentence(op: Operation, unit: string): string {
  const from = counterpartyWords(op);
  const memo = op.memo ? ` — “${op.memo}”` : '';
  if (op.state === 'failed')
    return `A payment of ${formatMoney(op.amount, unit)} from ${from} was refused: ${op.reason ?? 'no reason'}.`;
  return `You received ${formatMoney(op.amount, unit)} from ${from}${memo}.`;
}

export interface TokenPreview {
  amount: number;
  mint: string;
  unit: string;
  memo?: string;
  /** Whether this wallet can redeem it (same mint and unit); when not, `message` says why in words. */
  ours: boolean;
  message: string;
}

/** What a pasted token holds, read before redeeming: its amount and mint, and whether it is ours. */
export function previewToken(text: string, wallet: { mint: string; unit: string }): Checked<TokenPreview> {
  let token: Token;
  try {
    token = decodeToken(text.trim());
  } catch (e) {
    return { ok: false, message: errorSentence(e) };
  }
  const amount = token.proofs.reduce((n, p) => n + p.amount, 0);
  let mint = token.mint;
  try {
    mint = normalizeMintUrl(token.mint);
  } catch {
    // Shown as written; it cannot be ours.
  }
  const ours = mint === wallet.mint && token.unit === wallet.unit;
  const money =
    token.unit === wallet.unit ? formatMoney(amount, token.unit) : `${amount} ${token.unit} (minor units)`;
  const message = ours
    ? `This token holds ${money} of this wallet’s bank.`
    : token.unit !== wallet.unit
      ? `This token holds ${token.unit.toUpperCase()}, and this wallet holds ${wallet.unit.toUpperCase()}: it cannot be redeemed here. Redeem it in a wallet of its bank (${mint}).`
      : `This token holds ${money} of another bank (${mint}), not this wallet’s (${wallet.mint}): it cannot be redeemed here. Redeem it in a wallet of that bank, or ask the sender for a token of this one.`;
  return {
    ok: true,
    value: {
      amount,
      mint,
      unit: token.unit,
      ...(token.memo === undefined ? {} : { memo: token.memo }),
      ours,
      message,
    },
  };
}
