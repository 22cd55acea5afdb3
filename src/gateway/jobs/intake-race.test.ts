/**
 * A copy of a job envelope posted again (a terminal's retry after a timeout under load), while its
 * first copy ran or after it ended: the intake does not look in the journal first (round fifteen: a
 * fresh transfer saves the read), so the copy meets the notes the first copy took (pending or spent).
 * It is the same transfer, answered as a replay, not refused: the refusal looks the transfer up.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getGatewayInfo } from '../../core/protocol/gateway.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { finish, startNet, type TestNet } from '../../test-support/gateway-net.js';
import { Terminal } from '../../test-support/terminal.js';
import type * as Repo from './repository.js';

/** The journal reads of one job by id, counted. */
const reads = new Map<string, number>();

vi.mock('./repository.js', async (original) => {
  const real = await original<typeof Repo>();
  return {
    ...real,
    getJob: async (...a: Parameters<typeof real.getJob>) => {
      reads.set(a[1], (reads.get(a[1]) ?? 0) + 1);
      return real.getJob(...a);
    },
  };
});

describe.each(DIALECTS)('a replay racing its first copy on %s', (dialect) => {
  let net: TestNet;
  beforeEach(async () => {
    net = await startNet(dialect);
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  it('a fresh transfer is taken in without a journal read; a copy meets its spent notes, reads once and answers the same transfer', async () => {
    const { bankUrl, lanUrl, wanUrl } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 20);
    const info = await getGatewayInfo(wanUrl);
    const env = await w.sealJob(info, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
      transferId: 'race-1',
    });
    await net.gw.runner.stop(); // driven by hand below: no run of the job reads it beside the intake
    reads.clear();
    const first = await w.postJob(wanUrl, 'wan-to-lan', env);
    expect(reads.get('race-1')).toBeUndefined();
    expect((await finish(net, first.transferId)).state).toBe('done');
    // The bank holds the notes as spent: the copy is refused by them, and the refusal finds the job.
    reads.clear();
    expect(await w.postJob(wanUrl, 'wan-to-lan', env)).toMatchObject({
      transferId: 'race-1',
      state: 'done',
    });
    expect(reads.get('race-1')).toBe(1);
    const got = await l.receive(lanUrl);
    expect(got.payments).toHaveLength(1);
    expect(await net.reserve()).toBe(20);
  });
  it('job 1: a copy while its notes are pending and a copy after it ended each read once and answer the same transfer', async () => {
    const { bankUrl, lanUrl, wanUrl } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 12);
    await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await net.gw.runner.settle();
    await l.receive(lanUrl);
    const env = await l.sealJob(await getGatewayInfo(lanUrl), 'lan-to-wan', {
      proofs: l.takeAll(lanUrl),
      destination: (await Terminal.create('wan')).address,
      transferId: 'race-2',
    });
    await net.gw.runner.stop(); // driven by hand below: the notes stay pending until the job runs
    reads.clear();
    const first = await l.postJob(lanUrl, 'lan-to-wan', env);
    expect(reads.get('race-2')).toBeUndefined();
    // Its local notes are pending under the first copy: the copy is refused by them and finds the job.
    expect(await l.postJob(lanUrl, 'lan-to-wan', env)).toEqual(first);
    expect(reads.get('race-2')).toBe(1);
    expect((await finish(net, first.transferId)).state).toBe('done');
    // Spent now: the same, once more.
    reads.clear();
    expect(await l.postJob(lanUrl, 'lan-to-wan', env)).toMatchObject({ transferId: 'race-2', state: 'done' });
    expect(reads.get('race-2')).toBe(1);
    expect(await net.reserve()).toBe(0);
  });
});
