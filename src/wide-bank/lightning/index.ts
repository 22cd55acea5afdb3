/**
 * The wide bank's `bolt11` method (NUT-04/05/23, NUT-08): the backend interface a Lightning node
 * implements, the built-in fake, the quote service and its routes. The server registers the routes,
 * passes ledger hooks, and calls `resumePendingMelts` at start-up.
 */
export type { LightningBackend, PaymentResult, PaymentState } from './backend.js';
export { type Bolt11Invoice, decodeBolt11, encodeBolt11 } from './bolt11.js';
export { createFakeLightning, type FakeLightning, type FakeLightningOptions } from './fake.js';
export {
  type LightningRoutesOptions,
  lightningNuts,
  registerLightningRoutes,
  resumePendingMelts,
} from './http.js';
export {
  type LightningHooks,
  type LightningOptions,
  LightningService,
  type MeltedEvent,
  type MeltQuoteResponse,
  type MintedEvent,
  type MintQuoteResponse,
} from './service.js';
