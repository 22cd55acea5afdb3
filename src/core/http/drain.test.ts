/**
 * Real server processes (through `test-support/process.ts`): a server built by `createServer` prints
 * `listening on URL`, and on SIGTERM finishes the request in flight, closes and exits 0. Also the
 * process helper's own contract: several listening lines, early exits, `killAll`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAll, lancashCommand, REPO_ROOT, startProcess } from '../../test-support/process.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-drain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => killAll());

const serverModule = pathToFileURL(join(REPO_ROOT, 'src/core/http/server.ts')).href;

/** Writes a throwaway entry point (the real CLI commands arrive with the roles). */
function script(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** Two listeners, like the gateway; `/slow` holds its answer until the process is told to stop. */
const drainServer = script(
  'drain-server.mts',
  `
import { createServer, drainOnSignals, listen } from ${JSON.stringify(serverModule)};
let release = () => {};
const held = new Promise<void>((resolve) => { release = resolve; });
process.once('SIGTERM', () => release());
const lan = await createServer({ name: 'lan', logger: false });
lan.get('/slow', async () => {
  process.stdout.write('slow request in flight\\n');
  await held;
  return { finished: true };
});
const wan = await createServer({ name: 'wan', logger: false });
drainOnSignals([lan, wan], async () => { process.stdout.write('stores closed\\n'); });
process.stdout.write('listening on ' + (await listen(lan, '127.0.0.1:0')) + '\\n');
process.stdout.write('listening on ' + (await listen(wan, '127.0.0.1:0')) + '\\n');
`,
);

describe('processes', () => {
  it('drains on SIGTERM: the request in flight completes, then exit 0', async () => {
    const p = await startProcess([], { script: drainServer, listeners: 2 });
    expect(p.urls).toHaveLength(2);
    expect(p.url).toBe(p.urls[0]);
    expect(p.stdout().split('\n')[0]).toBe(`listening on ${p.url}`);
    expect((await request(`${p.urls[1]}/healthz`)).statusCode).toBe(200);

    const inFlight = request(`${p.url}/slow`);
    await until(() => p.stdout().includes('slow request in flight'));
    const exitCode = p.kill('SIGTERM');
    const answer = await inFlight;
    expect(answer.statusCode).toBe(200);
    expect(answer.headers.connection).toBe('close'); // so closing need not wait on an idle keep-alive socket
    expect(await answer.body.json()).toEqual({ finished: true });
    expect(await exitCode).toBe(0);
    expect(p.stdout()).toContain('stores closed');
  });

  it('rejects with the collected stderr when the process exits before listening', async () => {
    const broken = script(
      'broken.mts',
      `console.error('cannot open database: disk full'); process.exit(3);\n`,
    );
    await expect(startProcess([], { script: broken })).rejects.toThrow(/exited with 3[\s\S]*disk full/);
  });

  it('killAll stops every process still running', async () => {
    const idle = script(
      'idle.mts',
      `setInterval(() => {}, 1000);\nconsole.log('listening on http://127.0.0.1:1');\n`,
    );
    const a = await startProcess([], { script: idle });
    const b = await startProcess([], { script: idle });
    await killAll('SIGKILL');
    expect(a.proc.signalCode).toBe('SIGKILL');
    expect(b.proc.signalCode).toBe('SIGKILL');
    expect(await a.kill()).toBeNull(); // already gone: resolves at once with its exit status
  });

  it('runs the CLI by default', async () => {
    const cli = startProcess(['--version']);
    // The build or the sources, as the tests' runtime says (`lancashCommand`).
    const entry = lancashCommand().at(-1)!.replaceAll('.', '\\.');
    await expect(cli).rejects.toThrow(new RegExp(`^${entry} --version exited with \\d+ before listening`));
  });
});

/** Polls a condition of the child's output (no timing assertion: the test timeout bounds it). */
async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((resolve) => setTimeout(resolve, 10));
}
