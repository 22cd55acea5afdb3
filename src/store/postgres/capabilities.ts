/**
 * PostgreSQL's capabilities: many writers at once, in READ COMMITTED, with the unique constraints
 * and row locks doing the guarding (docs/design.md §7: several processes share one database). The database
 * may abort a transaction to break a deadlock or a serialization conflict; such a transaction is
 * run again from the start. Migrations take a session-level advisory lock.
 */
import type { Capabilities } from '../dialect.js';

/** Advisory lock key for migrations: the ASCII bytes of "lancash" as an integer. */
export const MIGRATION_LOCK_KEY = '30506424226378600';

export const capabilities: Capabilities = {
  beginWrite: 'begin isolation level read committed',
  // One simple-protocol round trip (no parameters: pg sends it as one Query message, both statements).
  // `set local` ends with the transaction, committed or rolled back: nothing to put back on the
  // pooled connection. With synchronous_commit off the commit returns before its WAL is flushed; a
  // server crash may lose it (never corrupt: https://www.postgresql.org/docs/current/wal-async-commit.html),
  // and a later synchronous commit's flush covers every WAL record before it.
  relaxedCommit: {
    before: [],
    begin: 'begin isolation level read committed; set local synchronous_commit = off',
    after: [],
  },
  maxAttempts: 5,
  // SQLSTATE serialization_failure, deadlock_detected.
  retryCodes: new Set(['40001', '40P01']),
  // SQLSTATE unique_violation.
  uniqueViolationCodes: new Set(['23505']),
  // SQLSTATE class 08 (connection), 57P0x (server shutting down), too_many_connections, disk_full,
  // out_of_memory, io_error, and socket errors.
  unavailableCodes: new Set([
    '08000',
    '08001',
    '08003',
    '08004',
    '08006',
    '57P01',
    '57P02',
    '57P03',
    '53300',
    '53100',
    '53200',
    '58030',
    // lock_not_available: a lock waited for past the pool's `lock_timeout` (`PostgresConfig.lockTimeoutMs`;
    // lancash takes no lock with NOWAIT, which would raise it too).
    '55P03',
    'ENOSPC',
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'ENOTFOUND',
  ]),
  // The migrating connection waits for the lock and its DDL's table locks without the pool's
  // `lock_timeout` (`PostgresConfig.lockTimeoutMs`): another process may migrate for minutes, and a
  // start must wait for it, not fail. RESET gives the connection its pool's setting back.
  migrationLock: {
    acquire: ['set lock_timeout = 0', `select pg_advisory_lock(${MIGRATION_LOCK_KEY})`],
    release: [`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`, 'reset lock_timeout'],
    abort: [`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`, 'reset lock_timeout'],
  },
  // Old row versions stay until VACUUM, and in the WAL archive and backups: the DBA's (docs/storage.md).
  secureOverwrite: { before: [], after: [] },
};
