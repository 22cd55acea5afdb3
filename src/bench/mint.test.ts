/**
 * `bench mint`'s warm-up chain: swaps that feed on each other's outputs must each be a valid swap of
 * `BATCH` fresh notes (the mint refuses a note it did not sign, a note spent before, a locked note
 * without its witness), with `IN_FLIGHT` of them at once never running out of inputs; locked chains
 * must stay locked. Counted by the swaps the mint answered, never by time.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseWellKnownSecret } from '../core/conditions/secret.js';
import type { Proof } from '../core/protocol/cashu.js';
import { DIALECTS, postgresUrl } from '../test-support/dialects.js';
import { BATCH, IN_FLIGHT, withBenchMint } from './harness.js';
import { warmupChain } from './mint.js';

const ROUNDS = 3;

describe.each(DIALECTS)('the warm-up chain on %s', (dialect) => {
  it.each([false, true])(
    'runs IN_FLIGHT swaps at once, round after round, on its own outputs (locked: %s)',
    async (locked) => {
      await withBenchMint(dialect, { serverUrl: postgresUrl() ?? '' }, async ({ mint, curve }) => {
        const ks = mint.keysets.current();
        const swap = vi.spyOn(mint, 'swap');
        const step = warmupChain(mint, curve, ks, { locked });
        for (let r = 0; r < ROUNDS; r++) await Promise.all(Array.from({ length: IN_FLIGHT }, step));
        expect(swap).toHaveBeenCalledTimes(ROUNDS * IN_FLIGHT);
        const inputs = swap.mock.calls.map(([i]) => i as Proof[]);
        const secrets = inputs.flat().map((p) => p.secret);
        // Every input a fresh note: none spent twice (the mint would have refused it anyway).
        expect(new Set(secrets).size).toBe(ROUNDS * IN_FLIGHT * BATCH);
        // From the second round on the inputs are the chain's own outputs, signed by the mint.
        const signed = new Set(
          (await Promise.all(swap.mock.results.map((r) => r.value))).flat().map((s) => s.C_),
        );
        for (const p of inputs.slice(IN_FLIGHT).flat()) expect(signed.has(p.C)).toBe(true);
        // Locked chains stay locked, each input with its witness; plain ones plain.
        for (const p of inputs.flat()) {
          expect(parseWellKnownSecret(p.secret, 'secret')?.kind === 'P2PK').toBe(locked);
          expect(p.witness !== undefined).toBe(locked);
        }
      });
    },
  );
});
