/**
 * The browser harness of the web tests (`src/web/e2e/`, docs/web.md "Browser tests"): Debian's
 * `chromium` driven by `playwright-core` (browser downloads do not work here), one fresh profile (its
 * own `--user-data-dir`) per wallet so "a fresh browser profile" is real, at desktop or phone size;
 * screenshots into `artifacts/screenshots/`; an axe-core check that fails on serious or critical
 * violations. Without chromium the browser tests are skipped with a loud warning, except under
 * `CI=true`, where the run fails (as the postgres dialect, `global-setup.ts`).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, describe } from 'vitest';
import { fail } from '../core/errors.js';
import { WEB_ROOT } from '../core/http/web.js';
import { REPO_ROOT } from './process.js';

/** Debian's chromium (`apt-get install chromium`); `LANCASH_CHROMIUM` names another binary. */
export const CHROMIUM = process.env.LANCASH_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
function missing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(join(WEB_ROOT, 'wallet', 'index.html'))) {
    return `the pages are not built: no ${WEB_ROOT}wallet/index.html (npm run build)`;
  }
  return undefined;
}

const why = missing();
if (why !== undefined) {
  if (process.env.CI === 'true') fail('Internal', { reason: why }, `CI=true: ${why}`);
  const bar = '!'.repeat(100);
  console.warn(`\n${bar}\n!!! SKIPPING the browser tests: ${why}\n${bar}\n`);
}

/** `describe`, or `describe.skip` when chromium (or the built pages) are missing outside CI. */
export const describeInBrowser = why === undefined ? describe : describe.skip;

/** Flags for a headless chromium in a container, quiet on the network: only the test's servers. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type Width = 'desktop' | 'phone';

const SIZES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true },
} as const;

/** A browser with a profile of its own (one wallet's IndexedDB), and one page in it. */
export interface Profile {
  width: Width;
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and Content-Security-Policy violations seen so far in any tab, in order. */
  problems: string[];
  close(): Promise<void>;
}

const open = new Set<Profile>();
afterAll(async () => {
  for (const p of [...open]) await p.close();
});

/** Launches chromium on a new, empty profile directory; closed (and deleted) after the test file. */
export async function openProfile(width: Width): Promise<Profile> {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    ...SIZES[width],
  });
  // Generous: chromium shares two cores with the servers and the rest of the suite.
  context.setDefaultTimeout(60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const watch = (p: Page) => p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  watch(page);
  context.on('page', watch);
  // CSP violations as the page itself hears them (chromium's console text of them varies by version).
  await context.exposeBinding(CSP_BINDING, (_source, text: unknown) => {
    problems.push(`CSP violation: ${String(text)}`);
  });
  await context.addInitScript(CSP_LISTENER);
  const profile: Profile = {
    width,
    context,
    page,
    problems,
    close: async () => {
      open.delete(profile);
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  open.add(profile);
  return profile;
}

const CSP_BINDING = '__lancashCspViolation';
/**
 * Runs in every page before its scripts (through the DevTools protocol, so the CSP does not stop it).
 * A blocked `eval` is left out: the schema decoder tries to compile once and then interprets, by
 * design (`core/protocol/cashu.ts`, the pages' CSP has no 'unsafe-eval').
 */
const CSP_LISTENER = `addEventListener('securitypolicyviolation', (e) => {
  if (e.blockedURI === 'eval') return;
  globalThis.${CSP_BINDING}(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`;

export const SCREENSHOTS = join(REPO_ROOT, 'artifacts', 'screenshots');

/** Writes `artifacts/screenshots/<name>-<desktop|phone>.png` (the whole page); returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}-${widthOf(page)}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

function widthOf(page: Page): Width {
  return (page.viewportSize()?.width ?? SIZES.desktop.viewport.width) < 600 ? 'phone' : 'desktop';
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One axe violation as the test reports it. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical violation, listing
 * each as `rule (impact): help — selectors`. The source is evaluated through the DevTools protocol,
 * which the page's CSP (no inline scripts) does not govern.
 */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  if ((await page.evaluate('typeof axe')) === 'undefined') await page.evaluate(AXE);
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')) })))`)) as Violation[];
  const serious = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.targets.slice(0, 5).join(', ')}`);
  if (serious.length > 0) {
    const list = serious.map((line) => `\n  - ${line}`).join('');
    throw new Error(`axe on ${name} (${widthOf(page)}): ${serious.length} serious violation(s):${list}`);
  }
}

/** A page as the tests look at it: a screenshot at its width, then the accessibility check. */
export async function inspect(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  await expectAccessible(page, name);
}

/** A page of one bundled script on loopback (`serveBundle`). */
export interface BundlePage {
  /** `http://127.0.0.1:PORT/`: any path answers the page; `/<name>.js` the script. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `contents` (TypeScript importing from the repository root, as the pages' modules do), bundled
 * for the browser as the web build bundles it, as the one module script of an empty page on a loopback
 * port: a secure context (127.0.0.1), so Web Locks, IndexedDB and WebCrypto behave as on the real pages.
 */
export async function serveBundle(contents: string, name: string): Promise<BundlePage> {
  const bundle = await build({
    absWorkingDir: REPO_ROOT,
    stdin: { contents, resolveDir: REPO_ROOT, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]?.text ?? '';
  const page = `<!doctype html><html lang="en"><title>${name}</title><script type="module" src="/${name}.js"></script></html>`;
  const server = createServer((req, res) => {
    if (req.url === `/${name}.js`) res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
