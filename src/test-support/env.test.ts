/** `dialectsFromEnv`: how `LANCASH_TEST_DIALECTS` narrows the storage test matrix. */
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { dialectsFromEnv } from './env.js';

describe('dialectsFromEnv', () => {
  it.each([
    [undefined, ['sqlite', 'postgres']],
    ['', ['sqlite', 'postgres']],
    ['sqlite', ['sqlite']],
    ['postgres', ['postgres']],
    [' Postgres , sqlite ', ['sqlite', 'postgres']],
  ])('%j → %j', (raw, expected) => {
    expect(dialectsFromEnv(raw)).toEqual(expected);
  });

  it('refuses an unknown dialect instead of silently testing nothing', () => {
    let err: unknown;
    try {
      dialectsFromEnv('sqlite,mysql');
    } catch (e) {
      err = e;
    }
    expect(isLancashError(err, 'InvalidInput')).toBe(true);
  });
});
