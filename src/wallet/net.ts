/**
 * Everything the wallet asks of the network, as one interface handed in: `httpNet()` (`http-net.ts`)
 * wires it to `core/http/client.ts` (standard `fetch`), the mailbox client and the gateway's client
 * calls, for the CLI and a browser alike; tests wrap it to inject faults. Outcomes follow `call`: a 2xx is the
 * decoded answer, a proven refusal throws the peer's `LancashError`, and anything else (network,
 * timeout, 5xx) throws something that is not a `LancashError`: the outcome is unknown.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { EncryptionKeyPair, Envelope } from '../core/envelope/index.js';
import type { CallOptions } from '../core/http/client.js';
import type { GatewayInfo, TransferStatus } from '../core/protocol/gateway.js';

export interface InboxMessage {
  /** The mailbox's id for the message; ack it once its effect is journaled. */
  id: string;
  envelope: Envelope;
}

export interface WalletNet {
  /** A JSON call to a mint (or any peer), its 2xx answer decoded by `schema`. */
  call<S extends TSchema>(o: CallOptions & { schema: S }): Promise<Static<S>>;
  /** `GET /v1/inbox`: the mailbox's network and its X25519 key (hex). */
  mailboxInfo(base: string): Promise<{ network: string; key: string }>;
  /** Deposits an envelope in the inbox of `address`; a replay answers `duplicate: true`. */
  deposit(base: string, address: string, envelope: Envelope): Promise<{ duplicate: boolean }>;
  /** Acks earlier messages and fetches the pending ones of the owner's inbox. */
  drain(
    base: string,
    o: { owner: EncryptionKeyPair; address: string; serverKey: Uint8Array; ack: readonly string[] },
  ): Promise<{ messages: InboxMessage[]; more: boolean }>;
  gatewayInfo(base: string): Promise<GatewayInfo>;
  /** `GET /v1/gateway/transfers/:id`. */
  transfer(base: string, transferId: string): Promise<TransferStatus>;
}
