/**
 * `retryingConflicts`: a one-statement write aborted for a deadlock or a serialization failure runs
 * again (it wrote nothing), any other error is thrown at once, and a write that keeps conflicting
 * gives up after its attempts with the server's error.
 */
import { describe, expect, it } from 'vitest';
import { retryingConflicts, sqlState } from './retry.js';

const aborted = (code: string) => Object.assign(new Error(`aborted ${code}`), { code });

describe('retryingConflicts', () => {
  it('runs the statement again after 40P01 and 40001, and answers its result', async () => {
    const codes = ['40P01', '40001'];
    let runs = 0;
    const r = await retryingConflicts(async () => {
      runs++;
      const code = codes.shift();
      if (code !== undefined) throw aborted(code);
      return 'written';
    });
    expect(r).toBe('written');
    expect(runs).toBe(3);
  });

  it('throws any other error at once: a refusal is not run again', async () => {
    let runs = 0;
    const refusal = aborted('LC003');
    await expect(
      retryingConflicts(async () => {
        runs++;
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(runs).toBe(1);
  });

  it('gives up after five attempts with the server’s error', async () => {
    let runs = 0;
    await expect(
      retryingConflicts(async () => {
        runs++;
        throw aborted('40P01');
      }),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(runs).toBe(5);
  });

  it('reads the SQLSTATE of a driver error only', () => {
    expect(sqlState(aborted('40001'))).toBe('40001');
    expect(sqlState(new Error('plain'))).toBeUndefined();
    expect(sqlState({ code: 7 })).toBeUndefined();
    expect(sqlState(null)).toBeUndefined();
  });
});
