/**
 * A long-lived wallet (as a browser tab keeps one open) across a key rotation of the gateway's local
 * mint, against real processes: after the operator rotates, the same `Wallet` object receives notes
 * of the new keyset, pays another LAN wallet and converts to the WAN, without being reopened; its old
 * notes stay spendable. Both invariants hold after it. A renewal interrupted by a crash after its
 * journal, or by a lost answer to its swap, is settled by the next recovery: renewed once, nothing lost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call } from '../core/http/client.js';
import { runLancash } from '../test-support/process.js';
import { type System, systemPerSuite } from '../test-support/system.js';
import {
  curve,
  expectNotesSound,
  newWallet,
  settledBalance,
  type TestWallet,
} from '../test-support/wallet.js';
import { Wallet } from './wallet.js';

const system = systemPerSuite('wallet-rotation');

/** The gateway's local mint keysets, as any wallet reads them (NUT-02). */
async function lanKeysets(sys: System): Promise<{ id: string; active: boolean }[]> {
  const answer = (await call({ base: sys.lan, method: 'GET', path: '/v1/keysets' })) as {
    keysets: { id: string; active: boolean }[];
  };
  return answer.keysets;
}

/** A WAN wallet holding `minted`, which has paid `paid` to a new LAN wallet (`lan`: its options). */
async function paidLanWallet(
  sys: System,
  minted: number,
  paid: number,
  lan: { autoRecover?: boolean; rotationCheckMs?: number } = {},
): Promise<{ w: TestWallet; l: TestWallet }> {
  const w = await newWallet(sys.bank, { network: 'wan', gateway: sys.wan });
  expect((await w.wallet.mintFromLightning(minted)).state).toBe('done');
  const l = await newWallet(sys.lan, { network: 'lan', gateway: sys.lan, ...lan });
  expect((await w.wallet.send({ to: l.wallet.address, amount: paid })).state).toBe('done');
  await l.wallet.receive();
  return { w, l };
}

/** The keysets of a wallet's unspent notes. */
async function unspentKeysets(t: TestWallet): Promise<Set<string>> {
  return new Set((await t.store.notes({ state: 'unspent' })).map((n) => n.proof.id));
}

/** The operator rotates the gateway's local mint keys (`POST …/operator/keysets/rotate`, default grace). */
async function rotateByOperator(sys: System): Promise<void> {
  const token = readFileSync(join(sys.dir, 'gw', 'operator.token'), 'utf8').trim();
  await call({
    base: sys.lan,
    method: 'POST',
    path: '/v1/gateway/operator/keysets/rotate',
    headers: { authorization: `Bearer ${token}` },
  });
}

