/**
 * `GET /web/config.json` (docs/web.md): what a web page needs to know about the server that serves
 * it. Portable (no Node import), so the server that answers it and the page that reads it share the
 * one schema.
 */
import { Type } from '@sinclair/typebox';
import type { Network } from '../address/index.js';

/** What a page needs to know about the server that serves it (`GET /web/config.json`). */
export const WebConfig = Type.Object({
  /** The network of the wallets this server serves: `lan` (gateway) or `wan` (wide bank). */
  network: Type.Union([Type.Literal('lan'), Type.Literal('wan')]),
  /** The Cashu unit (`eur`); amounts are shown in its major units. */
  unit: Type.String(),
  /** The mint of this network: the page's own origin unless the server says otherwise. */
  mint: Type.String(),
  /** The mailbox holding the terminals' inboxes (the page's origin). */
  mailbox: Type.String(),
  /** The gateway's listener on this network, for payments to the other one; absent when none is known. */
  gateway: Type.Optional(Type.String()),
});
export interface WebConfig {
  network: Network;
  unit: string;
  mint: string;
  mailbox: string;
  gateway?: string;
}

export const WEB_CONFIG_PATH = '/web/config.json';
