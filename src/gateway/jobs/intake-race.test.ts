/**
 * A copy of a job envelope posted again while the first copy ran (a terminal's retry after a timeout
 * under load): the copy's look at the journal came before the first copy's commit, so it finds no job
 * and meets the notes the first copy took (pending or spent). It is the same transfer, answered as a
 * replay, not refused. The race is made by hiding the job from the copy's first look.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getGatewayInfo } from '../../core/protocol/gateway.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { finish, startNet, type TestNet } from '../../test-support/gateway-net.js';
import { Terminal } from '../../test-support/terminal.js';
import type * as Repo from './repository.js';

/** Ids whose next journal read answers "no such job", once each. */
const hidden = new Set<string>();

vi.mock('./repository.js', async (original) => {
  const real = await original<typeof Repo>();
  return {
    ...real,
    getJob: async (...a: Parameters<typeof real.getJob>) =>
      hidden.delete(a[1]) ? undefined : real.getJob(...a),
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

  it('a copy that missed the job meets its spent notes and answers the same transfer', async () => {
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
    const first = await w.postJob(wanUrl, 'wan-to-lan', env);
    expect((await finish(net, first.transferId)).state).toBe('done');
    // The bank holds the notes as spent; the copy's look at the journal misses the job.
    hidden.add('race-1');
    expect(await w.postJob(wanUrl, 'wan-to-lan', env)).toMatchObject({
      transferId: 'race-1',
      state: 'done',
    });
    expect(hidden.size).toBe(0);
    const got = await l.receive(lanUrl);
    expect(got.payments).toHaveLength(1);
    expect(await net.reserve()).toBe(20);
  });
});
