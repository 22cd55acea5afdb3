/**
 * A newcomer's path through README.md (issue 13): its shell blocks, top to bottom, every command as
 * printed, against the build `npm install` made (`bin/lancash.js` runs `dist/`), in a fresh
 * temporary directory that stands for the checkout's root, so the README's relative paths
 * (`data/demo`, `./bank`, …) land there. A README command changed into one that does not work (a
 * renamed flag, a wrong path, a step left out) fails here.
 *
 * What runs differently from a reader's terminal, and why (the only substitutions):
 * - The first block (`npm install && npm start`, `npm test`) is checked, not run: `npm install` made
 *   this checkout and `npm test` runs this file. `npm start` is package.json's start script, held to
 *   `node bin/lancash.js demo`, and that runs: one demo process, serving until the end of the file,
 *   which the walkthrough's commands use.
 * - `npx lancash ARGS` runs `node <checkout>/bin/lancash.js ARGS`, through a shell function named
 *   `npx`, so quoting and `$(npx lancash …)` work as printed. That is what npx runs inside the
 *   checkout (one real `npx lancash --version`, offline, checks it), without npm's second of start-up
 *   per command. The function `exec`s, so a server's pid is node's and SIGTERM stops it: hence one
 *   command per line (no `;`, `&&`, `|`).
 * - `<NAME's lan1… address>` (or `wan1…`) is the address of the demo's terminal NAME, read with
 *   `npx lancash wallet --home data/demo/terminals/NAME address`.
 * - Fixed ports (`127.0.0.1:3338`, `0.0.0.0:3341`, …) become free ports the test picks, the same one
 *   for the same number everywhere: the printed ones may be taken on the machine running the tests.
 * - `npx lancash demo --once --json` is run by `src/demo/demo.test.ts`, which also checks the README's
 *   JSON example against its output; here only that the README still prints that command.
 *
 * A server command (`npx lancash wide-bank` or `gateway`, with options only) keeps running, as the
 * README says ("start each in its own terminal"): the test waits for its `listening on` lines and at
 * the end stops it with SIGTERM, which must exit 0. Every other command must exit 0, and a `receive`
 * after a `send --amount A` must take in A.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../core/free-port.js';
import { formatMoney, parseMoney } from '../core/money-format.js';
import { type CliRun, killAll, REPO_ROOT, type Started, startProcess } from '../test-support/process.js';

const LAUNCHER = join(REPO_ROOT, 'bin/lancash.js');
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
};
/** The currency of the demo and of "Running each part" (the servers' default). */
const UNIT = 'EUR';

