/**
 * Test helpers for wallets: terminals on in-memory stores against real servers, a network that can
 * lose an answer after the peer acted or refuse before it did (per call kind, the next N times), a
 * "crash" at a named step, and the checks every test ends with: each wallet's unspent notes are
 * unspent at the mint, and none is held twice.
 */
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { expect } from 'vitest';
import type { Network } from '../core/address/index.js';
import { defaultCurve } from '../core/crypto/index.js';
import { LancashError } from '../core/errors.js';
import { httpNet } from '../wallet/http-net.js';
import { MemoryWalletStore } from '../wallet/memory-store.js';
import { MintClient } from '../wallet/mint-client.js';
import type { WalletNet } from '../wallet/net.js';
import type { WalletStore } from '../wallet/store.js';
import { Wallet, type WalletOptions } from '../wallet/wallet.js';

export const curve = defaultCurve();

/** Thrown by a step hook: the wallet "crashes" there (the test then opens a new one on the store). */
export class Crash extends Error {
  constructor(readonly point: string) {
    super(`crash at ${point}`);
  }
}

/** `no-connection`: the call goes to a closed loopback port, so the transport's connection is really refused. */
export type FaultKind = 'lose-answer' | 'refuse' | 'unreachable' | 'no-connection';
type Faultable = 'call' | 'deposit' | 'drain' | 'transfer' | 'gatewayInfo' | 'mailboxInfo';

/** A `WalletNet` whose calls fail on demand: `arm('deposit', 'lose-answer')` for the next call. */
export class FaultyNet implements WalletNet {
  private readonly armed = new Map<string, { kind: FaultKind; times: number }>();
  constructor(private readonly inner: WalletNet = httpNet()) {}

  /** The next `times` calls of `what` (for `call`, whose path contains `pathPart`) fail as `kind`. */
  arm(what: Faultable, kind: FaultKind, times = 1, pathPart = ''): void {
    this.armed.set(`${what}:${pathPart}`, { kind, times });
  }

  private armedFor(what: Faultable, path: string): { kind: FaultKind; times: number } | undefined {
    return [...this.armed.entries()].find(
      ([key, v]) => v.times > 0 && key.startsWith(`${what}:`) && path.includes(key.slice(what.length + 1)),
    )?.[1];
  }

  private async run<T>(what: Faultable, path: string, fn: () => Promise<T>): Promise<T> {
    const fault = this.armedFor(what, path);
    if (!fault) return fn();
    fault.times--;
    if (fault.kind === 'unreachable') throw new Error(`injected: ${what} unreachable`);
    if (fault.kind === 'refuse')
      throw new LancashError('NotFound', { what, id: 'injected' }, `injected refusal of ${what}`);
    await fn();
    throw new Error(`injected: ${what} answer lost`);
  }

  call: WalletNet['call'] = (o) => {
    const entry = this.armedFor('call', o.path);
    if (entry?.kind !== 'no-connection') return this.run('call', o.path, () => this.inner.call(o));
    entry.times--;
    return closedPort().then((base) => this.inner.call({ ...o, base }));
  };
  mailboxInfo: WalletNet['mailboxInfo'] = (b) => this.run('mailboxInfo', '', () => this.inner.mailboxInfo(b));
  deposit: WalletNet['deposit'] = (b, a, e) => this.run('deposit', '', () => this.inner.deposit(b, a, e));
  drain: WalletNet['drain'] = (b, o) => this.run('drain', '', () => this.inner.drain(b, o));
  gatewayInfo: WalletNet['gatewayInfo'] = (b) => this.run('gatewayInfo', '', () => this.inner.gatewayInfo(b));
  transfer: WalletNet['transfer'] = (b, id) => this.run('transfer', '', () => this.inner.transfer(b, id));
}

export interface TestWallet {
  wallet: Wallet;
  store: WalletStore;
  net: FaultyNet;
  mnemonic: string;
  /** Arms a crash at `point` (the next time it is reached). */
  crashAt(point: string | undefined): void;
  /** A new `Wallet` on the same store, as after a restart. */
  reopen(): Promise<Wallet>;
}

/** A new terminal on an in-memory store. */
export async function newWallet(
  mint: string,
  o: {
    network?: Network;
    gateway?: string;
    mailbox?: string;
    mnemonic?: string;
    autoRecover?: boolean;
    rotationCheckMs?: number;
  } = {},
): Promise<TestWallet> {
  const store = new MemoryWalletStore();
  const net = new FaultyNet();
  let crashPoint: string | undefined;
  const options: WalletOptions = {
    store,
    net,
    curve,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
    // Off unless asked: a crash test's wallet must not settle by itself behind the test's back.
    autoRecover: o.autoRecover ?? false,
    ...(o.rotationCheckMs === undefined ? {} : { rotationCheckMs: o.rotationCheckMs }),
    step: (point) => {
      if (point === crashPoint) {
        crashPoint = undefined;
        throw new Crash(point);
      }
    },
  };
  const { wallet, mnemonic } = await Wallet.create({
    ...options,
    network: o.network ?? 'wan',
    mint,
    ...(o.gateway ? { gateway: o.gateway } : {}),
    ...(o.mailbox ? { mailbox: o.mailbox } : {}),
    ...(o.mnemonic ? { mnemonic: o.mnemonic } : {}),
  });
  const t: TestWallet = {
    wallet,
    store,
    net,
    mnemonic,
    crashAt: (point) => {
      crashPoint = point;
    },
    reopen: async () => {
      t.wallet.close();
      t.wallet = await Wallet.open(options);
      return t.wallet;
    },
  };
  return t;
}

/** Every unspent note of the wallet is unspent at the mint; no secret or Y appears twice. */
export async function expectNotesSound(t: TestWallet): Promise<void> {
  const notes = await t.store.notes();
  expect(new Set(notes.map((n) => n.Y)).size).toBe(notes.length);
  const unspent = notes.filter((n) => n.state === 'unspent');
  const config = (await t.store.readConfig())!;
  const mint = new MintClient(t.net, config.mint, config.unit, curve);
  const states = await mint.checkState(unspent.map((n) => n.Y));
  expect(states.filter((s) => s !== 'UNSPENT')).toEqual([]);
}

/** The wallet's balance, available only, after checking nothing is left pending. */
export async function settledBalance(t: TestWallet): Promise<number> {
  const b = await t.wallet.balance();
  expect(b.pending).toBe(0);
  return b.available;
}

/** A loopback URL nothing listens on (a port just bound and released). */
async function closedPort(): Promise<string> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
