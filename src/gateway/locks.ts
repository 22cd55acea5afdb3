/**
 * Locked deliveries, the gateway's side (docs/gateway.md, "Locked deliveries"): the lock key of a
 * job's destination, used only when the mint that will redeem the notes says it enforces NUT-11
 * (NUT-06 `GET /v1/info`; the bank's for job 1, the local mint's for job 2 and payroll), asked once
 * per mint and kept (`P2pkSupport`).
 */
import { call } from '../core/http/client.js';
import { MINT_INFO_PATH, MintInfoNuts, P2pkSupport } from '../core/protocol/mint-info.js';
import type { JournalOutput } from './wallet.js';
import { lockKeyOf } from './wallet.js';

const probes = new Map<string, P2pkSupport>();

/** Whether the mint at `base` says it enforces NUT-11 (asked once, kept once yes). */
export function mintEnforcesP2pk(base: string): Promise<boolean> {
  let probe = probes.get(base);
  if (probe === undefined) {
    probe = new P2pkSupport(() =>
      call({ base, method: 'GET', path: MINT_INFO_PATH, schema: MintInfoNuts, timeoutMs: 2_000 }),
    );
    probes.set(base, probe);
  }
  return probe.supported();
}

/**
 * The key `destination`'s notes are locked to: its address's lock key (version 1) when the mint at
 * `mintBase` enforces NUT-11; undefined (unlocked) for a version-0 address or another mint.
 */
export async function deliveryLock(destination: string, mintBase: string): Promise<Uint8Array | undefined> {
  const key = lockKeyOf(destination);
  return key !== undefined && (await mintEnforcesP2pk(mintBase)) ? key : undefined;
}

/** Outputs made again (a keyset rotation) keep the lock of the ones they replace: locked iff those were. */
export function relockKey(destination: string, outputs: readonly JournalOutput[]): Uint8Array | undefined {
  return outputs.some((o) => o.secret.startsWith('[')) ? lockKeyOf(destination) : undefined;
}
