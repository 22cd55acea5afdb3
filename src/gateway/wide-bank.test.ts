/**
 * The gateway's wide-bank client spends few calls on what strangers choose (issue 8): a keyset id is
 * looked up in the bank's cached keyset list, an unlisted id waits for the next list fetch (never a call
 * of its own: a keyset made since, by a rotation, is found), the list is fetched again at most every
 * 5 s and one fetch at a time (also after a failed fetch), keys are
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
      // The wait for the next list fetch passes on the test's clock.
      sleep: async (ms) => {
        clock.now += ms;
      },
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

  it('refuses ids the list does not hold; asks again at most every 5 s, one fetch at a time', async () => {
    const c = await client();
    // 50 different unknown ids at once: one fetch of the list between them.
    expect(
      await calls(() => Promise.all(Array.from({ length: 50 }, () => unknown(c, randomKeysetId())))),
    ).toBe(1);
    // Another unlisted id right after: it waits the 5 s out, then one fetch serves every id waiting.
    const before = clock.now;
    expect(
      await calls(() => Promise.all(Array.from({ length: 20 }, () => unknown(c, randomKeysetId())))),
    ).toBe(1);
    expect(clock.now - before).toBe(5_000);
    // Such a wait once per list TTL (60 s): the next unlisted id is refused from the list, no call.
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
    const before = clock.now;
    expect(await calls(() => unknown(c, randomKeysetId()))).toBe(1);
    expect(clock.now - before).toBe(5_000);
  });

  it('finds a keyset the bank made just after the last list fetch (a rotation), without refusing it', async () => {
    const c = await client();
    await unknown(c, randomKeysetId()); // the list is fetched now
    const fresh = await bank.mint.keysets.rotate({ graceMs: 60_000 });
    const found = await c.keyset(fresh.id);
    expect(found.id).toBe(fresh.id);
    expect(found.active).toBe(true);
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
