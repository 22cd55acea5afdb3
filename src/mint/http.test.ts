/**
 * The Cashu mint endpoints over real HTTP on a SQLite mint: every route's answer in the spec's
 * shape, refusals with their Cashu codes, hostile bodies answered 4xx, and cashu-ts 4 using the
 * mint as an ordinary Cashu wallet would (load keys, send, receive, check states).
 */
import { getEncodedToken, Wallet } from '@cashu/cashu-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../core/bytes.js';
import { p2pkSecret } from '../core/conditions/secret.js';
import { p2pkPublicKey, signInputs } from '../core/conditions/sign.js';
import { defaultCurve } from '../core/crypto/index.js';
import { createServer, type LancashServer, listen } from '../core/http/server.js';
import type { BlindedMessage, BlindSignature, Proof } from '../core/protocol/cashu.js';
import { freshStore, type TestStore } from '../test-support/dialects.js';
import { refusalCode, sendJson } from '../test-support/http.js';
import { issue, issueSecrets, makeOutputs, toProofs } from '../test-support/notes.js';
import { registerMintRoutes } from './http.js';
import { Mint } from './mint.js';

const curve = defaultCurve();
const LIMITS = { maxInputs: 8, maxOutputs: 8 };
const INFO = {
  name: 'lancash test mint',
  version: 'lancash/0.1.0',
  nuts: {
    '4': { methods: [], disabled: true },
    '5': { methods: [], disabled: true },
    '7': { supported: true },
    '9': { supported: true },
    '12': { supported: true },
  },
};

