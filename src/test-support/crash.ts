/**
 * Crash-test helpers: real `lancash wide-bank` and `lancash gateway` processes, armed with a
 * `LANCASH_FAULT` point and restartable on the same ports, the databases they write opened beside
 * them, all kept in one group that `close()` (in `afterEach`) kills and closes; the check that a
 * process killed itself at the armed point; and the wait for a job's notice to go out. The wide bank
 * keeps its SQLite file; the gateway's database is of the group's dialect: a SQLite file in the data
 * directory, or a fresh PostgreSQL database per data directory (the directory names it).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type DialectName, openStore, parseStoreUrl, type Store } from '../store/index.js';
import { freshDatabaseUrl } from './dialects.js';
import { type Started, startProcess } from './process.js';

export interface CrashGroup {
  /** `lancash wide-bank` on `data`; `listen` restarts it on a known address. */
  startBank(data: string, o?: { fault?: string; listen?: string }): Promise<Started>;
  /**
   * `lancash gateway` on `data` (its database: `gatewayDbArgs(data)`) with a short retry cap;
   * `lan`/`wan` restart it on known addresses.
   */
  startGateway(
    data: string,
    bankUrl: string,
    o?: { fault?: string; lan?: string; wan?: string },
  ): Promise<Started>;
  /** A SQLite store on `file`, closed with the group. */
  openAt(file: string): Promise<Store>;
  /** The gateway's database options for `data` (`--data DIR` or `--db URL`), as its CLI takes them. */
  gatewayDbArgs(data: string): Promise<string[]>;
  /** A store on the gateway's database for `data`, closed with the group. */
  openGateway(data: string): Promise<Store>;
  /**
   * The operator token of the gateway on `data`: its `operator.token` (SQLite: `--data`), or the
   * group's, given as `LANCASH_OPERATOR_TOKEN` (PostgreSQL: `--db` only, no data directory to keep it).
   */
  operatorToken(data: string): string;
  /** Kills every process started and closes every store opened since the last close. */
  close(): Promise<void>;
}

export function crashGroup(o: { dialect?: DialectName } = {}): CrashGroup {
  const dialect = o.dialect ?? 'sqlite';
  const procs: Started[] = [];
  const stores: Store[] = [];
  // PostgreSQL: one fresh database per data directory, made at its first use.
  const urls = new Map<string, Promise<string>>();
  const urlOf = (data: string): Promise<string> => {
    let url = urls.get(data);
    if (url === undefined) {
      url = freshDatabaseUrl(dialect);
      urls.set(data, url);
    }
    return url;
  };
  const gatewayDbArgs = async (data: string) =>
    dialect === 'sqlite' ? ['--data', data] : ['--db', await urlOf(data)];
  const opened = async (s: Promise<Store>) => {
    const store = await s;
    stores.push(store);
    return store;
  };
  const token = randomBytes(32).toString('base64url');
  const gatewayEnv = (fault: string | undefined) => ({
    env: {
      ...(fault ? { LANCASH_FAULT: fault } : {}),
      ...(dialect === 'sqlite' ? {} : { LANCASH_OPERATOR_TOKEN: token }),
    },
  });
  const faultEnv = (fault: string | undefined) => (fault ? { env: { LANCASH_FAULT: fault } } : {});
  const track = (p: Started): Started => {
    procs.push(p);
    return p;
  };
  return {
    startBank: async (data, o = {}) =>
      track(
        await startProcess(
          ['wide-bank', '--lightning', 'fake', '--listen', o.listen ?? '127.0.0.1:0', '--data', data],
          faultEnv(o.fault),
        ),
      ),
    startGateway: async (data, bankUrl, o = {}) =>
      track(
        await startProcess(
          [
            'gateway',
            ...['--lan', o.lan ?? '127.0.0.1:0', '--wan', o.wan ?? '127.0.0.1:0'],
            ...['--wide-bank', bankUrl, ...(await gatewayDbArgs(data)), '--retry-cap-ms', '300'],
          ],
          { listeners: 2, ...gatewayEnv(o.fault) },
        ),
      ),
    openAt: (file) => opened(openStore({ dialect: 'sqlite', file })),
    gatewayDbArgs,
    openGateway: async (data) =>
      opened(
        openStore(
          dialect === 'sqlite'
            ? { dialect, file: join(data, 'gateway.db') }
            : parseStoreUrl(await urlOf(data)),
        ),
      ),
    operatorToken: (data) =>
      dialect === 'sqlite' ? readFileSync(join(data, 'operator.token'), 'utf8').trim() : token,
    close: async () => {
      await Promise.all(procs.splice(0).map((p) => p.kill()));
      for (const s of stores.splice(0)) await s.close();
    },
  };
}

/** Waits until the process is gone, and checks it killed itself at `point`. */
export async function died(p: Started, point: string): Promise<void> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) {
    await new Promise((resolve) => p.proc.once('close', resolve));
  }
  expect(p.proc.signalCode).toBe('SIGKILL');
  expect(p.stderr()).toContain(`fault injected at ${point}`);
}

/** `http://127.0.0.1:1234` → `127.0.0.1:1234`, to restart a process on the same port. */
export function hostPort(url: string): string {
  return new URL(url).host;
}

/** Waits until the job's notice went out (the gateway's journal says `sent`). */
export async function noticeSent(gw: Store, id: string): Promise<void> {
  for (;;) {
    const row = await gw.db
      .selectFrom('gateway_jobs')
      .select('notice')
      .where('id', '=', id)
      .executeTakeFirst();
    if (row?.notice === 'sent') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
