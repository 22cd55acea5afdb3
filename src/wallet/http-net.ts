/**
 * The wallet's network over HTTP, portable: the project's client (`call`, on the standard `fetch`
 * unless a Node entry point set another transport), the mailbox client and the gateway's client
 * calls, behind the `WalletNet` interface. The CLI and a browser UI use the same one.
 */
import { call } from '../core/http/client.js';
import { getGatewayInfo, getTransfer } from '../core/protocol/gateway.js';
import { deposit, drain, mailboxInfo } from '../mailbox/client.js';
import type { WalletNet } from './net.js';

export interface HttpNetOptions {
  /** Per call; default the client's 10 s. */
  timeoutMs?: number;
}

export function httpNet(o: HttpNetOptions = {}): WalletNet {
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
