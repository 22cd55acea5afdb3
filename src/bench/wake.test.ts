/**
 * `wake.ts`: both figures are real means over the rounds asked for. No timing is asserted: how long a
 * hop takes is the machine's, not the code's.
 */
import { describe, expect, it } from 'vitest';
import { wakeCost } from './wake.js';

describe('wakeCost', () => {
  it('reports a hot and an after-idle hop as positive, finite means, with the rounds and idle asked for', async () => {
    const w = await wakeCost(20, 2);
    expect(w).toMatchObject({ rounds: 20, idleMs: 2 });
    for (const hop of [w.hot, w.afterIdle]) {
      expect(Number.isFinite(hop.roundTripUs) && hop.roundTripUs > 0).toBe(true);
      expect(Number.isFinite(hop.cpuUs) && hop.cpuUs >= 0).toBe(true);
    }
  });
});
