/**
 * The operator's `keyset rotate --input-fee-ppk` run against a real process's database, waited on until
 * the mint's NUT-02 `/v1/keysets` lists the new keyset as active (every server process reads the
 * keysets within a second). Shared by the fee tests of the mints and of the wallet.
 */
import { Type } from '@sinclair/typebox';
import { expect } from 'vitest';
import type { KeysetListing } from '../cli/keysets.js';
import { call } from '../core/http/client.js';
import { runLancash } from './process.js';

const Keysets = Type.Object({
  keysets: Type.Array(
    Type.Object({ id: Type.String(), active: Type.Boolean(), input_fee_ppk: Type.Integer() }),
  ),
});

/**
 * Rotates `role`'s mint (its database named by `dbArgs`, e.g. `--data DIR`) to a keyset with an input
 * fee of `ppk`; returns what the command printed and the new keyset as the mint at `mint` lists it.
 */
export async function rotateToFee(
  role: 'wide-bank' | 'gateway',
  dbArgs: readonly string[],
  ppk: number,
  mint: string,
): Promise<{
  rotated: { active: KeysetListing; said: string };
  listed: { id: string; active: boolean; input_fee_ppk: number };
}> {
  const run = await runLancash([
    role,
    'keyset',
    'rotate',
    '--grace',
    '1',
    '--input-fee-ppk',
    String(ppk),
    ...dbArgs,
  ]);
  expect(run.code, run.stderr).toBe(0);
  const rotated = JSON.parse(run.stdout) as { active: KeysetListing; said: string };
  for (;;) {
    const { keysets } = await call({ base: mint, method: 'GET', path: '/v1/keysets', schema: Keysets });
    const listed = keysets.find((k) => k.active);
    if (listed?.id === rotated.active.id) return { rotated, listed };
    await new Promise((r) => setTimeout(r, 100));
  }
}
