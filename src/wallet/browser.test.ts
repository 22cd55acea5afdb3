/**
 * The proof that the wallet core runs in a browser, beyond `portable.test.ts`'s reading of imports:
 * esbuild bundles `index.ts` for the browser (ESM, nothing marked external), which fails when any Node
 * builtin is reachable, and the bundle then runs in a `node:vm` context that holds only web globals,
 * against a real wide bank: a wallet mints over fake Lightning, pays a second wallet through the
 * mailbox, and the second receives. The mint then confirms every note either wallet holds is unspent.
 * It runs in a secure context and as a page on an insecure origin (plain http to a LAN address), whose
 * `crypto` has `getRandomValues` and no `subtle`; then in Debian's chromium on such an origin.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { type BuildOptions, type BuildResult, build, transform } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, describeInBrowser } from '../test-support/browser.js';
import { killAll, REPO_ROOT, type Started, startProcess } from '../test-support/process.js';
import { curve } from '../test-support/wallet.js';
import { httpNet } from './http-net.js';
import { MintClient } from './mint-client.js';

/** The browser build a web UI would make: one ESM file, every import resolved into it. */
const BROWSER: BuildOptions = {
  absWorkingDir: REPO_ROOT,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  write: false,
  metafile: true,
  logLevel: 'silent',
};

type Built = BuildResult<{ write: false; metafile: true }>;

/** The build's result, or the texts of its errors. */
async function bundle(o: BuildOptions): Promise<Built | string[]> {
  try {
    return (await build({ ...BROWSER, ...o })) as Built;
  } catch (e) {
    const errors = (e as { errors?: { text: string }[] }).errors;
    if (errors === undefined) throw e;
    return errors.map((x) => x.text);
  }
}

/** Imports esbuild left to run time (a browser build resolves everything else, or fails). */
function leftExternal(r: Built): string[] {
  return Object.entries(r.metafile.inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => i.external).map((i) => `${file} → ${i.kind} ${i.path}`),
  );
}

/**
 * Runs in the page: two terminals on memory stores and `httpNet()`, nothing else handed in. Plain
 * JavaScript in a string, so what runs is exactly the bundle and this.
 */
const SCENARIO = `async (W, mint) => {
  const terminal = async () => {
    const store = new W.MemoryWalletStore();
    const { wallet } = await W.Wallet.create({ store, net: W.httpNet(), network: 'wan', mint });
    return { store, wallet };
  };
  const alice = await terminal();
  const bob = await terminal();
  const minted = await alice.wallet.mintFromLightning(100);
  const sent = await alice.wallet.send({ to: bob.wallet.address, amount: 37, memo: 'from the page' });
  const got = await bob.wallet.receive();
  const unspent = async (t) => (await t.store.notes()).filter((n) => n.state === 'unspent').map((n) => n.Y);
  return JSON.stringify({
    subtle: typeof crypto.subtle,
    nodeGlobals: [typeof process, typeof Buffer, typeof require, typeof global, typeof setImmediate],
    minted: [minted.state, minted.amount],
    sent: [sent.state, sent.amount],
    received: got.received.map((o) => [o.state, o.amount, o.memo]),
    balances: [await alice.wallet.balance(), await bob.wallet.balance()],
    Ys: [...(await unspent(alice)), ...(await unspent(bob))],
  });
}`;

/**
 * A page: the web platform's globals and nothing of Node's. A vm context is a realm of its own with
 * its own `Uint8Array` and `ArrayBuffer`, which a page never has to cross: the host's `TextEncoder`
 * would return host arrays (failing the page's `instanceof`), and the host's WebCrypto refuses the
 * page's `ArrayBuffer`s (it accepts views from any realm). So the page gets an encoder that copies
 * into its own arrays and a `crypto` that hands its buffers over as views; all else is the host's.
 * With `secure: false` it is a page on an insecure origin: `crypto.subtle` is undefined there.
 */
function newPage({ secure }: { secure: boolean }): object {
  const page = createContext({
    fetch,
    TextDecoder,
    URL,
    AbortController,
    AbortSignal,
    setTimeout,
    clearTimeout,
    console,
    structuredClone,
    atob,
    btoa,
    host: { encoder: new TextEncoder(), crypto, secure },
  });
  runInContext(
    `{
      const { encoder, crypto, secure } = host;
      delete globalThis.host;
      globalThis.TextEncoder = class TextEncoder {
        get encoding() { return 'utf-8'; }
        encode(s = '') { return Uint8Array.from(encoder.encode(String(s))); }
      };
      const view = (x) => (x instanceof ArrayBuffer ? new Uint8Array(x) : x);
      // Algorithm parameters carry buffers too (HKDF's salt and info).
      const arg = (x) =>
        x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype
          ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, view(v)]))
          : view(x);
      const subtle = new Proxy({}, {
        get: (_, name) =>
          typeof crypto.subtle[name] === 'function'
            ? (...args) => crypto.subtle[name](...args.map(arg))
            : undefined,
      });
      globalThis.crypto = secure
        ? { subtle, getRandomValues: (a) => crypto.getRandomValues(a), randomUUID: () => crypto.randomUUID() }
        : { getRandomValues: (a) => crypto.getRandomValues(a) };
    }`,
    page,
  );
  return page;
}

