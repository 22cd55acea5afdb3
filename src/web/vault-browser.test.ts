/**
 * The browser wallet's storage in a real browser (Debian chromium, one profile, two tabs of one origin
 * on 127.0.0.1, a secure context): `vault.ts` bundled as the pages bundle it. One tab at a time through
 * Web Locks (the second is told, may take the wallet over, and the first learns it lost it; a closed
 * tab lets go; a waiting claim queues for the lock, is granted when the holder closes, and leaves the
 * queue when its signal stops it); a passphrase in the real IndexedDB and WebCrypto (600 000 PBKDF2 iterations, timed);
 * two tabs reserving the same notes at the same moment: each note goes to exactly one of them.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type BundlePage,
  describeInBrowser,
  openProfile,
  type Profile,
  serveBundle,
} from '../test-support/browser.js';

let served: BundlePage;
let origin: string;

beforeAll(async () => {
  served = await serveBundle(
    "import * as vault from './src/web/wallet/vault.ts'; globalThis.vault = vault;",
    'vault',
  );
  origin = served.origin;
});

afterAll(() => served?.close());

async function tab(profile: Profile, existing?: Page): Promise<Page> {
  const page = existing ?? (await profile.context.newPage());
  await page.goto(origin);
  await page.waitForFunction('typeof globalThis.vault === "object"');
  return page;
}

/** Runs `body` (JavaScript, with `vault` in scope) in the page and returns its JSON-able result. */
function run<T>(page: Page, body: string): Promise<T> {
  return page.evaluate(`(async () => { const vault = globalThis.vault; ${body} })()`) as Promise<T>;
}

