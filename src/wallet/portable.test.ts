/**
 * The wallet core must run in a browser: no file of it imports a Node-only module at run time
 * (`node:*`, better-sqlite3, undici, the native curve binding, Kysely, pg), and neither does any
 * module it reaches through others. Type-only imports vanish at compile time and are allowed. This
 * reads the sources, so it names the file at fault; `browser.test.ts` proves the same by bundling
 * and running the wallet.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const WALLET = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(WALLET, '..');
const NODE_ONLY = /^(node:|better-sqlite3$|undici$|secp256k1|kysely$|pg$|fastify|pino$)/;

/** Runtime import specifiers of a file (not `import type`, not `import { type X }`-only lists). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^import\s+(type\s+)?([\s\S]*?)\s+from\s+'([^']+)';/gm)) {
    const [, typeOnly, names, spec] = m;
    const allTypes =
      /^\{[\s\S]*\}$/.test(names!) &&
      names!
        .slice(1, -1)
        .split(',')
        .every((n) => /^\s*(type\s|$)/.test(n));
    if (!typeOnly && !allTypes) specs.push(spec!);
  }
  for (const m of text.matchAll(/^export\s+(?!type)[^;]*?from\s+'([^']+)';/gm)) specs.push(m[1]!);
  return specs;
}

const coreFiles = readdirSync(WALLET)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => join(WALLET, f));

/** Every project file reached at run time from `entry`, and the Node-only packages each imports. */
function reach(entry: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue = [...entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const specs = runtimeImports(file);
    seen.set(
      file,
      specs.filter((s) => NODE_ONLY.test(s)),
    );
    for (const s of specs)
      if (s.startsWith('.')) queue.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  }
  return seen;
}

describe('wallet core portability', () => {
  it('no core file imports a Node-only module itself', () => {
    expect(coreFiles.length).toBeGreaterThan(10);
    const direct = coreFiles.flatMap((f) =>
      runtimeImports(f).filter((s) => NODE_ONLY.test(s) || s.includes('/node/')),
    );
    expect(direct).toEqual([]);
  });

  it('reaches no Node-only code through the modules it imports', () => {
    const reached = reach(coreFiles);
    // The HTTP client and the crypto it uses are reached, and are portable.
    expect([...reached.keys()].map((f) => f.slice(SRC.length + 1))).toEqual(
      expect.arrayContaining(['core/http/client.ts', 'core/crypto/nut02.ts', 'mailbox/client.ts']),
    );
    const offenders = [...reached]
      .filter(([, nodeOnly]) => nodeOnly.length > 0)
      .map(([file, nodeOnly]) => `${file.slice(SRC.length + 1)}: ${nodeOnly.join(', ')}`);
    expect(offenders).toEqual([]);
  });

  it('would notice a Node-only import, direct or reached (the check can fail)', () => {
    expect(runtimeImports(join(WALLET, 'node', 'sqlite-store.ts'))).toContain('better-sqlite3');
    expect(runtimeImports(join(WALLET, 'net.ts'))).toEqual([]);
    // The Node faces of crypto and HTTP: the native curve and undici.
    const nodeFaces = reach([join(SRC, 'core/crypto/index.ts'), join(SRC, 'core/http/node-transport.ts')]);
    expect(nodeFaces.get(join(SRC, 'core/crypto/native.ts'))).toEqual(['node:module', 'node:path']);
    expect(nodeFaces.get(join(SRC, 'core/http/node-transport.ts'))).toEqual(['undici']);
  });
});
