/**
 * `useHashRoute` in a real browser (Debian chromium, as the pages run it): a route changed in the
 * moment between the page's first render and its `hashchange` listener (preact runs effects after the
 * next frame) is followed, not lost. Lost, the page stayed on the old route for good while
 * `location.hash` named the new one, and setting the same hash again fires no event: round nine's CI
 * flake (a reloaded wallet page left on Send, the e2e test waiting for its Wallet heading).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInBrowser, openProfile } from '../../test-support/browser.js';
import { REPO_ROOT } from '../../test-support/process.js';

let server: Server;
let origin: string;

beforeAll(async () => {
  const bundle = await build({
    absWorkingDir: REPO_ROOT,
    stdin: {
      contents: `import { h, render } from 'preact';
        import { useHashRoute } from './src/web/ui/route.ts';
        function Shown() { return h('h1', null, useHashRoute()); }
        globalThis.mount = () => render(h(Shown, null), document.body);`,
      resolveDir: REPO_ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/route.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<!doctype html><html lang="en"><title>route</title><script type="module" src="/route.js"></script></html>',
        );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

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