describeInBrowser('the wallet vault in chromium', () => {
  it('gives the wallet to one tab at a time', async () => {
    const profile = await openProfile('desktop');
    const a = await tab(profile, profile.page);
    const b = await tab(profile);
    expect(await run(a, 'return typeof navigator.locks')).toBe('object');
    expect(typeof (await run(a, 'return vault.requestPersistence()'))).toBe('boolean');
    const claim = (page: Page, o = '{}') =>
      run<boolean>(
        page,
        `const c = await vault.claimWallet({ ...${o}, onLost: () => { globalThis.lost = true; } });
        globalThis.claim = c; return c.held;`,
      );
    expect(await claim(a)).toBe(true);
    expect(await claim(b)).toBe(false);
    expect(await claim(b, '{ takeOver: true }')).toBe(true);
    await a.waitForFunction('globalThis.lost === true');
    expect(await claim(a)).toBe(false);
    // Closing the holding tab lets go of the wallet (once the browser has seen the tab go).
    await b.close();
    // Polled: the lock's release reaches the other tab some time after close() returns, and a claim
    // that finds it held changes nothing.
    await expect.poll(() => claim(a), { timeout: 30_000 }).toBe(true);
    await profile.close();
  });

  it('a waiting claim queues for the lock: told it waits, granted when the holder closes, stopped by its signal', async () => {
    const profile = await openProfile('desktop');
    const a = await tab(profile, profile.page);
    const b = await tab(profile);
    const c = await tab(profile);
    expect(await run(a, 'globalThis.claim = await vault.claimWallet(); return globalThis.claim.held;')).toBe(
      true,
    );
    // b waits (the page's claim); its answer is kept in the page, read later.
    await run(
      b,
      `globalThis.stop = new AbortController();
      globalThis.waiting = 0;
      globalThis.answer = vault.claimWallet({ wait: true, signal: globalThis.stop.signal,
        onWaiting: () => { globalThis.waiting++; } }).then((c) => (globalThis.claim = c).held);`,
    );
    await b.waitForFunction('globalThis.waiting === 1');
    const queue = () =>
      run<[number, number]>(
        a,
        "const q = await navigator.locks.query(); const mine = (l) => l.name === 'lancash-wallet:open'; return [q.held.filter(mine).length, q.pending.filter(mine).length];",
      );
    await expect.poll(queue).toEqual([1, 1]);
    // c waits too, then gives up by its signal: { held: false }, and its request leaves the queue.
    await run(
      c,
      `globalThis.stop = new AbortController();
      globalThis.answer = vault.claimWallet({ wait: true, signal: globalThis.stop.signal }).then((c) => c.held);`,
    );
    await expect.poll(queue).toEqual([1, 2]);
    expect(await run(c, 'globalThis.stop.abort(); return await globalThis.answer;')).toBe(false);
    expect(await queue()).toEqual([1, 1]);
    // The holding tab closes (as a reload's old page goes): b is granted the lock by itself.
    await a.close();
    expect(await run(b, 'return await globalThis.answer;')).toBe(true);
    expect(await run(b, 'return globalThis.waiting;')).toBe(1);
    expect(await run(c, 'return (await vault.claimWallet()).held;')).toBe(false);
    await profile.close();
  });

  it('keeps the wallet under a passphrase in the real IndexedDB, and each note goes to one tab', async () => {
    const profile = await openProfile('desktop');
    const a = await tab(profile, profile.page);
    const b = await tab(profile);
    const notes = Array.from({ length: 20 }, (_, i) => ({
      proof: { amount: 1, id: `01${'ab'.repeat(32)}`, secret: `secret-${i}`, C: `02${'11'.repeat(32)}` },
      Y: `02${i.toString(16).padStart(64, '0')}`,
      state: 'unspent',
      createdAt: i,
    }));
    const ms = await run<number>(
      a,
      `const started = performance.now();
      const store = await vault.createStore({ passphrase: 'pass phrase' });
      const ms = performance.now() - started;
      await store.writeConfig({ version: 1, network: 'lan', mint: 'http://m', unit: 'eur', seed: '00'.repeat(64), createdAt: 1 });
      await store.commit({ notes: ${JSON.stringify(notes)} });
      await store.close();
      return ms;`,
    );
    console.log(
      `chromium: a new store under a passphrase (PBKDF2-SHA256, 600 000 iterations) in ${Math.round(ms)} ms`,
    );
    const code = (page: Page, passphrase: string) =>
      run<number>(
        page,
        `try { await vault.IdbWalletStore.open({ passphrase: ${JSON.stringify(passphrase)} }); return 0; }
        catch (e) { return e.code; }`,
      );
    expect(await run(b, 'return vault.walletHere()')).toEqual({ exists: true, encrypted: true });
    expect(await run(b, 'try { await vault.IdbWalletStore.open(); } catch (e) { return e.code; }')).toBe(
      75008,
    );
    expect(await code(b, 'wrong')).toBe(75009);

    // Both tabs open the store, then try to reserve every note at the same moment, one at a time.
    const openStore = "globalThis.store = await vault.IdbWalletStore.open({ passphrase: 'pass phrase' });";
    await Promise.all([run(a, openStore), run(b, openStore)]);
    const race = (page: Page, who: string) =>
      run<string[]>(
        page,
        `const got = [];
        for (let i = 0; i < 20; i++) {
          try {
            await globalThis.store.commit({ reserve: { operation: '${who}', secrets: ['secret-' + i] } });
            got.push('secret-' + i);
          } catch (e) { if (e.code !== 75005) throw e; }
        }
        return got;`,
      );
    const [gotA, gotB] = await Promise.all([race(a, 'a'), race(b, 'b')]);
    expect([...gotA, ...gotB].sort()).toEqual(notes.map((n) => n.proof.secret).sort());
    const held = await run<[string, string][]>(
      b,
      'return (await globalThis.store.notes()).map((n) => [n.proof.secret, n.operation]);',
    );
    expect(held.filter(([, op]) => op === 'a').map(([s]) => s)).toEqual(gotA);
    expect(held.filter(([, op]) => op === 'b').map(([s]) => s)).toEqual(gotB);
    console.log(
      `chromium: two tabs reserving 20 notes at once: ${gotA.length} to one, ${gotB.length} to the other`,
    );
    await profile.close();
  });
});
