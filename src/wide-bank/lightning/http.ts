/**
 * The `bolt11` mint and melt endpoints (NUT-04, NUT-05, NUT-23, NUT-08 change) over a
 * `LightningService`. Controller only: TypeBox schemas check the shapes (validated by `decode`, as in
 * `src/mint/http.ts`), the service does the work, the answers are in the spec's shapes.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { LancashServer } from '../../core/http/server.js';
import { MAX_NOTE_AMOUNT } from '../../core/money.js';
import { BlankMessage, BlindedMessage, BlindSignature, Proof } from '../../core/protocol/cashu.js';
import { BYTES_OVERHEAD, listBody, routeSchema, Unit } from '../../mint/http.js';
import { type LightningOptions, LightningService, MAX_BLANK_OUTPUTS } from './service.js';

/** BOLT #11 invoices in the wild stay far below this. */
const MAX_REQUEST_LENGTH = 7089;

const QuoteId = Type.String({ minLength: 1, maxLength: 128 });
const QuoteParams = Type.Object({ quote_id: QuoteId });
const Invoice = Type.String({ minLength: 1, maxLength: MAX_REQUEST_LENGTH });
/** Amounts are range-checked by the service, so a wallet gets Cashu's 11006 rather than a schema error. */
const QuoteAmount = Type.Integer();
const Expiry = Type.Integer({ description: 'unix seconds' });

/** NUT-23 `PostMintQuoteBolt11Request`. */
const MintQuoteRequest = Type.Object({
  amount: QuoteAmount,
  unit: Unit,
  // BOLT #11: the `d` field holds at most 639 bytes; the service refuses longer UTF-8.
  description: Type.Optional(Type.String({ maxLength: 639 })),
  // NUT-20: checked by the service, so a wrong key gets Cashu's 20009 rather than a schema error.
  pubkey: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
});
/** NUT-23 `PostMintQuoteBolt11Response`. */
const MintQuoteResponse = Type.Object({
  quote: QuoteId,
  request: Invoice,
  amount: Type.Integer(),
  unit: Unit,
  state: Type.Union([Type.Literal('UNPAID'), Type.Literal('PAID'), Type.Literal('ISSUED')]),
  expiry: Expiry,
  amount_paid: Type.Integer(),
  amount_issued: Type.Integer(),
  pubkey: Type.Optional(Type.String()),
});
const MintResponse = Type.Object({ signatures: Type.Array(BlindSignature) });

/** NUT-23 `PostMeltQuoteBolt11Request`; `options` (amountless, MPP) is refused by the service. */
const MeltQuoteRequest = Type.Object({
  request: Invoice,
  unit: Unit,
  options: Type.Optional(Type.Unknown()),
});
/** NUT-23 `PostMeltQuoteBolt11Response` with NUT-08 `change`. */
const MeltQuoteResponse = Type.Object({
  quote: QuoteId,
  request: Invoice,
  amount: Type.Integer(),
  unit: Unit,
  fee_reserve: Type.Integer(),
  state: Type.Union([Type.Literal('UNPAID'), Type.Literal('PENDING'), Type.Literal('PAID')]),
  expiry: Expiry,
  payment_preimage: Type.Union([Type.String(), Type.Null()]),
  change: Type.Optional(Type.Array(BlindSignature)),
});
export type LightningRoutesOptions = LightningOptions;

/** The bolt11 routes that answer an identical replay with the identical body (NUT-19; mint-quotes.ts, melt-quotes.ts). */
export const LIGHTNING_CACHED = ['POST /v1/mint/bolt11', 'POST /v1/melt/bolt11'] as const;

/** The NUT-06 `/v1/info` entries for this mint's `bolt11` support (NUT-04, 05, 08, 20), for the role's info body. */
export function lightningNuts(o: {
  unit: string;
  minAmount?: number;
  maxAmount?: number;
}): Record<string, object> {
  const method = {
    method: 'bolt11',
    unit: o.unit,
    min_amount: o.minAmount ?? 1,
    max_amount: o.maxAmount ?? MAX_NOTE_AMOUNT,
  };
  return {
    '4': { methods: [{ ...method, description: true }], disabled: false },
    '5': { methods: [method], disabled: false },
    '8': { supported: true },
    // NUT-20: a quote asked for with a pubkey mints only with its signature (mint-quotes.ts).
    '20': { supported: true },
  };
}

