/**
 * Test helpers for the gateway's service-level tests (used by tests only): a real wide bank and a
 * real gateway in this process, each on its own fresh database of one dialect, both listening on
 * loopback; a movable clock for the gateway (so retries are scheduled, not waited for); a way to put a
 * misbehaving bank between them; the two sides of invariant 2 (reserve balance, local money); and
 * running the clock until a job finishes.
 */
import { defaultCurve } from '../core/crypto/index.js';
import { listen } from '../core/http/server.js';
import type { TransferStatus } from '../core/protocol/gateway.js';
import { exponentialBackoff } from '../gateway/jobs/runner.js';
import { GatewayKeys } from '../gateway/keys.js';
import { createGateway, type Gateway, type GatewayOptions } from '../gateway/server.js';
import { WideBankClient, type WideBankPort } from '../gateway/wide-bank.js';
import { inThreadCrypto } from '../mint/crypto.js';
import type { DialectName } from '../store/index.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { createWideBank, type WideBank } from '../wide-bank/server.js';
import { freshStore, type TestStore } from './dialects.js';

export const curve = defaultCurve();
export const OPERATOR_TOKEN = 'test-operator-token';

export interface TestNet {
  bank: WideBank;
  bankUrl: string;
  bankStore: TestStore;
  gw: Gateway;
  lanUrl: string;
  wanUrl: string;
  gwStore: TestStore;
  /** The gateway's clock (unix ms); `advance` moves it. */
  clock: { now: number; advance(ms: number): void };
  /** The reserve account's balance at the wide bank. */
  reserve(): Promise<number>;
  /** Local value outstanding: signed − spent at the local mint (pending notes count). */
  localOutstanding(): Promise<number>;
  /** Invariant 1 differences at the bank (empty when it balances). */
  audit(): Promise<unknown[]>;
  close(): Promise<void>;
}

export interface NetOptions {
  /** Wraps the real bank client (e.g. to drop answers). */
  bank?: (real: WideBankPort) => WideBankPort;
  gateway?: Partial<GatewayOptions>;
}

/** A retry schedule of 1 s flat: with the movable clock, a failed step waits until `advance`. */
export const FLAT_BACKOFF = exponentialBackoff({ baseMs: 1000, capMs: 1000, jitter: 0 });

export async function startNet(dialect: DialectName, o: NetOptions = {}): Promise<TestNet> {
  const crypto = inThreadCrypto(curve);
  const bankStore = await freshStore(dialect);
  const bank = await createWideBank({
    store: bankStore,
    currency: 'EUR',
    crypto,
    lightning: 'fake', // the wallets' tests buy wide money with it
    logger: false,
    rateLimit: false,
  });
  const bankUrl = await listen(bank.app, '127.0.0.1:0');
  const gwStore = await freshStore(dialect);
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      clock.now += ms;
    },
  };
  // The gateway's key is in its database: load it first to give a wrapped client the holder key.
  const keys = await GatewayKeys.load(gwStore);
  const real = await WideBankClient.connect({
    base: bankUrl,
    holder: keys.encryption,
    curve,
    currency: 'EUR',
  });
  const gw = await createGateway({
    store: gwStore,
    currency: 'EUR',
    wideBank: o.bank ? o.bank(real) : real,
    crypto,
    curve,
    logger: false,
    rateLimit: false,
    operatorToken: OPERATOR_TOKEN,
    clock: () => clock.now,
    runner: { backoff: FLAT_BACKOFF },
    ...o.gateway,
  });
  const urls = await gw.listen('127.0.0.1:0', '127.0.0.1:0');
  await gw.start();
  return {
    bank,
    bankUrl,
    bankStore,
    gw,
    lanUrl: urls.lan,
    wanUrl: urls.wan,
    gwStore,
    clock,
    reserve: () => bank.ledger.balance(keys.publicKeyHex),
    localOutstanding: async () => {
      const t = await gw.mint.totals();
      return t.signed - t.spent;
    },
    audit: async () => (await auditWideBank(bankStore)).differences,
    close: async () => {
      await gw.close();
      await Promise.all([gw.lan.close(), gw.wan.close(), bank.app.close()]);
      await bank.close();
      await gwStore.close();
      await bankStore.close();
    },
  };
}

/** A bank port that behaves like `real` except where `overrides` says otherwise. */
export function wrapBank(real: WideBankPort, overrides: Partial<WideBankPort>): WideBankPort {
  return {
    base: real.base,
    info: real.info,
    issue: (...a) => real.issue(...a),
    receive: (...a) => real.receive(...a),
    keyset: (id) => real.keyset(id),
    activeKeyset: () => real.activeKeyset(),
    checkState: (Ys) => real.checkState(Ys),
    requests: (...a) => real.requests(...a),
    deposit: (address, envelope) => real.deposit(address, envelope),
    ...overrides,
  };
}

/** Runs the gateway's clock forward until the job is finished (each step fails at most `max` times). */
export async function finish(net: TestNet, id: string, max = 10): Promise<TransferStatus> {
  for (let i = 0; i <= max; i++) {
    await net.gw.runner.settle();
    const s = await net.gw.jobs.status(id);
    if (s.state === 'done' || s.state === 'refused') return s;
    net.clock.advance(1000);
  }
  throw new Error(`job ${id} did not finish`);
}
