/**
 * Every `lancash` command starts by registering every sub-command, so the registering modules must
 * stay cheap: a role's server, store and crypto load inside the action that needs them. Here: no
 * command module imports one at its top, and the names the help text shows without loading a role
 * (bench scenarios, bank roles) are that role's own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../bench/index.js';
import { ALL_ROLES } from '../wide-bank/server.js';
import { SCENARIO_NAMES } from './bench.js';
import { ROLES } from './wide-bank.js';

const CLI_DIR = join(process.cwd(), 'src/cli');

/** What a command module may import at its top: Node, commander, and small leaf modules of `core/`. */
const CHEAP = new Set([
  'commander',
  'node:crypto',
  'node:fs',
  'node:path',
  '../core/errors.js',
  '../core/money.js',
  '../core/money-format.js',
  '../core/fees.js',
  '../core/address/index.js',
]);

/** The modules a static `import … from '…'` of `source` names, leaving out `import type`. */
function valueImports(source: string): string[] {
  return [...source.matchAll(/^import\s+(?!type\s)[^;]*?\sfrom\s+'([^']+)';/gms)].map((m) => m[1]!);
}

describe('lancash command modules', () => {
  it('valueImports sees value imports and skips type-only ones', () => {
    const source = [
      "import type { Command } from 'commander';",
      "import { openStore, type Store } from '../store/index.js';",
      'import {',
      '  a,',
      "} from '../x.js';",
    ].join('\n');
    expect(valueImports(source)).toEqual(['../store/index.js', '../x.js']);
  });

  it('import no role, store or crypto at their top (only inside the actions)', () => {
    const files = readdirSync(CLI_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files).toContain('main.ts');
    const heavy = files.flatMap((f) =>
      valueImports(readFileSync(join(CLI_DIR, f), 'utf8'))
        // Sibling command modules are held to the same rule by this same test.
        .filter((m) => !CHEAP.has(m) && !/^\.\/[a-z-]+\.js$/.test(m))
        .map((m) => `${f}: ${m}`),
    );
    expect(heavy).toEqual([]);
  });

  it('name the bench scenarios and the bank roles as their modules do', () => {
    expect(SCENARIO_NAMES).toEqual(Object.keys(SCENARIOS));
    expect(ROLES).toEqual(ALL_ROLES);
  });
});