/** Adds the `bolt11` quote, mint and melt routes to a server built by `createServer`; returns the service. */
export function registerLightningRoutes(app: LancashServer, o: LightningRoutesOptions): LightningService {
  const service = new LightningService(o);
  const { maxInputs, maxOutputs } = o.mint.limits;
  const MintRequest = Type.Object({
    quote: QuoteId,
    outputs: Type.Array(BlindedMessage, { maxItems: maxOutputs }),
    // NUT-20: a malformed signature is refused by the service with 20008, like a wrong one.
    signature: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
  });
  const MeltRequest = Type.Object({
    quote: QuoteId,
    inputs: Type.Array(Proof, { maxItems: maxInputs }),
    outputs: Type.Optional(Type.Array(BlankMessage, { maxItems: MAX_BLANK_OUTPUTS })),
  });

  app.post(
    '/v1/mint/quote/bolt11',
    {
      bodyLimit: BYTES_OVERHEAD * 4,
      schema: routeSchema('NUT-04/23 mint quote: an invoice to pay for new notes', MintQuoteResponse, {
        body: MintQuoteRequest,
      }),
    },
    async (req): Promise<Static<typeof MintQuoteResponse>> => service.createMintQuote(req.body),
  );

  app.get(
    '/v1/mint/quote/bolt11/:quote_id',
    {
      schema: routeSchema('NUT-04/23 mint quote state (UNPAID, PAID, ISSUED)', MintQuoteResponse, {
        params: QuoteParams,
      }),
    },
    async (req): Promise<Static<typeof MintQuoteResponse>> => service.getMintQuote(req.params.quote_id),
  );

  app.post(
    '/v1/mint/bolt11',
    {
      ...listBody([['outputs', 1, maxOutputs, 'MaxOutputsExceeded']]),
      schema: routeSchema(
        'NUT-04 mint: blind signatures on outputs worth exactly a paid quote',
        MintResponse,
        {
          body: MintRequest,
        },
      ),
    },
    async (req): Promise<Static<typeof MintResponse>> => ({ signatures: await service.mintTokens(req.body) }),
  );

  app.post(
    '/v1/melt/quote/bolt11',
    {
      bodyLimit: BYTES_OVERHEAD + MAX_REQUEST_LENGTH,
      schema: routeSchema(
        'NUT-05/23 melt quote: amount and fee reserve to pay an invoice',
        MeltQuoteResponse,
        {
          body: MeltQuoteRequest,
        },
      ),
    },
    async (req): Promise<Static<typeof MeltQuoteResponse>> => service.createMeltQuote(req.body),
  );

  app.get(
    '/v1/melt/quote/bolt11/:quote_id',
    {
      schema: routeSchema(
        'NUT-05/23 melt quote state; a PENDING payment is checked and settled',
        MeltQuoteResponse,
        {
          params: QuoteParams,
        },
      ),
    },
    async (req): Promise<Static<typeof MeltQuoteResponse>> => service.getMeltQuote(req.params.quote_id),
  );

  app.post(
    '/v1/melt/bolt11',
    {
      ...listBody([
        ['inputs', 1, maxInputs, 'MaxInputsExceeded'],
        ['outputs', 0, MAX_BLANK_OUTPUTS, 'MaxOutputsExceeded'],
      ]),
      schema: routeSchema(
        'NUT-05 melt: spend inputs to pay a quote’s invoice; NUT-08 change on blank outputs',
        MeltQuoteResponse,
        { body: MeltRequest },
      ),
    },
    async (req): Promise<Static<typeof MeltQuoteResponse>> => service.meltTokens(req.body),
  );

  return service;
}

/** Settles melt quotes left PENDING by a crash or an unclear payment; call once at start-up. */
export function resumePendingMelts(
  o: LightningOptions,
): Promise<{ paid: number; failed: number; pending: number }> {
  return new LightningService(o).resumePendingMelts();
}
