/**
 * The wallet's network on Node: the project's HTTP client (`call`, undici), the mailbox client and
 * the gateway's client calls, behind the `WalletNet` interface the portable wallet core uses.
 */
import { call } from '../../core/http/client.js';
import { getGatewayInfo, getTransfer } from '../../core/protocol/gateway.js';
import { deposit, drain, mailboxInfo } from '../../mailbox/client.js';
import type { WalletNet } from '../net.js';

export interface NodeNetOptions {
  /** Per call; default the client's 10 s. */
  timeoutMs?: number;
}

export function nodeNet(o: NodeNetOptions = {}): WalletNet {
  const tuning = o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs };
  return {
    call: (c) => call({ ...tuning, ...c }),
    mailboxInfo: (base) => mailboxInfo(base, tuning),
    deposit: (base, address, envelope) => deposit(base, address, envelope, tuning),
    drain: (base, d) => drain(base, { ...d, ...tuning }),
    gatewayInfo: (base) => getGatewayInfo(base, o.timeoutMs),
    transfer: (base, id) => getTransfer(base, id, o.timeoutMs),
  };
}
