/**
 * The whole system as real processes: a `lancash wide-bank` and a `lancash gateway` on loopback ports,
 * their SQLite files opened beside them for the checks every integration test ends with (invariant 1
 * at the wide bank, invariant 2 at rest: the reserve equals the local money outstanding plus the local
 * mint's input fees collected).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { getGatewayInfo } from '../core/protocol/gateway.js';
import { auditGateway } from '../gateway/audit.js';
import { totals } from '../mint/repository.js';
import { openStore, type Store } from '../store/index.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { gatewayArgs, killAll, type Started, startProcess, wideBankArgs } from './process.js';

export interface System {
  /** The data directory: the bank's under `bank/`, the gateway's under `gw/`. */
  dir: string;
  /** The wide bank's URL. */
  bank: string;
  /** The gateway's LAN listener (local mint, LAN mailbox, job 1) and WAN listener (job 2). */
  lan: string;
  wan: string;
  gateway: Started;
  /** The wide bank's process (its data under `dir/bank`). */
  bankProcess: Started;
  /** The gateway's database, opened beside it. */
  gwStore: Store;
  /** The gateway's X25519 key (hex): its reserve account's holder key. */
  gatewayKey: string;
  /** Invariant 1 at the wide bank and invariant 2 at rest (reserve = local money outstanding). */
  expectBalanced(): Promise<void>;
  close(): Promise<void>;
}

export interface SystemOptions {
  /** More `lancash wide-bank` arguments (e.g. `--trust-proxy 127.0.0.1`). */
  bankArgs?: string[];
  /** More `lancash gateway` arguments. */
  gatewayArgs?: string[];
}

/** A real `lancash wide-bank` and `lancash gateway` on loopback, their data under `dir`. */
export async function startSystem(dir: string, o: SystemOptions = {}): Promise<System> {
  const bank = await startProcess(wideBankArgs(join(dir, 'bank'), ...(o.bankArgs ?? [])));
  const gateway = await startProcess(
    [...gatewayArgs(bank.url, '--data', join(dir, 'gw')), ...(o.gatewayArgs ?? [])],
    { listeners: 2 },
  );
  const [lan, wan] = gateway.urls as [string, string];
  const bankStore = await openStore({ dialect: 'sqlite', file: join(dir, 'bank', 'wide-bank.db') });
  const gwStore = await openStore({ dialect: 'sqlite', file: join(dir, 'gw', 'gateway.db') });
  const gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
  return {
    dir,
    bank: bank.url,
    lan,
    wan,
    gateway,
    bankProcess: bank,
    gwStore,
    gatewayKey,
    async expectBalanced() {
      expect((await auditWideBank(bankStore)).differences).toEqual([]);
      const local = await totals(gwStore.db);
      // The local mint's NUT-02 fees collected stay in the reserve (docs/gateway.md, "Fees").
      const { fees } = (await auditGateway({ gatewayStore: gwStore, wideBankStore: bankStore })).totals;
      expect(await new Ledger(bankStore).balance(gatewayKey)).toBe(
        local.signed - local.spent + fees.collected,
      );
    },
    async close() {
      await killAll();
      await bankStore.close();
      await gwStore.close();
    },
  };
}

/**
 * For a `describe` block: a system started before its tests, in a fresh temporary directory named
 * after `name`, audited after each test and closed (its directory removed) after all. Call the
 * answer inside a hook or test to get the running system.
 */
export function systemPerSuite(name: string, o: SystemOptions = {}): () => System {
  const dir = mkdtempSync(join(tmpdir(), `lancash-${name}-`));
  let sys: System | undefined;
  beforeAll(async () => {
    sys = await startSystem(dir, o);
  });
  afterEach(() => sys?.expectBalanced());
  afterAll(async () => {
    await sys?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (sys === undefined) throw new Error(`the system of ${name} did not start`);
    return sys;
  };
}

/** Invariant 1 of the wide bank whose SQLite data directory is `data` (a bank process alone). */
export async function expectBankBalanced(data: string): Promise<void> {
  const store = await openStore({ dialect: 'sqlite', file: join(data, 'wide-bank.db') });
  try {
    expect((await auditWideBank(store)).differences).toEqual([]);
  } finally {
    await store.close();
  }
}