const WALLET = resolve(REPO_ROOT, 'src/wallet/index.ts');
let built: Built;

beforeAll(async () => {
  const r = await bundle({ entryPoints: [WALLET] });
  if (Array.isArray(r)) throw new Error(`the browser build of the wallet failed:\n${r.join('\n')}`);
  built = r;
});

describe('the wallet bundled for the browser', () => {
  it('builds with nothing of Node reachable', () => {
    const inputs = Object.keys(built.metafile.inputs);
    expect(inputs).toContain('src/wallet/wallet.ts');
    expect(
      inputs.filter((f) => /\/node\/|node-transport|crypto\/native|crypto\/backend|undici/.test(f)),
    ).toEqual([]);
    // Nothing left to load at run time; HPKE is pure JavaScript (the noble libraries), no WebCrypto.
    expect(leftExternal(built)).toEqual([]);
    expect(inputs.filter((f) => f.includes('@hpke/'))).toEqual([]);
  });

  it.each([
    [
      'the native curve (node:module)',
      "export { loadNativeCurve } from './src/core/crypto/index.ts';",
      'node:module',
    ],
    ['the undici transport', "export { undiciTransport } from './src/core/http/node-transport.ts';", 'node:'],
  ])('fails the same build when the wallet is bundled with %s', async (_what, extra, missing) => {
    const r = await bundle({
      stdin: {
        contents: `export * from './src/wallet/index.ts';\n${extra}`,
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
    });
    expect(Array.isArray(r)).toBe(true);
    expect((r as string[]).some((text) => text.includes(`Could not resolve "${missing}`))).toBe(true);
  });
});

describe('the bundled wallet in a page', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-browser-'));
  let bank: Started;
  // The ESM bundle as a classic script (only its closing `export {…}` changes), since vm scripts
  // cannot be modules without a Node flag; it defines `lancashWallet`.
  let classic: string;

  beforeAll(async () => {
    bank = await startProcess(['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', '--data', dir]);
    classic = (await transform(built.outputFiles[0]!.text, { format: 'iife', globalName: 'lancashWallet' }))
      .code;
  });
  afterAll(async () => {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The scenario's outcome: both wallets paid, and the mint (asked from outside) holds their notes unspent. */
  async function expectPaid(json: string, subtle: 'object' | 'undefined'): Promise<void> {
    const out = JSON.parse(json) as {
      subtle: string;
      nodeGlobals: string[];
      minted: unknown[];
      sent: unknown[];
      received: unknown[][];
      balances: unknown[];
      Ys: string[];
    };
    expect(out.subtle).toBe(subtle);
    expect(out.nodeGlobals).toEqual(Array(5).fill('undefined'));
    expect(out.minted).toEqual(['done', 100]);
    expect(out.sent).toEqual(['done', 37]);
    expect(out.received).toEqual([['done', 37, 'from the page']]);
    expect(out.balances).toEqual([
      { unit: 'eur', available: 63, pending: 0 },
      { unit: 'eur', available: 37, pending: 0 },
    ]);
    expect(out.Ys.length).toBeGreaterThan(1);
    const states = await new MintClient(httpNet(), bank.url, 'eur', curve).checkState(out.Ys);
    expect(states).toEqual(out.Ys.map(() => 'UNSPENT'));
  }

  it.each([
    ['a secure context', true],
    ['an insecure origin (no crypto.subtle)', false],
  ])(
    'in a vm context with web globals only, %s: mints over fake Lightning, pays a second wallet through the mailbox, and the second receives',
    async (_where, secure) => {
      const page = newPage({ secure });
      const W = runInContext(`${classic}\nlancashWallet`, page, { filename: 'wallet.bundle.js' });
      const run = runInContext(`(${SCENARIO})`, page) as (w: unknown, mint: string) => Promise<string>;
      await expectPaid(await run(W, bank.url), secure ? 'object' : 'undefined');
    },
  );

  describeInBrowser("in Debian's chromium", () => {
    it('on an insecure origin (plain http to a name other than localhost): the same scenario', async () => {
      // `lan.test` resolves to the bank's 127.0.0.1 but, not being localhost, is not a secure context:
      // the page stands for the wallet served by a gateway at a LAN address.
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP lan.test 127.0.0.1'],
      });
      try {
        const page = await browser.newPage();
        const origin = `http://lan.test:${new URL(bank.url).port}`;
        await page.goto(`${origin}/`);
        expect(await page.evaluate('[isSecureContext, typeof crypto.subtle]')).toEqual([false, 'undefined']);
        // Through the DevTools protocol, which the page's CSP (no inline scripts) does not govern.
        await page.evaluate(classic);
        await expectPaid(await page.evaluate(`(${SCENARIO})(lancashWallet, location.origin)`), 'undefined');
      } finally {
        await browser.close();
      }
    }, 120_000);
  });
});
