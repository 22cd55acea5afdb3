/**
 * The `bolt11` routes over real HTTP on a SQLite mint with the fake Lightning backend: the spec's
 * shapes and Cashu codes on the wire, and cashu-ts 4 as the client end to end (mint via a bolt11
 * quote, send, receive in a second wallet, check states, melt an invoice with NUT-08 change, restore a
 * seeded wallet from its seed alone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCurve } from '../../core/crypto/index.js';
import { createServer, type LancashServer, listen } from '../../core/http/server.js';
import { registerMintRoutes } from '../../mint/http.js';
import { Mint } from '../../mint/mint.js';
import { cashuTsFlow } from '../../test-support/cashu-ts-flow.js';
import { freshStore, type TestStore } from '../../test-support/dialects.js';
import { refusalCode, sendJson } from '../../test-support/http.js';
import { issue, makeOutputs } from '../../test-support/notes.js';
import { createFakeLightning } from './fake.js';
import { lightningNuts, registerLightningRoutes } from './http.js';
import type { MeltedEvent, MintedEvent } from './service.js';

const curve = defaultCurve();
/** cashu-ts restores in batches of 300 outputs, so `/v1/restore` must take that many. */
const LIMITS = { maxInputs: 64, maxOutputs: 300 };
const INFO = {
  name: 'lancash test wide bank',
  version: 'lancash/0.1.0',
  nuts: {
    ...lightningNuts({ unit: 'eur' }),
    '7': { supported: true },
    '9': { supported: true },
    '12': { supported: true },
  },
};

