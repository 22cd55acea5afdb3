/**
 * A note whose secret holds NUL (U+0000). The mint signs blinded messages and never sees a secret, so
 * anyone can hold such a note; PostgreSQL's `text` and `jsonb` cannot store NUL, SQLite can. Spending
 * it must answer alike on both dialects: 400 `InvalidString` at the JSON edge, before any work,
 * nothing written, the note still unspent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import { createServer, type LancashServer, listen } from '../core/http/server.js';
import { DIALECTS, freshStore, type TestStore } from '../test-support/dialects.js';
import { sendJson } from '../test-support/http.js';
import { issueSecrets, makeOutputs } from '../test-support/notes.js';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';
import { registerLightningRoutes } from '../wide-bank/lightning/http.js';
import { registerMintRoutes } from './http.js';
import { Mint } from './mint.js';

const curve = defaultCurve();

describe.each(DIALECTS)('a note whose secret holds NUL, on %s', (dialect) => {
  let store: TestStore;
  let mint: Mint;
  let app: LancashServer;
  let base: string;

  beforeAll(async () => {
    store = await freshStore(dialect);
    mint = await Mint.open({ store, unit: 'eur', curve, limits: { maxInputs: 8, maxOutputs: 8 } });
    app = await createServer({ name: 'mint', logger: false, rateLimit: false });
    registerMintRoutes(app, { mint, info: () => ({ name: 'nul', version: 'lancash/test', nuts: {} }) });
    registerLightningRoutes(app, { mint, store, unit: 'eur', backend: createFakeLightning() });
    base = await listen(app, '127.0.0.1:0');
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('is refused 400 InvalidString in a swap, and the note stays unspent', async () => {
    const [note] = await issueSecrets(curve, mint, ['lancash\u0000nul'], 4);
    const outputs = makeOutputs(curve, mint.keysets.current().id, [4]).map((o) => o.message);
    const swap = await sendJson(base, 'POST', '/v1/swap', { inputs: [note], outputs });
    expect(swap.status, JSON.stringify(swap.json)).toBe(400);
    expect(swap.json).toMatchObject({
      code: 70011,
      error: 'InvalidString',
      info: { argument: 'body.inputs.0.secret', reason: 'NUL (U+0000) at index 7 of the string' },
    });
    // Nothing was written: the note is unspent and no signature was stored.
    const [Y] = (await mint.prepareInputs([note!])).Ys;
    const state = await sendJson(base, 'POST', '/v1/checkstate', { Ys: [Y] });
    expect(state.json.states).toEqual([{ Y, state: 'UNSPENT', witness: null }]);
    const restored = await sendJson(base, 'POST', '/v1/restore', { outputs });
    expect(restored.json.signatures).toEqual([]);
  });

  it('is refused in a path parameter that reaches the store (a quote id), 400 not 500', async () => {
    const r = await sendJson(base, 'GET', '/v1/mint/quote/bolt11/quote%00id');
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect(r.json).toMatchObject({ code: 70011, error: 'InvalidString', info: { argument: 'url' } });
    // Without NUL the same lookup is an ordinary refusal (unknown quote), on both dialects.
    const unknown = await sendJson(base, 'GET', '/v1/mint/quote/bolt11/quote%01id');
    expect([unknown.status, unknown.json.error, unknown.json.info]).toEqual([
      404,
      'NotFound',
      { what: 'mint quote', id: 'quote\u0001id' },
    ]);
  });
});
