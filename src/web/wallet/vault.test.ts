/**
 * The vault the wallet pages call (on fake-indexeddb): is there a wallet, create its store, erase it,
 * one tab at a time the BroadcastChannel way (Web Locks are tested in chromium, vault-browser.test.ts),
 * and `openWallet`, the pages' one open path (`session.ts` goes through it), against a real wide bank:
 * a send cut off mid-way (the tab closed) is settled by the next load, nothing lost and nothing spent
 * twice, and the load says what it settled.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusal, storeConfig } from '../../test-support/wallet-store-cases.js';
import { httpNet } from '../../wallet/http-net.js';
import { Wallet } from '../../wallet/wallet.js';
import * as session from './session.js';
import { walletStorage } from './storage.js';
import {
  claimWalletByChannel,
  createStore,
  eraseWallet,
  IdbWalletStore,
  openWallet,
  type WalletClaim,
  walletHere,
} from './vault.js';

let names = 0;
const fresh = () => `vault-${names++}`;

describe('vault', () => {
  it('creates the store of a new wallet once, tells whether one is here, and erases it', async () => {
    const name = fresh();
    expect(await walletHere({ name })).toEqual({ exists: false, encrypted: false });
    const store = await createStore({ name, passphrase: 'pw', iterations: 1000 });
    // Created but not yet configured (Wallet.create failed, say): not a wallet, and made again freely.
    await store.close();
    expect(await walletHere({ name })).toEqual({ exists: false, encrypted: true });
    const again = await createStore({ name });
    await again.writeConfig(storeConfig);
    await again.close();
    expect(await walletHere({ name })).toEqual({ exists: true, encrypted: false });
    expect(await refusal(createStore({ name }))).toBe('WalletExists');
    await eraseWallet({ name });
    expect(await walletHere({ name })).toEqual({ exists: false, encrypted: false });
  });

  it('opens an encrypted wallet only with its passphrase', async () => {
    const name = fresh();
    const store = await createStore({ name, passphrase: 'pw', iterations: 1000 });
    await store.writeConfig(storeConfig);
    await store.close();
    expect(await refusal(IdbWalletStore.open({ name }))).toBe('WalletLocked');
    expect(await refusal(IdbWalletStore.open({ name, passphrase: 'wrong' }))).toBe('PassphraseWrong');
    const empty = await IdbWalletStore.open({ name: fresh() });
    expect(await refusal(openWallet({ store: empty }))).toBe('WalletNotInitialized');
  });
});

describe('claimWallet without Web Locks (a page over plain http)', () => {
  const claims: WalletClaim[] = [];
  afterAll(() => {
    for (const c of claims) if (c.held) c.release();
  });
  const claim = async (...a: Parameters<typeof claimWalletByChannel>) => {
    const c = await claimWalletByChannel(...a);
    claims.push(c);
    return c;
  };

  it('gives the wallet to one tab; another may take it over, and the first is told', async () => {
    const name = fresh();
    let lost = 0;
    const first = await claim({ name, onLost: () => lost++ });
    expect(first.held).toBe(true);
    expect((await claim({ name })).held).toBe(false);
    expect((await claim({ name: fresh() })).held).toBe(true);
    const second = await claim({ name, takeOver: true });
    expect([second.held, lost]).toEqual([true, 1]);
    expect((await claim({ name })).held).toBe(false);
    if (second.held) second.release();
    expect((await claim({ name })).held).toBe(true);
  });

  it('a waiting claim is told it waits, and gets the wallet when the holder lets go', async () => {
    const name = fresh();
    const first = await claim({ name, probeMs: 50 });
    expect(first.held).toBe(true);
    let waiting = 0;
    let told!: () => void;
    const wait = new Promise<void>((resolve) => {
      told = resolve;
    });
    const second = claim({
      name,
      wait: true,
      probeMs: 50,
      retryMs: 10,
      onWaiting: () => {
        waiting++;
        told();
      },
    });
    await wait;
    // Still waiting: a third tab is refused, and the second has not been answered.
    expect((await claim({ name, probeMs: 50 })).held).toBe(false);
    if (first.held) first.release();
    expect((await second).held).toBe(true);
    expect(waiting).toBe(1);
    expect((await claim({ name, probeMs: 50 })).held).toBe(false);
  });

  it('a waiting claim stopped by its signal answers { held: false } and takes nothing later', async () => {
    const name = fresh();
    const first = await claim({ name, probeMs: 50 });
    const stop = new AbortController();
    const second = claim({
      name,
      wait: true,
      probeMs: 50,
      retryMs: 10,
      signal: stop.signal,
      onWaiting: () => stop.abort(),
    });
    expect((await second).held).toBe(false);
    if (first.held) first.release();
    expect((await claim({ name, probeMs: 50 })).held).toBe(true);
  });

  it('gives it to exactly one of several tabs asking at once', async () => {
    const name = fresh();
    const all = await Promise.all([claim({ name }), claim({ name }), claim({ name })]);
    expect(all.filter((c) => c.held)).toHaveLength(1);
  });
});

/** Node-side test support, imported by a computed name so this file's DOM-only typecheck leaves Node's types out. */
interface NodeSupport {
  startProcess(args: string[]): Promise<{ url: string }>;
  killAll(): Promise<void>;
}
interface NodeFs {
  mkdtempSync(prefix: string): string;
  rmSync(path: string, o: { recursive: boolean; force: boolean }): void;
}
const load = <T>(specifier: string): Promise<T> => import(/* @vite-ignore */ specifier) as Promise<T>;

