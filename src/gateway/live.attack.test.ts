/**
 * Attacks on the live routes' bounds against real processes (a wide bank, a fault proxy holding a
 * transfer in `receiving`, a gateway):
 *   - one client opens streams of a transfer it knows until refused: exactly the per-client bound
 *     (16) stay open, then 429 `RateLimited` on every live route of that listener, before any work
 *     (an unknown transfer, an inbox with a garbage proof: 429, not 404 or 403); another client (another
 *     loopback address) is still served; the places come back when the client goes;
 *   - a stranger floods an inbox's route with forged proofs: every one 403 (71011), none holds a place,
 *     and the owner still opens its streams.
 */
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hex } from '../core/bytes.js';
import { DEFAULT_SSE_LIMITS } from '../core/http/sse.js';
import { BANK_RECEIVE_PATH } from '../core/protocol/bank.js';
import { inboxEventsUrl, mailboxInfo } from '../mailbox/client.js';
import { type ProcessNet, startProcessNet } from '../test-support/gateway-process.js';
import { type EventReader, openEvents } from '../test-support/sse.js';
import { Terminal } from '../test-support/terminal.js';

const eventsOf = (base: string, id: string) =>
  `${base}/v1/gateway/transfers/${encodeURIComponent(id)}/events`;

describe('live routes under attack', () => {
  let net: ProcessNet;
  let held: string;
  const other = new Agent({ localAddress: '127.0.0.2' });

  beforeAll(async () => {
    net = await startProcessNet({ proxy: true, retryCapMs: 200 });
    // A transfer that stays in `receiving` (the bank's receive refused at the connection) while the
    // attack runs, so its streams stay open.
    net.proxy!.plan([{ path: BANK_RECEIVE_PATH, fault: 'refuse', times: Number.POSITIVE_INFINITY }]);
    const w = await Terminal.create('wan');
    await w.mintWide(net.bankUrl, 3);
    const l = await Terminal.create('lan');
    held = (
      await w.sendJob(net.wan, 'wan-to-lan', { proofs: w.takeAll(net.bankUrl), destination: l.address })
    ).status.transferId;
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
  });
  afterAll(async () => {
    net.proxy?.plan([]);
    await other.close();
    await net?.close();
  });

  it('holds one client to its bound on a listener, 429 before any work, and gives the places back', async () => {
    const perClient = DEFAULT_SSE_LIMITS.perClient;
    const mine: EventReader[] = [];
    let refused: EventReader | undefined;
    for (let i = 0; i < perClient + 5 && refused === undefined; i++) {
      const s = await openEvents(eventsOf(net.lan, held));
      if (s.status === 200) mine.push(s);
      else refused = s;
    }
    expect(mine).toHaveLength(perClient);
    expect([refused?.status, refused?.refusal?.code]).toEqual([429, 72003]);
    // Every live route of the listener counts: no lookup, no decryption for a client over its bound.
    const stranger = await Terminal.create('lan');
    const unknown = await openEvents(eventsOf(net.lan, 'AAAAAAAAAAAAAAAAAAAAAA'));
    const garbage = await openEvents(`${net.lan}/v1/inbox/${stranger.address}/events?proof=AAAA`);
    expect([unknown.status, garbage.status]).toEqual([429, 429]);
    // Another client, and the other listener, are served.
    const elsewhere = await openEvents(eventsOf(net.lan, held), {}, other);
    const wan = await openEvents(eventsOf(net.wan, held));
    expect([elsewhere.status, wan.status]).toEqual([200, 200]);
    for (const s of [elsewhere, wan]) expect((await s.next())?.type).toBe('status');
    elsewhere.close();
    wan.close();

    for (const s of mine) s.close();
    // The server sees each close when its socket goes; ask until a place is free again.
    let status = 429;
    for (let tries = 0; status === 429 && tries < 200; tries++) {
      const s = await openEvents(eventsOf(net.lan, held));
      status = s.status;
      s.close();
      if (status === 429) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(200);
  });

  it('lets no stranger hold an inbox’s places with forged proofs', async () => {
    const serverKey = hex((await mailboxInfo(net.lan)).key, 'key', 32);
    const owner = await Terminal.create('lan');
    const stranger = await Terminal.create('lan');
    const ownerPath = `/v1/inbox/${owner.address}/events`;
    const codes = new Set<number | undefined>();
    for (let i = 0; i < 50; i++) {
      const forged = await inboxEventsUrl(net.lan, {
        owner: stranger.pair,
        address: stranger.address,
        serverKey,
      });
      const r = await openEvents(forged.replace(`/v1/inbox/${stranger.address}/events`, ownerPath));
      codes.add(r.refusal?.code);
    }
    expect([...codes]).toEqual([71011]);
    // The owner's four places (maxInboxStreams) are all free: it holds them at once.
    const streams: EventReader[] = [];
    for (let i = 0; i < 4; i++) {
      const url = await inboxEventsUrl(net.lan, { owner: owner.pair, address: owner.address, serverKey });
      streams.push(await openEvents(url, {}, other));
    }
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    for (const s of streams) s.close();
  });
});
