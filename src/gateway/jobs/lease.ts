/**
 * Who may drive the job journal (docs/gateway.md, "Running several gateway processes"). On PostgreSQL
 * any number of gateway processes share it, each job under a lease named after its process
 * (`leaseOwnerName`). SQLite is one process per database file: `holdSqliteJournal` takes an exclusive
 * lock beside the file for as long as the process lives, so a second gateway (or `gateway reconcile`)
 * on the same file is refused at start. The operating system drops the lock when the process dies,
 * however it dies, so a restart after a crash is never refused.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import BetterSqlite3 from 'better-sqlite3';
import { fail } from '../../core/errors.js';

/** How long a job's lease holds unless renewed (renewed every third of it). */
export const DEFAULT_LEASE_MS = 5_000;

/** This process's name in `gateway_jobs.lease_owner`: host and pid for the operator, random to be unique. */
export function leaseOwnerName(): string {
  return `${hostname().slice(0, 64)}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

/** The lock file beside a SQLite journal. */
export function journalLockFile(file: string): string {
  return `${file}.lock`;
}

/**
 * Holds the lock on SQLite journal `file` until `release` (or the process's end), or refuses with
 * `GatewayRunning` (74016) when another process holds it. The lock is SQLite's own exclusive lock on a
 * small database beside the journal (`<file>.lock`), kept by a connection in exclusive locking mode:
 * an advisory lock of the operating system, released with the process.
 */
export function holdSqliteJournal(file: string): { release(): void } {
  const path = journalLockFile(file);
  const db = new BetterSqlite3(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // A write takes the exclusive lock, and exclusive locking mode keeps it after the commit.
    db.exec('begin exclusive; create table if not exists holder (pid integer); delete from holder;');
    db.prepare('insert into holder (pid) values (?)').run(process.pid);
    db.exec('commit');
  } catch (e) {
    db.close();
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      fail(
        'GatewayRunning',
        { database: file },
        `another gateway process is running on ${file} (it holds ${path}): a SQLite gateway is one ` +
          'process per database. Stop the other process first, or run several processes on one ' +
          'PostgreSQL database (--db postgres://…; docs/gateway.md, "Running several gateway processes")',
      );
    }
    throw e;
  }
  return { release: () => db.close() };
}
