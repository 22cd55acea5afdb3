/**
 * A throwaway PostgreSQL server from Debian's binaries (newest `/usr/lib/postgresql/N/bin`): a temp
 * directory, a free loopback port, stopped and deleted at the end. The test suite and the benchmarks
 * use it when no `DATABASE_URL` is given. As root, the server runs as the `postgres` user (initdb
 * refuses root).
 *
 * A server must not outlive its owner even if that dies: it runs under a small shell that stops it
 * when our end of its stdin closes, which the kernel does for us however this process ends.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fail } from '../../core/errors.js';
import { freePort } from '../../core/free-port.js';

export const PG_ROOT = '/usr/lib/postgresql';
const READY_TIMEOUT_MS = 30_000;

export interface ThrowawayPostgres {
  /** Over loopback TCP. */
  adminUrl: string;
  /**
   * The same database over the server's Unix socket (in its own directory): a statement's round trip
   * then skips the TCP stack, ≈ 45 µs of kernel CPU a loopback write (docs/performance.md).
   */
  socketUrl: string;
  version: string;
  port: number;
  stop: () => Promise<void>;
}

export interface ThrowawayOptions {
  /** fsync and full-page writes on (benchmarks); off for tests, where a crash loses nothing of value. */
  durable?: boolean;
  /**
   * Load pg_stat_statements (utility statements and planning counted too): what `bench --pg-stats`
   * reads per statement. Off by default: the extension's hooks cost every statement a little.
   */
  statements?: boolean;
  /**
   * WAL segments made and recycled before the server is handed out (default none): a server in
   * service has them, a fresh one creates each on the commit path (`warmWal`). For benchmarks.
   */
  walSegments?: number;
}

/** The server settings behind `ThrowawayOptions.statements`. */
const STATEMENT_STATS = [
  'shared_preload_libraries=pg_stat_statements',
  'pg_stat_statements.track_utility=on',
  'pg_stat_statements.track_planning=on',
  'pg_stat_statements.max=5000',
].flatMap((setting) => ['-c', setting]);

/** The bin directory of the newest installed major version that has `initdb` and `postgres`. */
export function newestPostgresBin(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  return readdirSync(PG_ROOT)
    .filter((v) => /^\d+(?:\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(PG_ROOT, v, 'bin'))
    .find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
}

export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>(`select current_setting('server_version') as v`);
    return rows[0]?.v.split(' ')[0] ?? 'unknown';
  } finally {
    await client.end().catch(() => {});
  }
}

/** initdb refuses to run as root: as root, the server runs as the `postgres` user. */
function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Starts a server from `bin` (default: the newest installed); throws `StorageUnavailable` when none. */
export async function startThrowawayPostgres(
  o: ThrowawayOptions = {},
  bin = newestPostgresBin(),
): Promise<ThrowawayPostgres> {
  if (bin === undefined) {
    fail('StorageUnavailable', { reason: `no PostgreSQL binaries under ${PG_ROOT}/*/bin` });
  }
  const dir = mkdtempSync(join(tmpdir(), 'lancash-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  const user = serverUser();
  if (user.uid !== undefined && user.gid !== undefined) chownSync(dir, user.uid, user.gid);

  let child: ChildProcess | undefined;
  const killNow = () => {
    // Last resort, synchronous (process 'exit'): immediate shutdown of the postmaster.
    const pid = Number(readFileSafe(join(data, 'postmaster.pid')).split('\n')[0]);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  try {
    const init = spawnSync(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-N', '-E', 'UTF8', '--locale=C'],
      { ...user, encoding: 'utf8' },
    );
    if (init.status !== 0) {
      fail('StorageUnavailable', { reason: 'initdb failed' }, `initdb failed: ${init.stderr || init.error}`);
    }
    const port = await freePort();
    // Loopback only, socket in our own directory, quiet log; durability only when asked for.
    const durability = o.durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off'];
    const args = [
      ...['-D', data, '-p', String(port), '-k', dir],
      ...['-c', 'listen_addresses=127.0.0.1', ...durability, ...(o.statements ? STATEMENT_STATS : [])],
      ...['-c', 'max_connections=300', '-c', 'log_min_messages=fatal', '-c', 'log_min_error_statement=panic'],
    ];
    // The watchdog shell: start postgres, wait for EOF on stdin, fast shutdown (SIGINT), delete the dir.
    const watchdog =
      'dir=$1; shift; "$@" >>"$dir/postgres.log" 2>&1 </dev/null & pid=$!; read _; kill -INT $pid; wait $pid; rm -rf "$dir"';
    child = spawn('sh', ['-c', watchdog, 'sh', dir, join(bin, 'postgres'), ...args], {
      ...user,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    // pg takes a socket directory as the `host` parameter (it overrides the URL's host).
    const socketUrl = `postgres://postgres@localhost:${port}/postgres?host=${encodeURIComponent(dir)}`;
    const version = await waitReady(adminUrl, child, log);
    if (o.walSegments !== undefined && o.walSegments > 0) await warmWal(adminUrl, o.walSegments);
    const running = child;
    const stop = async () => {
      process.removeListener('exit', killNow);
      const exited = new Promise<void>((resolve) => {
        if (running.exitCode !== null || running.signalCode !== null) resolve();
        else running.once('exit', () => resolve());
      });
      running.stdin?.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    };
    return { adminUrl, socketUrl, version, port, stop };
  } catch (err) {
    child?.stdin?.end();
    killNow();
    process.removeListener('exit', killNow);
    throw err;
  }
}

/**
 * Makes `segments` WAL segments and has a checkpoint recycle them, as a server in service has them.
 * A fresh cluster has one segment, and each next one is created when a commit first writes into it:
 * zero-filled (`wal_init_zero`, 16 MB) and synced while that backend holds the WAL write lock, so
 * every commit of the server waits for it (60–160 ms on the bench machine's disk, `dd` of 16 MB with
 * `conv=fsync`). In service a checkpoint renames the segments it frees to future names instead
 * ("recycled": https://www.postgresql.org/docs/15/wal-configuration.html), and the commit path only
 * opens one. Each switch below ends a segment that holds one insert; the checkpoint then recycles
 * them (its recycle target follows the WAL written between checkpoints: the switches' whole segments).
 */
export async function warmWal(url: string, segments: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create table lancash_wal_warmup (x int)');
    for (let i = 0; i < segments; i++) {
      // A switch with nothing written since the last one is a no-op: write a row first.
      await client.query('insert into lancash_wal_warmup values (1)');
      await client.query('select pg_switch_wal()');
    }
    await client.query('drop table lancash_wal_warmup');
    await client.query('checkpoint');
  } finally {
    await client.end().catch(() => {});
  }
}

async function waitReady(url: string, child: ChildProcess, log: string): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      return await serverVersion(url);
    } catch (err) {
      const gone = child.exitCode !== null || child.signalCode !== null;
      if (gone || Date.now() > deadline) {
        const reason = gone ? 'postgres exited' : `not ready after ${READY_TIMEOUT_MS} ms`;
        fail('StorageUnavailable', { reason }, `${reason}: ${String(err)}\n${readFileSafe(log)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
