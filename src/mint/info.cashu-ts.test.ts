/**
 * Against real processes (the wide bank and the gateway's local mint):
 * - `GET /v1/info` tells the truth: the Cashu routes each server registers (its OpenAPI document,
 *   built from Fastify's route table) are exactly the routes its advertised NUTs promise, and the
 *   settings and top-level fields a wallet reads are what the server does (NUT-06).
 * - NUT-19: an identical swap replay answers the identical body on both mints.
 * - NUT-20 with `@cashu/cashu-ts` 4 as the client at the wide bank: a valid, a missing and a wrong
 *   signature.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from '@cashu/cashu-ts';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultCurve } from '../core/crypto/index.js';
import { isMintQuotePubkey, mintQuotePubkey } from '../core/crypto/nut20.js';
import type { Proof } from '../core/protocol/cashu.js';
import { cashuRefusal as refusal } from '../test-support/cashu-ts-mints.js';
import { fundLocal, type ProcessNet, startProcessNet } from '../test-support/gateway-process.js';
import { refusalCode, sendJson } from '../test-support/http.js';
import { makeOutputs, stateOf } from '../test-support/notes.js';
import { type Started, startProcess } from '../test-support/process.js';
import { Terminal } from '../test-support/terminal.js';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';
import { cachedRoutes, isCashuRoute, promisedRoutes, type Route } from './nuts.js';

const curve = defaultCurve();
const total = (ps: readonly { amount: unknown }[]) => ps.reduce((n, p) => n + Number(p.amount), 0);

let net: ProcessNet;
/** A wide bank with no Lightning backend (`--lightning none`): NUT-04/05 disabled. */
let unlit: Started;
const unlitData = mkdtempSync(join(tmpdir(), 'lancash-unlit-'));
beforeAll(async () => {
  net = await startProcessNet();
  unlit = await startProcess([
    'wide-bank',
    '--lightning',
    'none',
    '--listen',
    '127.0.0.1:0',
    '--data',
    unlitData,
  ]);
}, 120_000);
afterAll(async () => {
  await unlit?.kill();
  await net?.close();
  rmSync(unlitData, { recursive: true, force: true });
});

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await request(url);
  expect(res.statusCode, url).toBe(200);
  return (await res.body.json()) as Record<string, unknown>;
}

