/**
 * The wallet's weight for a phone on a slow LAN (issue 9, quality bar): the pages are built from the
 * sources as `npm run build` builds them (into a temporary folder, with Vite's manifest), and the
 * JavaScript the wallet page can load, its entry with every static and dynamic import it reaches, is
 * gzipped and summed. The test prints the figure and fails above 250 KB.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../test-support/process.js';

const LIMIT = 250 * 1024;

/** A Vite manifest entry (`build.manifest`): the chunk's file and what it imports. */
interface Chunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}

const out = mkdtempSync(join(tmpdir(), 'lancash-web-build-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The chunk files reachable from `entry` (static and dynamic imports), each once. */
function reachable(manifest: Record<string, Chunk>, entry: string): Chunk[] {
  const seen = new Map<string, Chunk>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (chunk === undefined || seen.has(key)) return;
    seen.set(key, chunk);
    for (const next of [...(chunk.imports ?? []), ...(chunk.dynamicImports ?? [])]) visit(next);
  };
  visit(entry);
  return [...seen.values()];
}

it('the wallet page loads at most 250 KB of gzipped JavaScript', async () => {
  await build({
    configFile: join(REPO_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: out, manifest: true },
  });
  const manifest = JSON.parse(readFileSync(join(out, '.vite', 'manifest.json'), 'utf8')) as Record<
    string,
    Chunk
  >;
  expect(Object.keys(manifest)).toContain('wallet/index.html');
  const chunks = reachable(manifest, 'wallet/index.html');
  const sizes = chunks
    .filter((c) => c.file.endsWith('.js'))
    .map((c) => {
      const raw = readFileSync(join(out, c.file));
      return { file: c.file, raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
    });
  const total = sizes.reduce((n, s) => n + s.gzip, 0);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `wallet page JavaScript: ${kb(total)} gzipped (${kb(sizes.reduce((n, s) => n + s.raw, 0))} raw) in ` +
      `${sizes.length} chunks: ${sizes.map((s) => `${s.file} ${kb(s.gzip)}`).join(', ')}`,
  );
  expect(sizes.length).toBeGreaterThan(0);
  expect(total, `wallet JavaScript, gzipped: ${kb(total)}`).toBeLessThanOrEqual(LIMIT);
});
