/**
 * Production code never depends on test code: no file that ships (every `src/**\/*.ts` that is not a
 * `*.test.ts` and not under `src/test-support/`) imports a test helper, a test file, or a package that
 * is only a dev dependency (vitest, fast-check, cashu-ts, …, read from package.json). Type-only
 * imports count too: `tsc` would still pull the test file into `dist/`. Every form of reference is
 * read: `import … from`, `export … from`, `import '…'`, `import('…')`, `require('…')`. The failure names
 * the file and the import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TEST_SUPPORT = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(TEST_SUPPORT, '..');
const ROOT = resolve(SRC, '..');

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
/** Packages a shipped file may not import: dev dependencies that are not also run-time ones. */
const DEV_ONLY = new Set(
  Object.keys(pkg.devDependencies ?? {}).filter((name) => !(name in (pkg.dependencies ?? {}))),
);
/**
 * The web pages (`src/web/`) are bundled by Vite at build time (`npm run build`, run by `prepare`):
 * these dev dependencies end up inside `dist/web/` and are never loaded at run time.
 */
const WEB = join(SRC, 'web');
const BUNDLED_INTO_PAGES = new Set(['preact', 'idb', 'uplot', 'uqr']);

/**
 * `text` with its comments blanked out, and the contents of every string, template and regex literal
 * too, except a string in a module specifier's place (after `from`, `import`, `import(`, `require(`):
 * so that only real imports are left to match.
 */
function codeOnly(text: string): string {
  let out = '';
  let i = 0;
  // The last significant character decides whether a `/` starts a regex literal or divides.
  let last = '';
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && (next === '/' || next === '*')) {
      const end = next === '/' ? text.indexOf('\n', i) : text.indexOf('*/', i + 2) + 2;
      const stop = end < i + 2 ? text.length : end;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    const regex = c === '/' && (last === '' || /[(,=:[!&|?{};+\-*%<>~^]/.test(last));
    if (c === "'" || c === '"' || c === '`' || regex) {
      let j = i + 1;
      let inClass = false;
      while (j < text.length) {
        const d = text[j]!;
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (regex && d === '[') inClass = true;
        else if (regex && d === ']') inClass = false;
        else if (d === c && !inClass) break;
        else if (c !== '`' && d === '\n') break;
        j++;
      }
      const literal = text.slice(i, j + 1);
      const specifier = !regex && /(\bfrom|\bimport|\b(?:import|require)\s*\()\s*$/.test(out);
      out += specifier ? literal : c + literal.slice(1, -1).replace(/[^\n]/g, ' ') + literal.slice(-1);
      last = c;
      i = j + 1;
      continue;
    }
    out += c;
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return out;
}

/** Every module specifier `text` refers to, type-only ones included. */
function specifiersOf(text: string): string[] {
  const code = codeOnly(text);
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\b(?:import|require)\s*\(\s*(['"`])([^'"`]+)\1\s*\)/g,
  ];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[2]!));
}

/** Why `spec`, imported by the shipped file `file`, is test code; undefined when it is not. */
function testCodeReason(file: string, spec: string): string | undefined {
  if (spec.startsWith('.')) {
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    if (target === TEST_SUPPORT || target.startsWith(TEST_SUPPORT + sep)) return 'a test helper';
    if (/\.test\.ts$/.test(target)) return 'a test file';
    return undefined;
  }
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
  if (BUNDLED_INTO_PAGES.has(name) && file.startsWith(WEB + sep)) return undefined;
  return DEV_ONLY.has(name) ? `the dev dependency ${name}` : undefined;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === TEST_SUPPORT ? [] : walk(path);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** `file: import 'spec' (why)` for every reference from shipped code to test code. */
function violations(files: string[]): string[] {
  return files.flatMap((file) =>
    specifiersOf(readFileSync(file, 'utf8')).flatMap((spec) => {
      const why = testCodeReason(file, spec);
      return why ? [`${relative(ROOT, file)}: imports '${spec}' (${why})`] : [];
    }),
  );
}

describe('production code does not depend on test code', () => {
  it('no shipped file imports a test helper, a test file or a dev-only package', () => {
    const shipped = walk(SRC);
    // Guard against a walk that silently finds nothing (a moved folder, a wrong root).
    expect(shipped.length).toBeGreaterThan(100);
    expect(shipped.some((f) => f.endsWith(join('cli', 'main.ts')))).toBe(true);
    expect(violations(shipped)).toEqual([]);
  });

  it('the dev-only packages are read from package.json', () => {
    for (const name of ['vitest', 'fast-check', '@cashu/cashu-ts']) expect(DEV_ONLY.has(name)).toBe(true);
    for (const name of ['fastify', 'kysely']) expect(DEV_ONLY.has(name)).toBe(false);
    // The pages' libraries are dev dependencies, allowed only under src/web/ (bundled at build time).
    for (const name of BUNDLED_INTO_PAGES) expect(DEV_ONLY.has(name)).toBe(true);
    expect(testCodeReason(join(WEB, 'wallet', 'x.ts'), 'preact/hooks')).toBeUndefined();
    expect(testCodeReason(join(SRC, 'gateway', 'x.ts'), 'preact/hooks')).toBe('the dev dependency preact');
    expect(testCodeReason(join(WEB, 'wallet', 'x.tsx'), 'vitest')).toBe('the dev dependency vitest');
  });

  it('catches every form of reference, and not one in a comment or a string', () => {
    const file = join(SRC, 'gateway', 'example.ts');
    const source = [
      "import { a } from '../test-support/system.js';",
      "import type {\n  B,\n} from '../test-support/notes.js';",
      "export { c } from './server.test.js';",
      "import '../test-support/env.js';",
      "const d = await import('../test-support/process.js');",
      "const e = require('fast-check');",
      "import { f } from '@cashu/cashu-ts/crypto';",
      "import { expect } from 'vitest';",
      "import { ok } from './server.js';",
      "import { Type } from '@sinclair/typebox';",
      "// import { x } from '../test-support/system.js';",
      "/* const y = await import('vitest'); */",
      'const s = "import { z } from \'../test-support/system.js\'";',
      "const r = /[\"']/g; const t = `it's`;",
    ].join('\n');
    const found = specifiersOf(source).flatMap((spec) => {
      const why = testCodeReason(file, spec);
      return why ? [`${spec} (${why})`] : [];
    });
    expect(found.sort()).toEqual(
      [
        '../test-support/system.js (a test helper)',
        '../test-support/notes.js (a test helper)',
        './server.test.js (a test file)',
        '../test-support/env.js (a test helper)',
        '../test-support/process.js (a test helper)',
        'fast-check (the dev dependency fast-check)',
        '@cashu/cashu-ts/crypto (the dev dependency @cashu/cashu-ts)',
        'vitest (the dev dependency vitest)',
      ].sort(),
    );
  });
});