describe('mint HTTP routes', () => {
  let store: TestStore;
  let mint: Mint;
  let app: LancashServer;
  let base: string;

  const send = (method: 'GET' | 'POST', path: string, body?: unknown) => sendJson(base, method, path, body);
  /** Posts and expects a refusal: returns the Cashu/lancash code, failing on a 2xx or a 5xx. */
  const refusal = async (path: string, body: unknown) => refusalCode(await send('POST', path, body));

  const outputsFor = (amounts: number[]) => makeOutputs(curve, mint.keysets.current().id, amounts);
  const messages = (outs: { message: BlindedMessage }[]) => outs.map((o) => o.message);
  const yOf = async (p: Proof) => (await mint.prepareInputs([p])).Ys[0]!;

  beforeAll(async () => {
    store = await freshStore('sqlite');
    mint = await Mint.open({ store, unit: 'eur', curve, limits: LIMITS });
    app = await createServer({ name: 'mint', logger: false, rateLimit: false });
    registerMintRoutes(app, { mint, info: () => INFO });
    base = await listen(app, '127.0.0.1:0');
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('GET /v1/info answers the role’s NUT-06 body', async () => {
    const r = await send('GET', '/v1/info');
    expect(r.status).toBe(200);
    expect(r.json).toEqual(INFO);
  });

  it('GET /v1/keys answers the active keyset, amounts as decimal strings (NUT-01)', async () => {
    const r = await send('GET', '/v1/keys');
    expect(r.status).toBe(200);
    const ks = mint.keysets.current();
    expect(r.json.keysets).toHaveLength(1);
    const [k] = r.json.keysets;
    expect(k).toMatchObject({ id: ks.id, unit: 'eur', active: true, input_fee_ppk: 0 });
    expect(Object.keys(k.keys)).toEqual([...ks.publicKeys.keys()].map(String));
    expect(k.keys['1']).toBe(bytesToHex(ks.publicKeys.get(1)!));
    expect(k.keys[String(2 ** 31)]).toBe(bytesToHex(ks.publicKeys.get(2 ** 31)!));
  });

  it('GET /v1/keysets lists every keyset with its fee (NUT-02)', async () => {
    const r = await send('GET', '/v1/keysets');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      keysets: mint.keysets.all().map((k) => ({ id: k.id, unit: 'eur', active: k.active, input_fee_ppk: 0 })),
    });
  });

  it('GET /v1/keys/:keyset_id answers a known keyset and 12001 for an unknown one', async () => {
    const ks = mint.keysets.current();
    const r = await send('GET', `/v1/keys/${ks.id}`);
    expect(r.status).toBe(200);
    expect(r.json.keysets[0].id).toBe(ks.id);
    const unknown = await send('GET', '/v1/keys/00ffffffffffffff');
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ code: 12001, error: 'KeysetUnknown' });
  });

  it('POST /v1/swap signs outputs for inputs; the new notes spend, the old ones are spent (NUT-03)', async () => {
    const inputs = await issue(curve, mint, [1, 4, 8]);
    const outs = outputsFor([1, 2, 2, 8]);
    const r = await send('POST', '/v1/swap', { inputs, outputs: messages(outs) });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const signatures: BlindSignature[] = r.json.signatures;
    expect(signatures.map((s) => s.amount)).toEqual([1, 2, 2, 8]);
    expect(signatures.every((s) => s.dleq?.e && s.dleq?.s)).toBe(true);
    const fresh = toProofs(curve, mint, outs, signatures);
    expect(
      (await send('POST', '/v1/swap', { inputs: fresh, outputs: messages(outputsFor([1, 4, 8])) })).status,
    ).toBe(200);
    expect(await refusal('/v1/swap', { inputs, outputs: messages(outputsFor([1, 4, 8])) })).toBe(11001);
  });

  it('POST /v1/checkstate reports UNSPENT, SPENT and PENDING by Y (NUT-07)', async () => {
    const [a, b, c] = await issue(curve, mint, [1, 2, 4]);
    await send('POST', '/v1/swap', { inputs: [a], outputs: messages(outputsFor([1])) });
    const pending = await mint.prepareInputs([c!]);
    await store.transaction((trx) => mint.commitInputs(trx, pending, 'job-1', 'pending'));
    const Ys = [await yOf(a!), await yOf(b!), pending.Ys[0]!];
    const r = await send('POST', '/v1/checkstate', { Ys });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      states: [
        { Y: Ys[0], state: 'SPENT', witness: null },
        { Y: Ys[1], state: 'UNSPENT', witness: null },
        { Y: Ys[2], state: 'PENDING', witness: null },
      ],
    });
    expect((await send('POST', '/v1/checkstate', { Ys: [] })).json).toEqual({ states: [] });
  });

  it('POST /v1/restore returns the signatures once given, leaving out unknown outputs (NUT-09)', async () => {
    const inputs = await issue(curve, mint, [2]);
    const outs = outputsFor([1, 1]);
    const swapped = await send('POST', '/v1/swap', { inputs, outputs: messages(outs) });
    const never = outputsFor([1]);
    const r = await send('POST', '/v1/restore', { outputs: [...messages(never), ...messages(outs)] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ outputs: messages(outs), signatures: swapped.json.signatures });
  });

  it('refuses bad swaps with the Cashu codes', async () => {
    const [p1, p2] = await issue(curve, mint, [1, 2]);
    const out = messages(outputsFor([1]));
    const nine = messages(outputsFor(Array(9).fill(1)));
    expect(await refusal('/v1/swap', { inputs: [p1, p2], outputs: out })).toBe(11005); // unbalanced
    expect(await refusal('/v1/swap', { inputs: [p1, p1], outputs: messages(outputsFor([2])) })).toBe(11007);
    expect(await refusal('/v1/swap', { inputs: Array(9).fill(p1), outputs: out })).toBe(11014);
    expect(await refusal('/v1/swap', { inputs: [p1], outputs: nine })).toBe(11015);
    expect(await refusal('/v1/swap', { inputs: [], outputs: out })).toBe(70006);
    expect(await refusal('/v1/swap', { inputs: [{ ...p1, id: '00ffffffffffffff' }], outputs: out })).toBe(
      12001,
    );
    expect(await refusal('/v1/swap', { inputs: [{ ...p1, C: p2!.C }], outputs: out })).toBe(10001);
    expect(await refusal('/v1/checkstate', { Ys: Array(9).fill('02'.padEnd(66, 'a')) })).toBe(11014);
    expect(await refusal('/v1/restore', { outputs: [] })).toBe(70006);
    // None of the refusals spent anything.
    expect((await send('POST', '/v1/checkstate', { Ys: [await yOf(p1!)] })).json.states[0].state).toBe(
      'UNSPENT',
    );
  });

  it('refuses malformed and hostile bodies with 4xx and a code naming the path', async () => {
    const [p] = await issue(curve, mint, [1]);
    const out = messages(outputsFor([1]));
    const bad = async (body: unknown) => {
      const r = await send('POST', '/v1/swap', body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      return r.json;
    };
    expect((await bad({ inputs: [{ ...p, C: 'zz' }], outputs: out })).info.argument).toBe('body.inputs.0.C');
    expect((await bad({ inputs: [{ ...p, amount: '1' }], outputs: out })).info.argument).toBe(
      'body.inputs.0.amount',
    );
    const overflow = JSON.stringify({ inputs: [p], outputs: [{ ...out[0], amount: 777 }] });
    const infinite = await bad(overflow.replace('"amount":777', '"amount":1e400'));
    expect(infinite.info.argument).toBe('body.outputs.0.amount');
    expect((await bad('{"inputs":[],"outputs":[],"__proto__":{"x":1}}')).code).toBe(70000);
    expect((await bad({ inputs: p, outputs: out })).info.argument).toBe('body.inputs');
    const deep = 10_000; // under this route's body limit, so it reaches the parser and the schema
    const nested = `{"inputs":${'['.repeat(deep)}${']'.repeat(deep)},"outputs":${JSON.stringify(out)}}`;
    expect((await bad(nested)).info.argument).toBe('body.inputs.0');
    expect((await bad({ inputs: [{ ...p, secret: 'x'.repeat(2000) }], outputs: out })).code).toBe(70000);
    const huge = await send('POST', '/v1/swap', {
      inputs: [{ ...p, secret: 'x'.repeat(8 * 1024 * 1024) }],
      outputs: out,
    });
    expect(huge.status).toBe(413);
    expect(huge.json.code).toBe(72004);
    expect((await send('POST', '/v1/checkstate', { Ys: ['x'.repeat(100_000)] })).status).toBe(413);
    expect((await send('POST', '/v1/restore', { outputs: 'nope' })).json.info.argument).toBe('body.outputs');
  });

  it('refuses hostile NUT-10/11/14 input with 4xx and a stable code, nothing written', async () => {
    const key = bytesToHex(new Uint8Array(32).fill(7));
    const [locked, spare] = await issueSecrets(curve, mint, [
      p2pkSecret({ pubkey: p2pkPublicKey(key) }),
      bytesToHex(new Uint8Array(32).fill(9)),
    ]);
    const out = messages(outputsFor([4]));
    const sig = 'ab'.repeat(64);
    const rows = async () => (await store.db.selectFrom('mint_proofs').select('y').execute()).length;
    const before = await rows();
    const cases: [string, unknown, number][] = [
      ['no witness', locked, 10001],
      ['malformed secret', { ...spare, secret: '["HTLC",{"nonce":"n","data":"00"}]' }, 70020],
      ['witness not JSON', { ...locked, witness: '{' }, 70021],
      [
        '10^4 signatures',
        { ...locked, witness: JSON.stringify({ signatures: Array(10_000).fill(sig) }) },
        72004,
      ],
      [
        'no Schnorr signature',
        { ...locked, witness: JSON.stringify({ signatures: ['ff'.repeat(64)] }) },
        10001,
      ],
    ];
    for (const [name, input, code] of cases) {
      const r = await send('POST', '/v1/swap', { inputs: [input], outputs: out });
      expect([r.status, r.json.code], name).toEqual([code === 72004 ? 413 : 400, code]);
    }
    expect(await rows()).toBe(before);
    const spent = signInputs([locked!], key);
    expect((await send('POST', '/v1/swap', { inputs: spent, outputs: out })).status).toBe(200);
  });

  it('describes every mint route in the OpenAPI document', async () => {
    const doc = (await send('GET', '/docs/json')).json;
    for (const p of ['/v1/info', '/v1/keys', '/v1/keys/{keyset_id}', '/v1/keysets'])
      expect(doc.paths[p]?.get).toBeDefined();
    for (const p of ['/v1/swap', '/v1/checkstate', '/v1/restore'])
      expect(doc.paths[p]?.post?.requestBody).toBeDefined();
    expect(doc.paths['/v1/swap'].post.responses['200']).toBeDefined();
  });

  it('serves cashu-ts 4 as a Cashu wallet: load, send, receive, check states', async () => {
    const proofs = await issue(curve, mint, [8]);
    const wallet = new Wallet(base, { unit: 'eur' });
    await wallet.loadMint();
    const { keep, send: sent } = await wallet.send(5, proofs);
    const total = (ps: { amount: unknown }[]) => ps.reduce((n, p) => n + Number(p.amount), 0);
    expect(total(sent)).toBe(5);
    expect(total(keep)).toBe(3); // the 8 was swapped for 5 + 3
    const token = getEncodedToken({ mint: base, unit: 'eur', proofs: sent });
    const receiver = new Wallet(base, { unit: 'eur' });
    await receiver.loadMint();
    const received = await receiver.receive(token);
    expect(total(received)).toBe(5);
    const states = await wallet.checkProofsStates([...proofs, ...sent, ...keep, ...received]);
    expect(states.map((s) => s.state)).toEqual([
      'SPENT',
      ...sent.map(() => 'SPENT'),
      ...keep.map(() => 'UNSPENT'),
      ...received.map(() => 'UNSPENT'),
    ]);
  });

  it('after a rotation, /v1/keys shows only the new keyset and the old one stays known', async () => {
    const old = mint.keysets.current();
    const fresh = await mint.keysets.rotate({ inputFeePpk: 100 });
    const keys = await send('GET', '/v1/keys');
    expect(keys.json.keysets.map((k: { id: string }) => k.id)).toEqual([fresh.id]);
    expect(keys.json.keysets[0].input_fee_ppk).toBe(100);
    const sets = (await send('GET', '/v1/keysets')).json.keysets;
    expect(sets).toContainEqual({ id: old.id, unit: 'eur', active: false, input_fee_ppk: 0 });
    expect(sets).toContainEqual({ id: fresh.id, unit: 'eur', active: true, input_fee_ppk: 100 });
    const oldKeys = await send('GET', `/v1/keys/${old.id}`);
    expect(oldKeys.json.keysets[0]).toMatchObject({ id: old.id, active: false });
  });
});
