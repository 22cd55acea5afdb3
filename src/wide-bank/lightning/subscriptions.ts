/**
 * NUT-17 sources of the wide bank's `bolt11` quotes (NUT-23 `bolt11_mint_quote` and
 * `bolt11_melt_quote`): each payload is what `GET /v1/{mint,melt}/quote/bolt11/{id}` answers, read the
 * same way (an unpaid mint quote asks the backend; a pending melt is checked), so a subscriber learns
 * of a payment within a re-check even when nobody asks the REST route.
 */
import { isLancashError } from '../../core/errors.js';
import type { KindSource, Payload, SubscriptionKind } from '../../mint/subscriptions.js';
import type { LightningService } from './service.js';

export function quoteSources(
  service: LightningService,
): Record<'bolt11_mint_quote' | 'bolt11_melt_quote', KindSource> &
  Partial<Record<SubscriptionKind, KindSource>> {
  const reader =
    (get: (id: string) => Promise<Payload>) =>
    async (ids: readonly string[]): Promise<Map<string, Payload>> => {
      const out = new Map<string, Payload>();
      await Promise.all(
        ids.map(async (id) => {
          try {
            out.set(id, await get(id));
          } catch (err) {
            // An unknown quote is left out (the subscription is refused for it); anything else is a failed read.
            if (!isLancashError(err, 'NotFound')) throw err;
          }
        }),
      );
      return out;
    };
  return {
    bolt11_mint_quote: {
      read: reader((id) => service.getMintQuote(id)),
      final: (p) => (p as { state?: unknown }).state === 'ISSUED',
      unknownIs: 'mint quote',
    },
    bolt11_melt_quote: {
      read: reader((id) => service.getMeltQuote(id)),
      final: (p) => (p as { state?: unknown }).state === 'PAID',
      unknownIs: 'melt quote',
    },
  };
}
