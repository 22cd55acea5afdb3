/**
 * A long-lived wallet (as a browser tab keeps one open) across a key rotation of the gateway's local
 * mint, against real processes: after the operator rotates, the same `Wallet` object receives notes
 * of the new keyset, pays another LAN wallet and converts to the WAN, without being reopened; its old
 * notes stay spendable. Both invariants hold after it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call } from '../core/http/client.js';
import { systemPerSuite } from '../test-support/system.js';
import { expectNotesSound, newWallet, settledBalance } from '../test-support/wallet.js';

const system = systemPerSuite('wallet-rotation');

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

    const token = readFileSync(join(sys.dir, 'gw', 'operator.token'), 'utf8').trim();
    await call({
      base: sys.lan,
      method: 'POST',
      path: '/v1/gateway/operator/keysets/rotate',
      headers: { authorization: `Bearer ${token}` },
    });

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
});