describe('openWallet (real wide bank)', () => {
  let bank: string;
  let dir: string;
  let support: NodeSupport;
  let fs: NodeFs;

  beforeAll(async () => {
    support = await load<NodeSupport>('../../test-support/process.js');
    fs = await load<NodeFs>('node:fs');
    dir = fs.mkdtempSync('/tmp/lancash-vault-');
    bank = (
      await support.startProcess([
        'wide-bank',
        '--lightning',
        'fake',
        '--listen',
        '127.0.0.1:0',
        '--data',
        dir,
      ])
    ).url;
  });
  afterAll(async () => {
    await support?.killAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A wallet on IndexedDB with `amount` minted, whose `send` can be cut off at a named step. */
  async function browserWallet(amount: number, passphrase?: string) {
    const name = fresh();
    const store = await createStore({ name, ...(passphrase ? { passphrase, iterations: 1000 } : {}) });
    let cutAt: string | undefined;
    const { wallet } = await Wallet.create({
      store,
      net: httpNet(),
      network: 'wan',
      mint: bank,
      step: (point) => {
        if (point === cutAt) throw new Error(`tab closed at ${point}`);
      },
    });
    if (amount > 0) expect((await wallet.mintFromLightning(amount)).state).toBe('done');
    return { name, store, wallet, cutAt: (p: string) => (cutAt = p) };
  }

  it.each([
    ['wallet:send:after-swap', 'taken back', 40],
    ['wallet:send:after-journal', 'delivered', 25],
  ])('a send cut off at %s is %s on the next load', async (point, _what, expected) => {
    const alice = await browserWallet(40, 'alice pw');
    const bob = await browserWallet(0);
    alice.cutAt(point);
    await expect(alice.wallet.send({ to: bob.wallet.address, amount: 15 })).rejects.toThrow(/tab closed/);
    await alice.store.close();

    const load = async () => {
      const store = await IdbWalletStore.open({ name: alice.name, passphrase: 'alice pw' });
      return { store, ...(await openWallet({ store })) };
    };
    const next = await load();
    expect(next.recovered.open).toEqual([]);
    expect(next.recovered.settled.map((op) => op.kind)).toEqual(['send']);
    await bob.wallet.receive();
    expect(await next.wallet.balance()).toEqual({ unit: 'eur', available: expected, pending: 0 });
    expect(await bob.wallet.balance()).toEqual({ unit: 'eur', available: 40 - expected, pending: 0 });
    // Loading again finds nothing left to settle.
    next.wallet.close();
    await next.store.close();
    const third = await load();
    expect(third.recovered).toEqual({ settled: [], open: [] });
    third.wallet.close();
    await third.store.close();
    await bob.store.close();
  });

  it('is the page’s open path too: session.ts opens the browser’s wallet through it and reports what it settled', async () => {
    // The page's storage keeps the origin's one wallet (no name); it is made here as the page makes it.
    const store = await createStore({});
    let cut = true;
    const { wallet } = await Wallet.create({
      store,
      net: httpNet(),
      network: 'wan',
      mint: bank,
      autoRecover: false,
      step: (point) => {
        if (cut && point === 'wallet:send:after-swap') throw new Error('tab closed');
      },
    });
    expect((await wallet.mintFromLightning(30)).state).toBe('done');
    const bob = await browserWallet(0);
    await expect(wallet.send({ to: bob.wallet.address, amount: 10 })).rejects.toThrow(/tab closed/);
    cut = false;
    await store.close();

    const page = await session.openWallet();
    expect(page.recovered.settled.map((op) => [op.kind, op.state])).toEqual([['send', 'failed']]);
    expect(await page.wallet.balance()).toEqual({ unit: 'eur', available: 30, pending: 0 });
    page.wallet.close();
    await walletStorage().erase();
    await bob.store.close();
  });
});
