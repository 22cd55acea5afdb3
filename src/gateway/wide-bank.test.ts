/**
 * The gateway's wide-bank client spends few calls on what strangers choose (issue 8): a keyset id is
 * looked up in the bank's cached keyset list, an unlisted id is refused without a call of its own, the
 * list is fetched again at most every 5 s and one fetch at a time (also after a failed fetch), keys are
 * fetched once per listed id, and notes the bank answered SPENT are not asked about again. A real
 * wide bank in this process, a fault proxy in front of it counting the client's calls, a movable clock.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { defaultCurve, hashToCurve } from '../core/crypto/index.js';
import { generateEncryptionKeyPair } from '../core/envelope/index.js';
import { isLancashError } from '../core/errors.js';
import { isUnclear } from '../core/http/client.js';
import { listen } from '../core/http/server.js';
import { inThreadCrypto } from '../mint/crypto.js';
import { freshStore, type TestStore } from '../test-support/dialects.js';
import { type FaultProxy, startFaultProxy } from '../test-support/fault-proxy.js';
import { Terminal } from '../test-support/terminal.js';
import { createWideBank, type WideBank } from '../wide-bank/server.js';
import { WideBankClient } from './wide-bank.js';

const curve = defaultCurve();

describe('wide bank client: calls the bank little for what strangers choose', () => {
  let store: TestStore;
  let bank: WideBank;
  let bankUrl: string;
  let proxy: FaultProxy;
  const clock = { now: 1_000_000 };

  beforeAll(async () => {
    store = await freshStore('sqlite');
    bank = await createWideBank({
      store,
      currency: 'EUR',
      crypto: inThreadCrypto(curve),
      lightning: 'fake',
      logger: false,
      rateLimit: false,
    });
    bankUrl = await listen(bank.app, '127.0.0.1:0');
    proxy = await startFaultProxy(bankUrl);
  });
  afterAll(async () => {
    await proxy?.close();
    await bank?.app.close();
    await bank?.close();
    await store?.close();
  });

  async function client(): Promise<WideBankClient> {
    return WideBankClient.connect({
      base: proxy.url,
      holder: await generateEncryptionKeyPair(),
      curve,
      currency: 'EUR',
      clock: () => clock.now,
    });
  }

  /** Calls the client made to the bank while `run` ran. */
  async function calls(run: () => Promise<unknown>): Promise<number> {
    const before = proxy.stats().received;
    await run();
    return proxy.stats().received - before;
  }

  const randomKeysetId = () => `00${randomBytes(7).toString('hex')}`;
  const unknown = async (c: WideBankClient, id: string) => {
    const e = await c.keyset(id).catch((err: unknown) => err);
    expect(isLancashError(e, 'KeysetUnknown')).toBe(true);
  };

  it('refuses unlisted ids from the cached list; asks again at most every 5 s, one fetch at a time', async () => {
    const c = await client();
    // 50 different unknown ids at once: one fetch of the list between them.
    expect(
      await calls(() => Promise.all(Array.from({ length: 50 }, () => unknown(c, randomKeysetId())))),
    ).toBe(1);
    expect(await calls(() => unknown(c, randomKeysetId()))).toBe(0);
    clock.now += 5_000;
    expect(await calls(() => unknown(c, randomKeysetId()))).toBe(1);
    // A listed id: its keys once.
    const keysetId = bank.mint.keysets.current().id;
    expect(await calls(() => c.keyset(keysetId))).toBe(1);
    expect(await calls(() => c.keyset(keysetId))).toBe(0);
  });

  it('after a failed list fetch, waits the same 5 s before the next', async () => {
    const c = await client();
    proxy.plan([{ path: '/v1/keysets', fault: 'refuse' }]);
    const first = await c.keyset(randomKeysetId()).catch((e: unknown) => e);
    expect(isUnclear(first)).toBe(true);
    expect(await calls(() => c.keyset(randomKeysetId()).catch(() => undefined))).toBe(0);
    clock.now += 5_000;
    expect(await calls(() => unknown(c, randomKeysetId()))).toBe(1);
  });

  it('does not ask again about notes the bank answered SPENT', async () => {
    const c = await client();
    const w = await Terminal.create('wan');
    const spent = await w.mintWide(bankUrl, 3);
    await w.swap(bankUrl, spent);
    const [fresh] = await w.mintWide(bankUrl, 1);
    const Y = (secret: string) => bytesToHex(hashToCurve(curve, utf8(secret)));
    const spentYs = spent.map((p) => Y(p.secret));
    expect(await c.checkState(spentYs)).toEqual(spentYs.map(() => 'SPENT'));
    expect(await calls(() => c.checkState(spentYs))).toBe(0);
    // Mixed: only the unknown one is asked about; the answer keeps the request's order.
    const mixed = [spentYs[0]!, Y(fresh!.secret)];
    let states: string[] = [];
    expect(
      await calls(async () => {
        states = await c.checkState(mixed);
      }),
    ).toBe(1);
    expect(states).toEqual(['SPENT', 'UNSPENT']);
  });
});
