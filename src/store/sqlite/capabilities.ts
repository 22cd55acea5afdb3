/**
 * SQLite's capabilities: one writer at a time per file. `BEGIN IMMEDIATE` takes the write lock up
 * front, so a second writer (another process) waits on `busy_timeout` instead of failing a read→write
 * lock upgrade; the same lock serialises migrations. Nothing to retry: conflicts queue, they do not abort.
 */
import type { Capabilities } from '../dialect.js';

export const capabilities: Capabilities = {
  beginWrite: 'begin immediate',
  // `synchronous` is per connection and may not change inside a transaction ("Safety level may not be
  // changed inside a transaction"): set before BEGIN, back to the store's FULL (`connect.ts`) after. In
  // WAL mode NORMAL skips the WAL's fsync at commit (https://sqlite.org/pragma.html#pragma_synchronous:
  // "a transaction committed in WAL mode with synchronous=NORMAL might roll back following a power loss
  // or system crash", never after an application crash). The next FULL commit's fsync of the WAL file
  // makes every frame before it durable too, so a durable commit never outlives a relaxed one before it.
  relaxedCommit: {
    before: ['pragma synchronous = normal'],
    begin: 'begin immediate',
    after: ['pragma synchronous = full'],
  },
  maxAttempts: 1,
  retryCodes: new Set(),
  uniqueViolationCodes: new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']),
  // Locked by another process, disk full, I/O error (with its extended codes, SQLITE_IOERR_WRITE…).
  unavailableCodes: new Set([
    'SQLITE_BUSY',
    'SQLITE_BUSY_SNAPSHOT',
    'SQLITE_BUSY_RECOVERY',
    'SQLITE_LOCKED',
    'SQLITE_FULL',
    'SQLITE_IOERR',
    'ENOSPC',
  ]),
  migrationLock: { acquire: ['begin immediate'], release: ['commit'], abort: ['rollback'] },
  // secure_delete zeroes the cells an UPDATE frees (else the old value stays in the page's free
  // space); a TRUNCATE checkpoint copies the pages home and empties the WAL, which held old pages.
  secureOverwrite: {
    before: ['pragma secure_delete = on'],
    after: ['pragma secure_delete = off', 'pragma wal_checkpoint(truncate)'],
  },
};
