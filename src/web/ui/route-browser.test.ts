/**
 * `useHashRoute` in a real browser (Debian chromium, as the pages run it): a route changed in the
 * moment between the page's first render and its `hashchange` listener (preact runs effects after the
 * next frame) is followed, not lost. Lost, the page stayed on the old route for good while
 * `location.hash` named the new one, and setting the same hash again fires no event: round nine's CI
 * flake (a reloaded wallet page left on Send, the e2e test waiting for its Wallet heading).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BundlePage, describeInBrowser, openProfile, serveBundle } from '../../test-support/browser.js';

let served: BundlePage;
let origin: string;

beforeAll(async () => {
  served = await serveBundle(
    `import { h, render } from 'preact';
        import { useHashRoute } from './src/web/ui/route.ts';
        function Shown() { return h('h1', null, useHashRoute()); }
        globalThis.mount = () => render(h(Shown, null), document.body);`,
    'route',
  );
  origin = served.origin;
});

afterAll(() => served?.close());

describeInBrowser('useHashRoute in chromium', () => {
  it('follows a route changed between the first render and the listener, and later changes too', async () => {
    const profile = await openProfile('desktop');
    const { page } = profile;
    await page.goto(`${origin}#/send`);
    await page.waitForFunction('typeof globalThis.mount === "function"');
    // Rendered (synchronously) on /send; the hash moves before the effect has subscribed.
    expect(await page.evaluate("globalThis.mount(); location.hash = '#/'; document.body.textContent")).toBe(
      '/send',
    );
    await page.getByRole('heading', { name: '/', exact: true }).waitFor();
    await page.evaluate("location.hash = '#/history'");
    await page.getByRole('heading', { name: '/history', exact: true }).waitFor();
    await profile.close();
  }, 120_000);
});
