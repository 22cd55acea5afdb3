/**
 * Where the gateway's envelopes (payments, notices) go (DESIGN §3): to the inbox URL an address
 * carries, if any (a server speaking the mailbox's deposit route, `POST <inbox>/v1/inbox/<address>`);
 * otherwise a WAN address's envelope goes to the wide bank's mailbox and a LAN address's to the
 * gateway's own mailbox (a direct call). A deposit is idempotent (sender + transfer id), so the jobs
 * simply retry until one is accepted.
 */
import { decodeAddress } from '../core/address/index.js';
import type { Envelope } from '../core/envelope/index.js';
import { deposit } from '../mailbox/client.js';
import type { Mailbox } from '../mailbox/service.js';

export interface Deliverer {
  /** Resolves once the inbox has the envelope; throws when it does not (the caller retries). */
  deliver(address: string, envelope: Envelope): Promise<void>;
}

export interface DelivererOptions {
  /** The wide bank's mailbox, for WAN addresses without an inbox URL. */
  wan: (address: string, envelope: Envelope) => Promise<void>;
  /** The gateway's LAN mailbox. */
  lan: Mailbox;
  timeoutMs?: number;
}

export function createDeliverer(o: DelivererOptions): Deliverer {
  const tuning = o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {};
  return {
    async deliver(address, envelope) {
      const a = decodeAddress(address);
      if (a.inbox !== undefined) {
        await deposit(a.inbox, address, envelope, tuning);
      } else if (a.network === 'wan') {
        await o.wan(address, envelope);
      } else {
        await o.lan.deposit(address, envelope);
      }
    },
  };
}
