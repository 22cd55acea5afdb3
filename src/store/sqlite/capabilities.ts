/**
 * SQLite's capabilities: one writer at a time per file. `BEGIN IMMEDIATE` takes the write lock up
 * front, so a second writer (another process) waits on `busy_timeout` instead of failing a read→write
 * lock upgrade; the same lock serialises migrations. Nothing to retry: conflicts queue, they do not abort.
 */
import type { Capabilities } from '../dialect.js';

export const capabilities: Capabilities = {
  beginWrite: 'begin immediate',
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
  migrationLock: { acquire: 'begin immediate', release: 'commit', abort: 'rollback' },
};
