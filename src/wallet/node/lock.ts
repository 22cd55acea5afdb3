/**
 * One wallet process per home directory at a time: a lock file holding the owner's pid. SQLite keeps
 * every commit atomic on its own; the lock keeps two processes from resuming the same open operation
 * at once. A lock left by a process that died (SIGKILL, power cut) is taken over.
 *
 * The lock file appears with its pid already in it: the pid is written to a file of this process's
 * own and hard-linked into place (`link` fails when the lock exists, atomically). Creating the lock
 * empty and writing the pid after it left a moment in which a second process read no pid, took the
 * lock for abandoned and removed it: two holders. A dead owner's lock is removed only under a
 * second lock, `wallet.lock.break`, after reading it again there, so two processes taking over the
 * same dead lock cannot remove the lock one of them has just made.
 */
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../core/errors.js';

export interface Lock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Links a file holding this process's pid to `file`; false when `file` exists already. */
function create(file: string): boolean {
  const own = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(own, String(process.pid), { flag: 'wx', mode: 0o600 });
  try {
    linkSync(own, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(own, { force: true });
  }
}

/** A lock file's text and age; undefined when it is gone. */
function readLock(file: string): { text: string; ageMs: number } | undefined {
  try {
    return { text: readFileSync(file, 'utf8'), ageMs: Date.now() - statSync(file).mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * No live process holds the lock: its pid is gone, or is this process's own (a pid reused after a
 * crash). A lock without a pid (left empty by an older version that died while making it) counts as
 * held for `EMPTY_LOCK_GRACE_MS`, since such a lock may still be being written.
 */
const EMPTY_LOCK_GRACE_MS = 10_000;
function abandoned(lock: { text: string; ageMs: number }): boolean {
  const pid = Number.parseInt(lock.text, 10);
  if (!Number.isSafeInteger(pid)) return lock.ageMs > EMPTY_LOCK_GRACE_MS;
  return pid === process.pid || !alive(pid);
}

function busy(home: string, text?: string): never {
  const pid = text === undefined ? Number.NaN : Number.parseInt(text, 10);
  const known = Number.isSafeInteger(pid);
  return fail(
    'WalletBusy',
    { reason: known ? `pid ${pid}` : 'lock contended' },
    `the wallet in ${home} is in use by ${known ? `process ${pid}` : 'another process'}; try again when it has finished`,
  );
}

/**
 * Removes `file` if it still holds `text` (the abandoned lock read before), under `<file>.break`. A
 * break lock whose owner died (between two system calls) is removed and the caller told to try again.
 */
function breakAbandoned(home: string, file: string, text: string): void {
  const guard = `${file}.break`;
  if (!create(guard)) {
    const breaker = readLock(guard);
    if (breaker !== undefined && abandoned(breaker)) rmSync(guard, { force: true });
    busy(home);
  }
  try {
    // Under the break lock nobody else removes `file`, and nobody can make a new one while it exists.
    if (readLock(file)?.text === text) rmSync(file, { force: true });
  } finally {
    rmSync(guard, { force: true });
  }
}

/** Takes `<home>/wallet.lock` or throws `WalletBusy` naming the process that holds it. */
export function lockHome(home: string): Lock {
  const file = join(home, 'wallet.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(file)) return { release: () => rmSync(file, { force: true }) };
    const lock = readLock(file);
    if (lock === undefined) continue; // released meanwhile
    if (!abandoned(lock)) return busy(home, lock.text);
    breakAbandoned(home, file, lock.text);
  }
  return busy(home);
}
