/**
 * The per-client intake bounds: notes in flight per client and in total (released once), and the
 * per-client and shared bank-call buckets refilling with time; each refusal is `RateLimited`, counted.
 */
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../../core/errors.js';
import { IntakeLimits } from './intake-limits.js';

function refused(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    if (!isLancashError(e, 'RateLimited')) throw e;
    return e.info.retryAfterSeconds;
  }
}

describe('intake limits', () => {
  it('bounds the notes one client and all clients have in intake; a release frees them once', () => {
    const bounds: string[] = [];
    const limits = new IntakeLimits({
      notesPerClient: 100,
      notesTotal: 250,
      onLimited: (b) => bounds.push(b),
    });
    // Alone, a client may send one request of any size.
    const big = limits.admit('a', 150);
    expect(refused(() => limits.admit('a', 1))).toBe(1);
    const b1 = limits.admit('b', 60);
    const b2 = limits.admit('b', 40);
    expect(refused(() => limits.admit('b', 1))).toBe(1);
    expect(refused(() => limits.admit('c', 1))).toBe(1); // 250 in flight in all
    expect(bounds).toEqual(['notes-per-client', 'notes-per-client', 'notes-total']);
    big();
    big(); // twice is once
    expect(refused(() => limits.admit('c', 100))).toBeUndefined();
    b1();
    expect(refused(() => limits.admit('b', 60))).toBeUndefined();
    b2();
  });

  it('draws bank calls from a per-client and a shared bucket, refilled with time', () => {
    let now = 0;
    const limits = new IntakeLimits({
      bankCallsPerClient: { burst: 2, perSecond: 1 },
      bankCallsTotal: { burst: 3, perSecond: 10 },
      clock: () => now,
    });
    limits.bankCall('a');
    limits.bankCall('a');
    expect(refused(() => limits.bankCall('a'))).toBe(1);
    limits.bankCall('b');
    expect(refused(() => limits.bankCall('c'))).toBe(1); // the shared bucket is empty
    now += 1000;
    limits.bankCall('a');
    expect(refused(() => limits.bankCall('a'))).toBe(1);
    limits.bankCall('c');
  });
});
