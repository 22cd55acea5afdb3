/**
 * A local error on a money step's retry is not the bank's refusal. Job 1's first issue call commits
 * at the bank but its answer is lost; on the retry the gateway's own work before the call (reading
 * the held notes for the recovery record) fails with a lancash error (a storage outage). Treated as
 * a refusal, that would release the local notes while the bank had already issued: money created.
 * The job must stay `issuing` with its local notes pending, and finish once on the next retry.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LancashError } from '../../core/errors.js';
import { UnclearOutcome } from '../../core/http/client.js';
import { finish, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { Terminal } from '../../test-support/terminal.js';

const outage = vi.hoisted(() => ({ on: false, hits: 0 }));
vi.mock('../reconcile/repository.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../reconcile/repository.js')>();
  return {
    ...real,
    heldNotes: (...a: Parameters<typeof real.heldNotes>) => {
      if (outage.on) {
        outage.hits++;
        throw new LancashError('StorageUnavailable', { reason: 'test: disk gone' }, 'storage unavailable');
      }
      return real.heldNotes(...a);
    },
  };
});

describe('a local error on a money step’s retry', () => {
  let net: TestNet | undefined;
  afterEach(async () => {
    if (net !== undefined) expect(await net.audit()).toEqual([]);
    await net?.close();
    net = undefined;
  });

  it('keeps job 1 issuing with its local notes held, and the retry finishes it once', async () => {
    let dropped = 0;
    net = await startNet('sqlite', {
      bank: (real) =>
        wrapBank(real, {
          issue: async (...a) => {
            const r = await real.issue(...a);
            if (dropped++ === 0) {
              // The bank committed; the gateway never hears it. Its next attempt hits the outage.
              outage.on = true;
              throw new UnclearOutcome('network', 'test issue', 'answer dropped after the bank committed');
            }
            return r;
          },
        }),
    });
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 30);
    const j2 = await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    expect((await finish(net, j2.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);

    const w2 = await Terminal.create('wan');
    const j1 = await l.sendJob(lanUrl, 'lan-to-wan', { proofs: l.takeAll(lanUrl), destination: w2.address });
    const id = j1.status.transferId;
    await gw.runner.settle(); // first attempt: issued at the bank, answer lost
    net.clock.advance(1000);
    await gw.runner.settle(); // the retry: the recovery record cannot be read
    expect(outage.hits).toBeGreaterThan(0);
    const held = await gw.jobs.job(id);
    expect(held).toMatchObject({ state: 'issuing' });
    expect(held?.lastError).toContain('storage unavailable');
    expect(await net.localOutstanding()).toBe(30); // the local notes are held, not released

    outage.on = false;
    expect((await finish(net, id)).state).toBe('done');
    await w2.receive(bankUrl);
    expect(w2.balance(bankUrl)).toBe(30);
    expect(dropped).toBe(2); // one lost answer, one retry with the same transfer id: one issue
    expect(await net.reserve()).toBe(0);
    expect(await net.localOutstanding()).toBe(0);
  });
});
