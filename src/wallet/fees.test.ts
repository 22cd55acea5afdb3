/**
 * The lancash wallet with NUT-02 input fees (issue 10 item 5), against real processes: both mints
 * rotated to keysets with a fee after the wallets were funded. A transfer through the gateway sends
 * notes that also pay the intake's fee, so exactly the amount is converted; the fee is told before
 * (`sendFee`) and recorded; a receipt's swap pays its fee out of what arrived and the history names it.
 * Both invariants hold with the fees accounted after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { feeOfPpk } from '../core/fees.js';
import { rotateToFee } from '../test-support/fee-keyset.js';
import { type System, startSystem } from '../test-support/system.js';
import { expectNotesSound, newWallet, settledBalance, type TestWallet } from '../test-support/wallet.js';
import { historyLine } from '../web/wallet/words.js';

const BANK_PPK = 1000;
const LOCAL_PPK = 400;

const dir = mkdtempSync(join(tmpdir(), 'lancash-wallet-fees-'));
let sys: System;
const wallets: TestWallet[] = [];
let wan: TestWallet;
let lan: TestWallet;

async function wallet(network: 'wan' | 'lan'): Promise<TestWallet> {
  const t =
    network === 'wan'
      ? await newWallet(sys.bank, { network: 'wan', gateway: sys.wan })
      : await newWallet(sys.lan, { network: 'lan', gateway: sys.lan });
  wallets.push(t);
  return t;
}

beforeAll(async () => {
  sys = await startSystem(dir);
  // Funded before the rotations, on the fee-free keysets.
  wan = await wallet('wan');
  lan = await wallet('lan');
  expect((await wan.wallet.mintFromLightning(300)).state).toBe('done');
  expect((await wan.wallet.send({ to: lan.wallet.address, amount: 150 })).state).toBe('done');
  await lan.wallet.receive();
  await rotateToFee('wide-bank', ['--data', join(dir, 'bank')], BANK_PPK, sys.bank);
  await rotateToFee('gateway', ['--data', join(dir, 'gw')], LOCAL_PPK, sys.lan);
});
afterEach(async () => {
  for (const t of wallets) await expectNotesSound(t);
  await sys.expectBalanced();
});
afterAll(async () => {
  await sys?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the lancash wallet with input fees (real processes)', () => {
  it.each([
    ['LAN → WAN (job 1, the local fee on intake)', 'lan', 20],
    ['WAN → LAN (job 2, the bank’s fee on intake)', 'wan', 30],
  ] as const)(
    '%s: exactly the amount converted, the fee told before and recorded',
    async (_n, from, amount) => {
      const sender = from === 'lan' ? lan : wan;
      const to = await wallet(from === 'lan' ? 'wan' : 'lan');
      const before = await settledBalance(sender);
      const fee = await sender.wallet.sendFee(to.wallet.address, amount);
      expect(fee).toBeGreaterThan(0);
      const op = await sender.wallet.send({ to: to.wallet.address, amount });
      expect(op).toMatchObject({ state: 'done', amount, data: { fee } });
      expect(before - (await settledBalance(sender))).toBe(amount + fee!);

      // The destination's receipt pays its own mint's fee out of exactly `amount`, and says so.
      const { received } = await to.wallet.receive();
      expect(received).toHaveLength(1);
      const got = received[0]!;
      const receiveFee = got.data.fee ?? 0;
      expect(receiveFee).toBeGreaterThan(0);
      expect(got.amount + receiveFee).toBe(amount);
      expect(await settledBalance(to)).toBe(got.amount);
      const ppk = from === 'lan' ? BANK_PPK : LOCAL_PPK;
      expect(receiveFee).toBe(feeOfPpk(got.data.swap!.inputs.length * ppk));
      expect(historyLine(got, 'eur').what).toContain(
        `(fee ${(receiveFee / 100).toFixed(2)} EUR paid out of it)`,
      );
      expect(historyLine(op, 'eur').what).toContain(`(fee ${(fee! / 100).toFixed(2)} EUR)`);
    },
  );

  it('a payment on the same network: the sender pays its swap, the recipient its receipt', async () => {
    const to = await wallet('lan');
    const before = await settledBalance(lan);
    const fee = (await lan.wallet.sendFee(to.wallet.address, 9)) ?? -1;
    const op = await lan.wallet.send({ to: to.wallet.address, amount: 9 });
    expect(op).toMatchObject({ state: 'done', amount: 9 });
    expect(op.data.fee ?? 0).toBe(fee);
    expect(before - (await settledBalance(lan))).toBe(9 + fee);
    const got = (await to.wallet.receive()).received[0]!;
    expect(got.amount + (got.data.fee ?? 0)).toBe(9);
    expect(await settledBalance(to)).toBe(got.amount);
  });
});