describe('a long-lived wallet across a key rotation (real processes)', () => {
  it('receives, pays on the LAN and converts to the WAN after the rotation, without reopening', async () => {
    const sys = system();
    const w = await newWallet(sys.bank, { network: 'wan', gateway: sys.wan });
    expect((await w.wallet.mintFromLightning(50)).state).toBe('done');
    const l = await newWallet(sys.lan, { network: 'lan', gateway: sys.lan });
    const l2 = await newWallet(sys.lan, { network: 'lan', gateway: sys.lan });
    expect((await w.wallet.send({ to: l.wallet.address, amount: 20 })).state).toBe('done');
    await l.wallet.receive();
    expect(await settledBalance(l)).toBe(20);

    await rotateByOperator(sys);

    // Notes of the new keyset arrive; the wallet was opened before the rotation.
    expect((await w.wallet.send({ to: l.wallet.address, amount: 10 })).state).toBe('done');
    await l.wallet.receive();
    expect(await settledBalance(l)).toBe(30);
    // Old and new notes pay another LAN wallet (a swap for change) and go out to the WAN.
    expect((await l.wallet.send({ to: l2.wallet.address, amount: 25 })).state).toBe('done');
    await l2.wallet.receive();
    expect(await settledBalance(l2)).toBe(25);
    expect((await l.wallet.send({ to: w.wallet.address, amount: 5 })).state).toBe('done');
    for (const t of [w, l, l2]) await expectNotesSound(t);
  });

  it('renews notes of a rotated-out keyset by itself when it opens, so their retirement loses nothing', async () => {
    const sys = system();
    const { w, l } = await paidLanWallet(sys, 30, 20);
    const gw = ['--data', join(sys.dir, 'gw')];
    // A short grace (9 s) so the test sees the retirement; the default is a week.
    const rotated = await runLancash(['gateway', 'keyset', 'rotate', '--grace', '0.0025', ...gw]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { previous, active } = JSON.parse(rotated.stdout) as { previous: string; active: { id: string } };
    const ids = () => unspentKeysets(l);
    expect(await ids()).toEqual(new Set([previous]));

    // The gateway reads the rotation the CLI made in its database within a second; a wallet opened
    // before that sees nothing to renew until its next operation, so the test waits for the mint first.
    const inactive = async () => (await lanKeysets(sys)).find((k) => k.id === previous)?.active === false;
    while (!(await inactive())) await new Promise((r) => setTimeout(r, 100));
    // Opened again (a restart, a browser tab loaded): the background pass renews the old notes.
    l.wallet.close();
    l.wallet = await Wallet.open({ store: l.store, net: l.net, curve, autoRecover: true });
    while ((await ids()).has(previous)) await new Promise((r) => setTimeout(r, 100));
    expect(await ids()).toEqual(new Set([active.id]));
    expect(await settledBalance(l)).toBe(20);
    const renewal = (await l.wallet.history()).find((op) => op.kind === 'refresh');
    expect(renewal).toMatchObject({ state: 'done', amount: 20 });

    // Once the old keyset is retired its notes are refused (12003); the renewed ones still pay.
    const listed = async () =>
      JSON.parse((await runLancash(['gateway', 'keyset', 'list', ...gw])).stdout) as {
        id: string;
        state: string;
      }[];
    while ((await listed()).find((k) => k.id === previous)?.state !== 'retired') {
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect((await l.wallet.send({ to: w.wallet.address, amount: 15 })).state).toBe('done');
    await w.wallet.receive();
    l.wallet.close();
    for (const t of [w, l]) await expectNotesSound(t);
  }, 180_000); // waits out the grace on the wall clock, on a machine that may be busy

  it('an idle open wallet notices a rotation by itself and renews its old notes, with no operation', async () => {
    const sys = system();
    const { w, l } = await paidLanWallet(sys, 12, 12, { autoRecover: true, rotationCheckMs: 100 });
    const before = await unspentKeysets(l);
    expect(before.size).toBe(1);
    await rotateByOperator(sys);
    // Nothing is asked of the wallet: its own check finds the rotation and the recovery renews.
    const renewed = async () => (await l.wallet.history()).find((op) => op.kind === 'refresh')?.state;
    while ((await renewed()) !== 'done') await new Promise((r) => setTimeout(r, 50));
    const after = await unspentKeysets(l);
    expect([...after].some((id) => before.has(id))).toBe(false);
    expect(await settledBalance(l)).toBe(12);
    l.wallet.close();
    for (const t of [w, l]) await expectNotesSound(t);
  });

  it.each([
    ['a crash after its journal', (l: TestWallet) => l.crashAt('wallet:refresh:after-journal')],
    [
      'a lost answer to its swap, the mint unreachable after it',
      (l: TestWallet) => {
        l.net.arm('call', 'lose-answer', 1, '/v1/swap');
        l.net.arm('call', 'unreachable', 1, '/v1/checkstate');
      },
    ],
  ])(
    'a renewal interrupted by %s is settled by the next recovery: renewed once, nothing lost',
    async (_what, fault) => {
      const sys = system();
      const { w, l } = await paidLanWallet(sys, 30, 20);
      const previous = (await lanKeysets(sys)).find((k) => k.active)!.id;
      const noteIds = async () => (await l.store.notes({ state: 'unspent' })).map((n) => n.proof.id);
      expect(new Set(await noteIds())).toEqual(new Set([previous]));
      await rotateByOperator(sys);
      const active = (await lanKeysets(sys)).find((k) => k.active)!.id;
      expect(active).not.toBe(previous);

      fault(l);
      await l.wallet.recover();
      // Interrupted: the renewal is journaled and open, its notes held, nothing renewed yet.
      const open = await l.store.operations({ open: true });
      expect(open.map((op) => op.kind)).toEqual(['refresh']);
      expect(await noteIds()).toEqual([]);

      // A restart; its recovery asks the mint what became of the swap and settles the renewal.
      await l.reopen();
      await l.wallet.recover();
      expect(await l.store.operations({ open: true })).toEqual([]);
      const ids = await noteIds();
      expect(ids.length).toBeGreaterThan(0);
      expect(new Set(ids)).toEqual(new Set([active]));
      expect(await settledBalance(l)).toBe(20);
      // The renewed notes pay; every note either wallet holds is unspent at its mint.
      expect((await l.wallet.send({ to: w.wallet.address, amount: 20 })).state).toBe('done');
      await w.wallet.receive();
      expect(await settledBalance(l)).toBe(0);
      l.wallet.close();
      for (const t of [w, l]) await expectNotesSound(t);
    },
  );
});
