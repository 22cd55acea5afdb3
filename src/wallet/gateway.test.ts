/**
 * Wallets on both networks against the real `lancash wide-bank` and `lancash gateway` processes:
 * WAN → LAN (job 2) and LAN → WAN (job 1) transfers followed to their end with progress, payments
 * between LAN terminals through the gateway's LAN mailbox, a refused or lost intake, a crash after
 * the job envelope is journaled, and an unreachable gateway that changes nothing. After every test
 * both invariants hold and every wallet's unspent notes are unspent at their mint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { type System, startSystem } from '../test-support/system.js';
import {
  Crash,
  expectNotesSound,
  newWallet,
  settledBalance,
  type TestWallet,
} from '../test-support/wallet.js';
import { httpNet } from './http-net.js';
import { MemoryWalletStore } from './memory-store.js';
import type { WalletNet } from './net.js';
import type { SendProgress } from './send.js';
import { Wallet } from './wallet.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-wallet-gw-'));
let sys: System;
const wallets: TestWallet[] = [];

async function wanWallet(amount = 0): Promise<TestWallet> {
  const t = await newWallet(sys.bank, { network: 'wan', gateway: sys.wan });
  wallets.push(t);
  if (amount > 0) expect((await t.wallet.mintFromLightning(amount)).state).toBe('done');
  return t;
}

async function lanWallet(): Promise<TestWallet> {
  const t = await newWallet(sys.lan, { network: 'lan', gateway: sys.lan });
  wallets.push(t);
  return t;
}

/** A LAN wallet holding `amount` of local money, bought from a WAN wallet through job 2. */
async function fundedLan(amount: number): Promise<TestWallet> {
  const w = await wanWallet(amount);
  const l = await lanWallet();
  expect((await w.wallet.send({ to: l.wallet.address, amount })).state).toBe('done');
  await l.wallet.receive();
  expect(await settledBalance(l)).toBe(amount);
  return l;
}

/** Runs `recover` until nothing is open (the gateway finishes a job on its own schedule). */
async function settle(t: TestWallet): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await t.wallet.recover()).open.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('operations still open');
}

beforeAll(async () => {
  sys = await startSystem(dir);
});
afterEach(async () => {
  for (const t of wallets.splice(0)) await expectNotesSound(t);
  await sys.expectBalanced();
});
afterAll(async () => {
  await sys?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('wallets across the gateway (real processes)', () => {
  it('WAN → LAN (job 2) with progress, LAN → LAN by the LAN mailbox, LAN → WAN (job 1)', async () => {
    const w = await wanWallet(60);
    const l = await lanWallet();
    const seen: SendProgress[] = [];
    const job2 = await w.wallet.send({ to: l.wallet.address, amount: 45, onProgress: (p) => seen.push(p) });
    expect(job2).toMatchObject({ kind: 'gateway', state: 'done', amount: 45 });
    expect(job2.data.transfer?.state).toBe('done');
    expect(seen.map((p) => (p.stage === 'transfer' ? p.status.state : p.stage))).toContain('done');
    expect(await settledBalance(w)).toBe(15);
    const got = await l.wallet.receive();
    expect(got.received.map((o) => [o.amount, o.counterparty])).toEqual([[45, 'gateway (wan-to-lan)']]);
    expect(await settledBalance(l)).toBe(45);

    const l2 = await lanWallet();
    expect((await l.wallet.send({ to: l2.wallet.address, amount: 20 })).state).toBe('done');
    await l2.wallet.receive();
    expect([await settledBalance(l), await settledBalance(l2)]).toEqual([25, 20]);

    const w2 = await wanWallet();
    const job1 = await l2.wallet.send({ to: w2.wallet.address, amount: 12 });
    expect(job1).toMatchObject({ kind: 'gateway', state: 'done', amount: 12 });
    await w2.wallet.receive();
    expect([await settledBalance(l2), await settledBalance(w2)]).toEqual([8, 12]);
  });

  it('a refused intake takes the notes back; a lost intake answer is followed to the end', async () => {
    const l = await fundedLan(30);
    const w = await wanWallet();
    l.net.arm('call', 'refuse', 1, '/v1/gateway/lan-to-wan');
    const refused = await l.wallet.send({ to: w.wallet.address, amount: 10 });
    expect(refused).toMatchObject({ state: 'failed', reason: expect.stringContaining('refused') });
    expect(await settledBalance(l)).toBe(30);

    l.net.arm('call', 'lose-answer', 1, '/v1/gateway/lan-to-wan');
    const lost = await l.wallet.send({ to: w.wallet.address, amount: 10 });
    await settle(l);
    expect((await l.wallet.operation(lost.id))?.state).toBe('done');
    await w.wallet.receive();
    expect([await settledBalance(l), await settledBalance(w)]).toEqual([20, 10]);
  });

  it('a wallet that crashes after journaling the job envelope posts it on recover, once', async () => {
    const w = await wanWallet(24);
    const l = await lanWallet();
    w.crashAt('wallet:gateway:after-journal');
    await expect(w.wallet.send({ to: l.wallet.address, amount: 24 })).rejects.toBeInstanceOf(Crash);
    await w.reopen();
    await settle(w);
    await l.wallet.receive();
    expect([await settledBalance(w), await settledBalance(l)]).toEqual([0, 24]);
  });

  it('a wallet that crashes after posting follows the transfer it already gave the gateway', async () => {
    const l = await fundedLan(16);
    const w = await wanWallet();
    l.crashAt('wallet:gateway:after-post');
    await expect(l.wallet.send({ to: w.wallet.address, amount: 16 })).rejects.toBeInstanceOf(Crash);
    await l.reopen();
    await settle(l);
    await w.wallet.receive();
    expect([await settledBalance(l), await settledBalance(w)]).toEqual([0, 16]);
  });

  it('refuses at init a gateway that names another mint than the one given', async () => {
    const net = httpNet();
    const elsewhere: WalletNet = {
      ...net,
      gatewayInfo: async (base) => ({
        ...(await net.gatewayInfo(base)),
        wideBank: 'http://elsewhere.example',
      }),
    };
    const store = new MemoryWalletStore();
    const create = Wallet.create({ store, net: elsewhere, network: 'wan', mint: sys.bank, gateway: sys.wan });
    await expect(create).rejects.toMatchObject({ kind: 'MintMismatch' });
    expect(await store.readConfig()).toBeUndefined();
  });

  it('an unreachable gateway refuses the send before anything is reserved', async () => {
    const w = await wanWallet(9);
    const l = await lanWallet();
    const before = await w.store.notes();
    w.net.arm('gatewayInfo', 'unreachable');
    const error = await w.wallet.send({ to: l.wallet.address, amount: 5 }).catch((e: unknown) => e);
    expect(isLancashError(error, 'PeerUnreachable')).toBe(true);
    expect(await w.store.notes()).toEqual(before);
    expect(await w.store.operations({ open: true })).toEqual([]);
  });
});
