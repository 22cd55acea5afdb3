/**
 * The page's storage helpers: the seed words kept beside the wallet (sealed with the passphrase like
 * every row, and re-sealed when it changes), and the gateway chosen in Settings laid over the config.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { storeConfig } from '../../test-support/wallet-store-cases.js';
import { MemoryWalletStore } from '../../wallet/index.js';
import { IdbWalletStore, walletDbName } from './idb-store.js';
import { walletClaims, withGateway } from './storage.js';
import { claimWallet } from './vault.js';

const WORDS = 'abandon ability able about above absent absorb abstract absurd abuse access accident';

describe('seed words in the IndexedDB store', () => {
  it('are kept, sealed under the passphrase, and survive its change', async () => {
    const store = await IdbWalletStore.open({ name: 'words-1' });
    expect(await store.readWords()).toBeUndefined();
    await store.setPassphrase('first', { iterations: 1000 });
    await store.writeWords(WORDS);
    expect(await store.readWords()).toBe(WORDS);

    const raw = await openDB(walletDbName('words-1'));
    const rows = JSON.stringify(await raw.getAll('meta'), (_k, v) => (v instanceof Uint8Array ? [...v] : v));
    raw.close();
    expect(rows).not.toContain('abandon');

    await store.setPassphrase('second', { iterations: 1000 });
    await store.close();
    await expect(IdbWalletStore.open({ name: 'words-1', passphrase: 'first' })).rejects.toThrow();
    const again = await IdbWalletStore.open({ name: 'words-1', passphrase: 'second' });
    expect(await again.readWords()).toBe(WORDS);
    await again.close();
  });

  it('read while the passphrase changes, wait for the change (as every read of the store does)', async () => {
    const setup = await IdbWalletStore.open({ name: 'words-3' });
    await setup.setPassphrase('old', { iterations: 1000 });
    await setup.writeWords(WORDS);
    await setup.close();
    const order: string[] = [];
    let during: Promise<void> | undefined;
    const store = await IdbWalletStore.open({
      name: 'words-3',
      passphrase: 'old',
      // The re-encryption is prepared and about to be written: a read starts now.
      hooks: {
        prepared: async () => {
          during ??= store.readWords().then((w) => void order.push(`read ${w === WORDS}`));
        },
      },
    });
    await store.setPassphrase('new', { iterations: 1000 }).then(() => order.push('changed'));
    await during;
    expect(order).toEqual(['changed', 'read true']);
    await store.close();
  });

  it('are readable in a wallet without a passphrase (control: the raw row holds them)', async () => {
    const store = await IdbWalletStore.open({ name: 'words-2' });
    await store.writeWords(WORDS);
    const raw = await openDB(walletDbName('words-2'));
    expect(JSON.stringify(await raw.getAll('meta'))).toContain('abandon');
    raw.close();
    await store.close();
  });
});

describe('withGateway', () => {
  it('lays the chosen gateway over the config, and passes everything else through', async () => {
    const inner = new MemoryWalletStore();
    await inner.writeConfig({ ...storeConfig, gateway: 'http://server-gw' });
    expect((await withGateway(inner, 'http://mine').readConfig())?.gateway).toBe('http://mine');
    expect(withGateway(inner, undefined)).toBe(inner);
    await withGateway(inner, 'http://mine').reserveCounters('k', 3);
    expect(await inner.counter('k')).toBe(3);
  });
});

/**
 * The page's claims (here without Web Locks, as over plain http: Node has none; chromium's Web Locks
 * in vault-browser.test.ts and the page itself in e2e/web.test.ts): a page finding the wallet held
 * waits, says so, and goes on by itself; "Use it here" stops the wait and takes the wallet.
 */
describe('walletClaims', () => {
  let n = 0;
  const tuning = { probeMs: 40, retryMs: 10 };
  const page = () => walletClaims({ name: `claims-${n}`, ...tuning });
  const other = () => claimWallet({ name: `claims-${n}`, ...tuning });
  const signal = () => {
    let fire!: () => void;
    const fired = new Promise<void>((resolve) => {
      fire = resolve;
    });
    return { fire, fired };
  };

  it('waits while another tab holds the wallet, says so once, and goes on when that tab lets go', async () => {
    n++;
    const holder = await other();
    expect(holder.held).toBe(true);
    const waits = signal();
    let told = 0;
    const claim = page()({
      onLost: () => {},
      onWaiting: () => {
        told++;
        waits.fire();
      },
    });
    await waits.fired;
    // The page does not hold it yet: another tab still finds it taken (by the holder).
    expect((await other()).held).toBe(false);
    if (holder.held) holder.release();
    expect(await claim).toBe(true);
    expect(told).toBe(1);
    expect((await other()).held).toBe(false);
  });

  it('"Use it here" while waiting: the wait gives way, the take-over holds, the holder is told', async () => {
    n++;
    let holderLost = 0;
    const holder = await claimWallet({ name: `claims-${n}`, ...tuning, onLost: () => holderLost++ });
    expect(holder.held).toBe(true);
    const claims = page();
    const waits = signal();
    const waiting = claims({ onLost: () => {}, onWaiting: waits.fire });
    await waits.fired;
    expect(await claims({ takeOver: true, onLost: () => {} })).toBe(true);
    // The stopped wait answers false (the page ignores it) and holds nothing.
    expect(await waiting).toBe(false);
    expect(holderLost).toBe(1);
    expect((await other()).held).toBe(false);
  });

  it('claimed again while held (a reopen), keeps its hold, and tells the latest onLost when taken over', async () => {
    n++;
    const claims = page();
    const lost: string[] = [];
    expect(await claims({ onLost: () => lost.push('first') })).toBe(true);
    let waited = 0;
    expect(await claims({ onLost: () => lost.push('second'), onWaiting: () => waited++ })).toBe(true);
    expect(waited).toBe(0);
    const thief = await claimWallet({ name: `claims-${n}`, ...tuning, takeOver: true });
    expect(thief.held).toBe(true);
    await expect.poll(() => lost).toEqual(['second']);
    // Taken over, the page's next claim waits for the thief rather than answering from memory.
    const waits = signal();
    const back = claims({ onLost: () => {}, onWaiting: waits.fire });
    await waits.fired;
    if (thief.held) thief.release();
    expect(await back).toBe(true);
  });
});