/** The README's ```sh blocks in order, each with the heading above it and its non-blank lines. */
const blocks = [...README.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => {
  const above = README.slice(0, m.index);
  const heading = [...above.matchAll(/^#+ (.*)$/gm)].at(-1)?.[1] ?? '(top)';
  return { heading, lines: m[1]!.split('\n').filter((l) => l.trim() !== '') };
});

/** A line without its trailing `# comment` (the README's comments contain no quotes). */
const withoutComment = (line: string) => line.replace(/\s+#.*$/, '').trim();

/** The shell function that stands for npx (see the doc comment). */
const NPX = [
  'npx() {',
  '  if [ "$1" != lancash ]; then echo "npx $1: this test runs only npx lancash" >&2; return 127; fi',
  '  shift',
  '  exec "$LANCASH_README_NODE" "$LANCASH_README_BIN" "$@"',
  '}',
].join('\n');
/** A fixed port the README prints on a loopback or any address (`127.0.0.1:3338`): the number alone. */
const FIXED_PORT = /(?<=\b(?:127\.0\.0\.1|0\.0\.0\.0):)[1-9][0-9]*\b/g;
const ENV = { LANCASH_README_NODE: process.execPath, LANCASH_README_BIN: LAUNCHER };

describe('README.md, top to bottom, every command as printed', () => {
  let cwd: string;
  /** README port → the free port standing for it. */
  const ports = new Map<string, string>();
  const servers: { printed: string; started: Started }[] = [];

  /** Runs a command to completion. */
  const exec = (file: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliRun> =>
    new Promise((resolve) => {
      execFile(file, args, o, (e, stdout, stderr) => {
        const err = e as (Error & { code?: unknown; signal?: string }) | null;
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, signal: err?.signal ?? null, stdout, stderr });
      });
    });
  /** Runs one printed line (already substituted) in the shell, to completion. */
  const sh = (line: string) =>
    exec('/bin/sh', ['-c', `${NPX}\n${line}`], { cwd, env: { ...process.env, ...ENV } });

  /** The line with the README's fixed ports and address placeholders replaced (doc comment). */
  async function substitute(printed: string): Promise<string> {
    // Picked when first met, just before a server binds it (`core/free-port.ts` says why).
    for (const [port] of printed.matchAll(FIXED_PORT)) {
      if (!ports.has(port)) ports.set(port, String(await freePort()));
    }
    let line = printed.replace(FIXED_PORT, (port) => ports.get(port)!);
    for (const [placeholder, name, prefix] of line.matchAll(/<(\w+)'s ((?:lan|wan)1)… address>/g)) {
      const run = await sh(`npx lancash wallet --home data/demo/terminals/${name} address`);
      expect(run.code, run.stderr).toBe(0);
      const address = run.stdout.trim();
      expect(address.startsWith(prefix!), `${placeholder}: ${address}`).toBe(true);
      line = line.replace(placeholder, address);
    }
    return line;
  }

  /** Runs a block's lines in order: servers keep running, everything else must exit 0. */
  async function runBlock(lines: string[]): Promise<void> {
    let sent: string | undefined;
    for (const printed of lines) {
      const command = withoutComment(printed);
      if (!command.startsWith('npx lancash '))
        throw new Error(
          `README.md: "${printed}": this test runs only \`npx lancash …\` lines (its doc comment)`,
        );
      if (/[;&|]/.test(command.replace(/\$\([^)]*\)/g, '')))
        throw new Error(`README.md: "${printed}": one command per line (this test's doc comment)`);
      const line = await substitute(printed);
      const words = command.split(/\s+/);
      const server = /^(wide-bank|gateway)$/.test(words[2]!) && words[3]?.startsWith('--') === true;
      if (server) {
        const listeners = words[2] === 'gateway' ? 2 : words.includes('--metrics-listen') ? 2 : 1;
        const started = await startProcess([], {
          command: ['/bin/sh', '-c', `${NPX}\n${line}`],
          cwd,
          env: ENV,
          listeners,
        });
        servers.push({ printed, started });
        continue;
      }
      const run = await sh(line);
      expect(run.code, `${printed}\n${run.stderr}`).toBe(0);
      // A payment sent is a payment the next `receive` takes in (same network or through the gateway).
      const amount = / send .*--amount (\S+)/.exec(command);
      if (amount && !command.includes(' token send ')) sent = amount[1];
      if (command.endsWith(' receive') && sent !== undefined) {
        expect(run.stdout, printed).toContain(`received ${formatMoney(parseMoney(sent, UNIT), UNIT)}`);
        sent = undefined;
      }
    }
  }

  beforeAll(async () => {
    if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js')))
      throw new Error('dist/ is not built: run `npm install` or `npm run build` first');
    cwd = mkdtempSync(join(tmpdir(), 'lancash-readme-'));
  });
  afterAll(async () => {
    await killAll();
    if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
  });

  it('the first block: npm install, npm start (the demo, which keeps serving), npm test', async () => {
    expect(blocks[0]?.heading).toBe('lancash');
    expect(blocks[0]?.lines.map(withoutComment)).toEqual(['npm install && npm start', 'npm test']);
    expect(PACKAGE.scripts.start).toBe('node bin/lancash.js demo');
    const [node, launcher, ...args] = PACKAGE.scripts.start!.split(' ');
    expect([node, launcher]).toEqual(['node', 'bin/lancash.js']);
    const demo = await startProcess(args, {
      command: [process.execPath, LAUNCHER],
      cwd,
      ready: /^Running \(Ctrl-C stops\):$/,
      startTimeoutMs: 60_000,
    });
    servers.push({ printed: 'npm start', started: demo });
    expect(demo.stdout()).toContain('Audit: balanced');
  }, 90_000);

  it('npx lancash in the checkout runs its bin/lancash.js (offline: nothing is fetched)', async () => {
    const run = await exec('npx', ['lancash', '--version'], {
      cwd: REPO_ROOT,
      env: { ...process.env, npm_config_offline: 'true' },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(PACKAGE.version);
  });

  it('the --once --json run is the command src/demo/demo.test.ts runs', () => {
    expect(README).toContain('`npx lancash demo --once --json` runs the same scenario');
  });

  // Every block after the first, in order, in the same directory.
  for (const [i, block] of blocks.slice(1).entries()) {
    it(`block ${i + 2}, under "${block.heading}": every command works as printed`, async () => {
      await runBlock(block.lines);
    }, 120_000);
  }

  it('every server the README started stops on SIGTERM with exit 0', async () => {
    expect(servers.map((s) => s.printed.split(' ').slice(0, 3).join(' '))).toEqual([
      'npm start',
      'npx lancash wide-bank',
      'npx lancash gateway',
    ]);
    for (const { printed, started } of servers.reverse()) {
      expect(await started.kill('SIGTERM'), `${printed}\n${started.stderr()}`).toBe(0);
    }
  });
});