/** Whether a WebSocket opens at `base`/v1/ws (NUT-17; @fastify/swagger leaves WebSocket routes out). */
function servesWebSocket(base: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`);
    ws.once('open', () => {
      ws.close();
      resolve(true);
    });
    ws.once('unexpected-response', (req) => {
      req.destroy();
      resolve(false);
    });
    ws.once('error', () => resolve(false));
  });
}

/**
 * The routes a server registered: its OpenAPI document (Fastify's route table via @fastify/swagger),
 * plus the WebSocket route when one answers.
 */
async function servedRoutes(base: string): Promise<Route[]> {
  const doc = (await getJson(`${base}/docs/json`)) as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
  );
  if (await servesWebSocket(base)) routes.push('GET /v1/ws');
  return routes;
}

interface MintUnderTest {
  name: string;
  url(): string;
  /** Where its OpenAPI document is served. */
  docs(): string;
  /** Fresh notes of `amount` at this mint, as a cashu-ts wallet holds them. */
  funded(amount: number): Promise<Proof[]>;
}

const wideBank: MintUnderTest = {
  name: 'the wide bank',
  url: () => net.bankUrl,
  docs: () => net.bankUrl,
  async funded(amount) {
    const wallet = new Wallet(net.bankUrl, { unit: 'eur' });
    await wallet.loadMint();
    const quote = await wallet.createMintQuoteBolt11(amount);
    const proofs = await wallet.mintProofsBolt11(amount, quote.quote);
    return proofs.map((p) => ({ id: p.id, amount: Number(p.amount), secret: p.secret, C: p.C }));
  },
};

const localMint: MintUnderTest = {
  name: "the gateway's local mint",
  url: () => net.lan,
  docs: () => net.lan,
  async funded(amount) {
    const holder = await Terminal.create('lan');
    await fundLocal(net, await Terminal.create('wan'), await Terminal.create('lan'), [
      { terminal: holder, amount },
    ]);
    return holder.takeAll(net.lan);
  },
};

const bankWithoutLightning: MintUnderTest = {
  name: 'the wide bank without Lightning',
  url: () => unlit.url,
  docs: () => unlit.url,
  funded: () => Promise.reject(new Error('no bolt11 here')),
};

const SUPPORTED_ONLY = ['7', '8', '9', '10', '11', '12', '14', '20'];
const KNOWN_COMMANDS = ['bolt11_mint_quote', 'bolt11_melt_quote', 'proof_state'];

describe.each([wideBank, bankWithoutLightning, localMint])('GET /v1/info tells the truth on $name', (m) => {
  let info: Record<string, unknown>;
  let nuts: Record<string, unknown>;
  let served: Route[];
  let unit: string;

  beforeAll(async () => {
    info = await getJson(`${m.url()}/v1/info`);
    nuts = info.nuts as Record<string, unknown>;
    served = await servedRoutes(m.docs());
    const keysets = (await getJson(`${m.url()}/v1/keysets`)).keysets as { unit: string }[];
    unit = keysets[0]!.unit;
  });

  it('every advertised NUT has its routes served, and every served Cashu route is advertised', () => {
    const promised = promisedRoutes(nuts);
    const missing = [...promised.keys()].filter((r) => !served.includes(r));
    expect(missing, 'advertised but not served').toEqual([]);
    const unlisted = served.filter((r) => isCashuRoute(r) && !promised.has(r));
    expect(unlisted, 'served but not advertised').toEqual([]);
    // NUT-19's cached endpoints are served operations.
    for (const r of cachedRoutes(nuts)) expect(promised.get(r), r).toBeDefined();
  });

  it('settings follow NUT-06 and each NUT', () => {
    for (const n of SUPPORTED_ONLY) if (n in nuts) expect(nuts[n], `NUT-${n}`).toEqual({ supported: true });
    // Not served by either mint: nothing may claim it.
    for (const n of ['15', '21', '22', '29']) expect(nuts, `NUT-${n}`).not.toHaveProperty(n);
    for (const n of ['4', '5']) {
      const e = nuts[n] as { methods: Record<string, unknown>[]; disabled: boolean };
      expect(e, `NUT-${n} is listed (disabled when not served)`).toBeDefined();
      expect(e.disabled).toBe(e.methods.length === 0);
      for (const method of e.methods) {
        expect(method.method).toBe('bolt11');
        expect(method.unit).toBe(unit);
        expect(Number.isSafeInteger(method.min_amount)).toBe(true);
        expect(Number.isSafeInteger(method.max_amount)).toBe(true);
        expect(method.min_amount as number).toBeLessThanOrEqual(method.max_amount as number);
        if (n === '4') expect(method.description).toBe(true);
      }
    }
    const mintable = (nuts['4'] as { methods: unknown[] }).methods.length > 0;
    // NUT-08 change and NUT-20 locks only where melting and minting are served.
    expect('8' in nuts).toBe((nuts['5'] as { methods: unknown[] }).methods.length > 0);
    expect('20' in nuts).toBe(mintable);
    if ('17' in nuts) {
      for (const s of (nuts['17'] as { supported: Record<string, unknown>[] }).supported) {
        expect(s.unit).toBe(unit);
        expect(s.method).toBe('bolt11');
        for (const c of s.commands as string[]) expect(KNOWN_COMMANDS).toContain(c);
        if (!mintable) expect(s.commands).toEqual(['proof_state']);
      }
    }
    if ('19' in nuts) {
      const e = nuts['19'] as { ttl: unknown; cached_endpoints: { method: string; path: string }[] };
      expect(e.ttl === null || Number.isSafeInteger(e.ttl)).toBe(true);
      expect(e.cached_endpoints.length).toBeGreaterThan(0);
    }
  });

  it('NUT-04/05 amount limits are the ones the quotes keep', async () => {
    const limits = (n: string) =>
      (nuts[n] as { methods: { unit: string; min_amount: number; max_amount: number }[] }).methods;
    for (const { unit: u, min_amount: min, max_amount: max } of limits('4')) {
      const quote = (amount: number) =>
        sendJson(m.url(), 'POST', '/v1/mint/quote/bolt11', { amount, unit: u });
      expect((await quote(min)).status).toBe(200);
      expect((await quote(max)).status).toBe(200);
      expect(refusalCode(await quote(min - 1))).toBe(11006);
      expect(refusalCode(await quote(max + 1))).toBe(11006);
    }
    for (const { unit: u, max_amount: max } of limits('5')) {
      const { request: invoice } = await createFakeLightning().createInvoice({ amount: max + 1 });
      const r = await sendJson(m.url(), 'POST', '/v1/melt/quote/bolt11', { request: invoice, unit: u });
      expect(refusalCode(r)).toBe(11006);
    }
  });

  it('the top-level fields a wallet reads are well-formed', () => {
    expect(typeof info.name).toBe('string');
    expect(info.version).toMatch(/^lancash\/\d+\.\d+\.\d+/);
    expect(typeof info.description).toBe('string');
    if ('pubkey' in info) expect(isMintQuotePubkey(info.pubkey as string)).toBe(true);
    if ('contact' in info) {
      for (const c of info.contact as { method: unknown; info: unknown }[]) {
        expect(typeof c.method).toBe('string');
        expect(typeof c.info).toBe('string');
      }
    }
    if ('motd' in info) expect(typeof info.motd).toBe('string');
    if ('time' in info) expect(Number.isSafeInteger(info.time)).toBe(true);
  });
});

describe.each([wideBank, localMint])('NUT-19 on $name: an identical swap replay', (m) => {
  it('answers the identical body (with NUT-12 DLEQ proofs) and spends nothing more', async () => {
    const inputs = await m.funded(8);
    expect(total(inputs)).toBe(8);
    const { keysets } = (await getJson(`${m.url()}/v1/keysets`)) as {
      keysets: { id: string; active: boolean }[];
    };
    const id = keysets.find((k) => k.active)!.id;
    const amounts = inputs.map((p) => p.amount);
    const body = { inputs, outputs: makeOutputs(curve, id, amounts).map((o) => o.message) };
    const first = await sendJson(m.url(), 'POST', '/v1/swap', body);
    expect(first.status).toBe(200);
    for (const s of first.json.signatures) expect(s.dleq.e).toMatch(/^[0-9a-f]{64}$/);
    const again = await sendJson(m.url(), 'POST', '/v1/swap', body);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(await stateOf(m.url(), inputs)).toEqual(inputs.map(() => 'SPENT'));
  });
});

describe('NUT-20 with cashu-ts at the wide bank', () => {
  it('a locked quote mints with a valid signature only; a missing or wrong one is refused (20008)', async () => {
    const wallet = new Wallet(net.bankUrl, { unit: 'eur' });
    await wallet.loadMint();
    expect(wallet.getMintInfo().isSupported(20).supported).toBe(true);
    const key = schnorr.utils.randomSecretKey();
    const pubkey = mintQuotePubkey(key);
    const quote = await wallet.createLockedMintQuote(12, pubkey);
    expect(quote.pubkey).toBe(pubkey);
    expect((await wallet.checkMintQuoteBolt11(quote.quote)).state).toBe('PAID');
    // Missing: the quote named by its id alone, so cashu-ts signs nothing.
    expect(await refusal(wallet.mintProofsBolt11(12, quote.quote))).toBe(20008);
    // Wrong: signed by another key (cashu-ts retries in the earlier message form; refused too).
    const other = bytesToHex(schnorr.utils.randomSecretKey());
    expect(await refusal(wallet.mintProofsBolt11(12, quote.quote, { privkey: other }))).toBe(20008);
    expect((await wallet.checkMintQuoteBolt11(quote.quote)).state).toBe('PAID');
    // Valid: the quote's own key.
    const proofs = await wallet.mintProofsBolt11(12, quote, { privkey: bytesToHex(key) });
    expect(total(proofs)).toBe(12);
    expect((await wallet.checkMintQuoteBolt11(quote.quote)).state).toBe('ISSUED');
  });
});
