/**
 * The operator key: a random bearer token that guards the gateway's operator routes (the
 * per-terminal history now; payroll and payout later). It comes from `LANCASH_OPERATOR_TOKEN`, or from
 * `DIR/operator.token`, written (mode 0600) on first start with `--data DIR`. Compared in constant
 * time; never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.js';

export const OPERATOR_TOKEN_FILE = 'operator.token';

/**
 * The operator token: the environment's, else the data directory's (created on first start), else
 * undefined (operator routes then refuse everyone).
 */
export function loadOperatorToken(o: {
  env?: string | undefined;
  dataDir?: string | undefined;
}): string | undefined {
  if (o.env !== undefined && o.env.trim() !== '') return o.env.trim();
  if (o.dataDir === undefined) return undefined;
  const file = join(o.dataDir, OPERATOR_TOKEN_FILE);
  if (!existsSync(file)) {
    // `wx`: of two processes starting at once, one writes and the other reads what it wrote.
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }
  return readFileSync(file, 'utf8').trim();
}

/** A check of `Authorization: Bearer <token>`; throws `OperatorUnauthorized` when it is missing or wrong. */
export function operatorGuard(token: string | undefined): (authorization: string | undefined) => void {
  const expected = token === undefined ? undefined : digest(token);
  return (authorization) => {
    if (expected === undefined) {
      fail(
        'OperatorUnauthorized',
        { reason: 'no operator token is configured' },
        'operator routes are disabled',
      );
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Hashing first gives equal lengths, so the comparison takes the same time whatever was sent.
    if (m === null || !timingSafeEqual(digest(m[1]!), expected)) {
      fail(
        'OperatorUnauthorized',
        { reason: 'bearer token missing or wrong' },
        'operator token missing or wrong',
      );
    }
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