describe('bolt11 routes over HTTP', () => {
  let store: TestStore;
  let mint: Mint;
  let app: LancashServer;
  let base: string;
  const minted: MintedEvent[] = [];
  const melted: MeltedEvent[] = [];

  const send = (method: 'GET' | 'POST', path: string, body?: unknown) => sendJson(base, method, path, body);
  /** Expects a 4xx refusal and returns its code. */
  const refusal = async (method: 'GET' | 'POST', path: string, body?: unknown) =>
    refusalCode(await send(method, path, body));

  beforeAll(async () => {
    store = await freshStore('sqlite');
    mint = await Mint.open({ store, unit: 'eur', curve, limits: LIMITS });
    app = await createServer({ name: 'wide-bank', logger: false, rateLimit: false });
    registerMintRoutes(app, { mint, info: () => INFO });
    registerLightningRoutes(app, {
      mint,
      store,
      unit: 'eur',
      backend: createFakeLightning(),
      hooks: {
        onMinted: async (_trx, e) => void minted.push(e),
        onMelted: async (_trx, e) => void melted.push(e),
      },
    });
    base = await listen(app, '127.0.0.1:0');
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('answers quotes, mints and melts in the NUT-23 shapes', async () => {
    const q = await send('POST', '/v1/mint/quote/bolt11', { amount: 5, unit: 'eur', description: 'hi' });
    expect(q.status).toBe(200);
    expect(Object.keys(q.json).sort()).toEqual(
      ['amount', 'amount_issued', 'amount_paid', 'expiry', 'quote', 'request', 'state', 'unit'].sort(),
    );
    expect(q.json).toMatchObject({ amount: 5, unit: 'eur', state: 'UNPAID' });
    expect((await send('GET', `/v1/mint/quote/bolt11/${q.json.quote}`)).json.state).toBe('PAID');
    const outs = makeOutputs(curve, mint.keysets.current().id, [1, 4]);
    const m = await send('POST', '/v1/mint/bolt11', {
      quote: q.json.quote,
      outputs: outs.map((o) => o.message),
    });
    expect(m.status).toBe(200);
    expect(m.json.signatures.map((s: { amount: number }) => s.amount)).toEqual([1, 4]);

    const { request: invoice } = await createFakeLightning().createInvoice({ amount: 3 });
    const mq = await send('POST', '/v1/melt/quote/bolt11', { request: invoice, unit: 'eur' });
    expect(mq.json).toEqual({
      quote: mq.json.quote,
      request: invoice,
      amount: 3,
      unit: 'eur',
      fee_reserve: 2,
      state: 'UNPAID',
      expiry: mq.json.expiry,
      payment_preimage: null,
    });
    const inputs = await issue(curve, mint, [4, 1]);
    const blank = makeOutputs(curve, mint.keysets.current().id, [1]).map((o) => ({
      ...o.message,
      amount: 0,
    }));
    const paid = await send('POST', '/v1/melt/bolt11', { quote: mq.json.quote, inputs, outputs: blank });
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
    expect(paid.json).toMatchObject({ state: 'PAID', amount: 3, fee_reserve: 2 });
    expect(paid.json.change.map((s: { amount: number }) => s.amount)).toEqual([2]);
    expect((await send('GET', `/v1/melt/quote/bolt11/${mq.json.quote}`)).json).toEqual(paid.json);
  });

  it('refuses bad requests with Cashu codes, 4xx only', async () => {
    expect(await refusal('POST', '/v1/mint/quote/bolt11', { amount: 0, unit: 'eur' })).toBe(11006);
    expect(await refusal('POST', '/v1/mint/quote/bolt11', { amount: 2 ** 64, unit: 'eur' })).toBe(11006);
    expect(await refusal('POST', '/v1/mint/quote/bolt11', { amount: 5, unit: 'sat' })).toBe(11013);
    const str = await send('POST', '/v1/mint/quote/bolt11', { amount: '5', unit: 'eur' });
    expect(str.json).toMatchObject({ code: 70000, info: { argument: 'body.amount' } });
    expect(await refusal('POST', '/v1/mint/quote/bolt11', { amount: 1.5, unit: 'eur' })).toBe(70000);
    expect(await refusal('GET', '/v1/mint/quote/bolt11/unknown')).toBe(72002);
    expect(await refusal('GET', '/v1/melt/quote/bolt11/unknown')).toBe(72002);
    const ks = mint.keysets.current().id;
    const many = makeOutputs(curve, ks, Array(301).fill(1)).map((o) => o.message);
    expect(await refusal('POST', '/v1/mint/bolt11', { quote: 'x', outputs: many })).toBe(11015);
    expect(await refusal('POST', '/v1/mint/bolt11', { quote: 'x', outputs: [] })).toBe(70006);
    expect(await refusal('POST', '/v1/melt/bolt11', { quote: 'x', inputs: [] })).toBe(70006);
    const [p] = await issue(curve, mint, [1]);
    const blanks = many.slice(0, 65); // NUT-08 needs at most 64 blank outputs
    expect(await refusal('POST', '/v1/melt/bolt11', { quote: 'x', inputs: [p], outputs: blanks })).toBe(
      11015,
    );
    expect(await refusal('POST', '/v1/melt/quote/bolt11', { request: 'lnbc1xyz', unit: 'eur' })).toBe(70000);
    expect(await refusal('POST', '/v1/melt/quote/bolt11', { request: 'x'.repeat(7500), unit: 'eur' })).toBe(
      70000,
    );
    const q = (await send('POST', '/v1/mint/quote/bolt11', { amount: 2, unit: 'eur' })).json.quote;
    const two = makeOutputs(curve, ks, [1]).map((o) => o.message);
    expect(await refusal('POST', '/v1/mint/bolt11', { quote: q, outputs: two })).toBe(11005);
    expect((await send('GET', '/healthz')).status).toBe(200);
  });

  it('describes every bolt11 route in the OpenAPI document', async () => {
    const doc = (await send('GET', '/docs/json')).json;
    for (const p of ['/v1/mint/quote/bolt11', '/v1/mint/bolt11', '/v1/melt/quote/bolt11', '/v1/melt/bolt11'])
      expect(doc.paths[p]?.post?.requestBody, p).toBeDefined();
    for (const p of ['/v1/mint/quote/bolt11/{quote_id}', '/v1/melt/quote/bolt11/{quote_id}'])
      expect(doc.paths[p]?.get, p).toBeDefined();
  });

  it('serves cashu-ts 4 end to end: mint, send, receive, check, melt, restore from seed', async () => {
    const { mintQuote, meltQuote } = await cashuTsFlow(base);
    // The hooks saw the money enter and leave.
    expect(minted).toContainEqual({ quote: mintQuote, amount: 100 });
    expect(melted).toContainEqual({ quote: meltQuote, amount: 21, fee: 0, kept: 0 });
  });
});
