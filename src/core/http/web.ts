/**
 * The web pages (docs/web.md): the wallet at `/` (the gateway's LAN listener for LAN terminals, the
 * wide bank for WAN terminals) and the operator console at `/operator` (gateway LAN listener only).
 * The pages are built by Vite into `dist/web/` at install time (`npm run build`); this module serves
 * those files, read once at start, plus `GET /web/config.json`, which tells a page where it is (its
 * network, its mint, the gateway to use for the other network). Hashed assets are cached for good;
 * pages are never cached and carry a strict Content-Security-Policy.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LancashServer } from './server.js';
import { WEB_CONFIG_PATH, WebConfig } from './web-config.js';

export { WEB_CONFIG_PATH, WebConfig } from './web-config.js';

/** `dist/web/` of this checkout, from `src/core/http/` (tsx) and `dist/core/http/` (built) alike. */
export const WEB_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export type WebPage = 'wallet' | 'operator';

export interface WebPagesOptions {
  /** The pages to serve and where: `{ '/': 'wallet', '/operator': 'operator' }`. */
  pages: Readonly<Record<string, WebPage>>;
  /** Computed per request: a listener learns its own URL only once it listens. */
  config: () => WebConfig;
  /** Default `WEB_ROOT`. */
  root?: string;
}

/**
 * Registers the pages, their assets and the page config on `app`. When the pages were not built the
 * routes answer 503 with the command that builds them, and the server runs on.
 */
export function serveWebPages(app: LancashServer, o: WebPagesOptions): void {
  const root = o.root ?? WEB_ROOT;
  const assets = readAssets(join(root, 'assets'));
  for (const [path, page] of Object.entries(o.pages)) {
    const file = join(root, page, 'index.html');
    const html = existsSync(file) ? readFileSync(file) : undefined;
    app.get(path, { schema: { hide: true } }, async (_req, reply) => {
      const connect = ["'self'", ...originsOf(o.config())].join(' ');
      reply
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header(
          'content-security-policy',
          `default-src 'self'; connect-src ${connect}; img-src 'self' data: blob:; ` +
            "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
        );
      if (html === undefined) {
        reply.code(503).type('text/plain; charset=utf-8');
        return `The ${page} page is not built. Run \`npm run build\` in the lancash checkout, then reload.\n`;
      }
      return reply.type('text/html; charset=utf-8').send(html);
    });
  }
  app.get('/assets/:name', { schema: { hide: true } }, async (req, reply) => {
    const { name } = req.params as { name: string };
    const body = assets.get(name);
    if (body === undefined) {
      reply.code(404).type('text/plain; charset=utf-8');
      return 'not found\n';
    }
    // Vite names every asset by its content hash: a name never changes meaning.
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .type(TYPES[extname(name)] ?? 'application/octet-stream')
      .send(body);
  });
  app.get(WEB_CONFIG_PATH, { schema: { hide: true, response: { 200: WebConfig } } }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return o.config();
  });
}

/** Every file of the built assets folder by name (flat: Vite writes no subfolders there). */
function readAssets(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) out.set(name, readFileSync(join(dir, name)));
  return out;
}

/** The origins a page may call besides its own: the mint and gateway when they live elsewhere. */
function originsOf(c: WebConfig): string[] {
  const out = new Set<string>();
  for (const url of [c.mint, c.mailbox, c.gateway]) {
    if (url === undefined) continue;
    try {
      out.add(new URL(url).origin);
    } catch {
      // A URL the operator gave that does not parse is left out: the page then cannot call it.
    }
  }
  return [...out];
}
