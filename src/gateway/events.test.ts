/**
 * The gateway's live routes against real processes (a wide bank, a fault proxy, a gateway): a
 * transfer's events arrive in order on the WAN listener and the stream ends at the terminal state,
 * the operator's stream sees the same changes as `job` events, the destination's LAN inbox stream
 * hears `arrived` when the payment is delivered, the WAN listener hides LAN → WAN
 * transfers as its status route does, and SIGTERM with streams open drains and exits 0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hex } from '../core/bytes.js';
import { BANK_RECEIVE_PATH } from '../core/protocol/bank.js';
import type { TransferStatus } from '../core/protocol/gateway.js';
import { OPERATOR_EVENTS_PATH } from '../core/protocol/operator.js';
import { inboxEventsUrl, mailboxInfo } from '../mailbox/client.js';
import { type ProcessNet, startProcessNet } from '../test-support/gateway-process.js';
import { openEvents } from '../test-support/sse.js';
import { Terminal, waitForTransfer } from '../test-support/terminal.js';

const TOKEN = 'live-events-operator-token';
const operator = { authorization: `Bearer ${TOKEN}` };
const eventsOf = (base: string, id: string) =>
  `${base}/v1/gateway/transfers/${encodeURIComponent(id)}/events`;

describe('gateway live events', () => {
  let net: ProcessNet;

  beforeAll(async () => {
    net = await startProcessNet({ proxy: true, retryCapMs: 200, env: { LANCASH_OPERATOR_TOKEN: TOKEN } });
  });
  afterEach(async () => {
    net.proxy?.plan([]);
    expect(await net.audit()).toEqual([]);
  });
  afterAll(() => net?.close());

  it('follows a WAN → LAN transfer: its status now, each change in order, then the stream ends', async () => {
    const ops = await openEvents(`${net.lan}${OPERATOR_EVENTS_PATH}`, operator);
    expect(ops.status).toBe(200);
    // The bank's receive refused at the connection: the job waits in `receiving`, retried.
    net.proxy!.plan([{ path: BANK_RECEIVE_PATH, fault: 'refuse', times: Number.POSITIVE_INFINITY }]);
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    // The destination follows its LAN inbox: the gateway's delivery is an `arrived` there.
    const serverKey = hex((await mailboxInfo(net.lan)).key, 'key', 32);
    const inbox = await openEvents(
      await inboxEventsUrl(net.lan, { owner: l.pair, address: l.address, serverKey }),
    );
    expect(inbox.status).toBe(200);
    await w.mintWide(net.bankUrl, 25);
    const { status } = await w.sendJob(net.wan, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    const id = status.transferId;
    const stream = await openEvents(eventsOf(net.wan, id));
    expect(stream.status).toBe(200);
    const first = await stream.next();
    expect(first).toMatchObject({ type: 'status', data: { transferId: id, state: 'receiving', amount: 25 } });

    net.proxy!.plan([]);
    const rest = await stream.rest();
    await stream.ended;
    // The payment into the LAN mailbox commits with the local notes: `delivering` is never seen.
    expect(rest.map((e) => [e.type, (e.data as TransferStatus).state])).toEqual([['status', 'done']]);
    expect(rest.at(-1)?.data).toEqual(await waitForTransfer(net.wan, id));

    // The operator saw the intake and the move of this job, in order.
    const jobs: unknown[] = [];
    const reserves: unknown[] = [];
    // Then the reserve sampler's point after the finished job (the console's chart moves live).
    while (jobs.length < 2 || reserves.length === 0) {
      const e = await ops.next();
      if (e === undefined) break;
      const data = e.data as { transferId?: string };
      if (e.type === 'job' && data.transferId === id) jobs.push(e.data);
      if (e.type === 'reserve' && jobs.length === 2) reserves.push(e.data);
    }
    ops.close();
    expect(reserves[0]).toEqual({
      at: expect.any(Number),
      reserve: expect.any(Number),
      outstanding: expect.any(Number),
    });
    expect(jobs).toEqual([
      { transferId: id, kind: 'transfer', state: 'receiving', amount: 25 },
      { transferId: id, kind: 'transfer', state: 'done', amount: 25 },
    ]);

    // A finished transfer: its one status, and the end, on both listeners.
    for (const base of [net.lan, net.wan]) {
      const again = await openEvents(eventsOf(base, id));
      expect(await again.rest()).toEqual([{ type: 'status', data: rest.at(-1)?.data }]);
    }
    // The delivery itself, told with its message (the payment sealed to the destination).
    expect(await inbox.next()).toMatchObject({
      type: 'arrived',
      data: { id: expect.any(String), envelope: { transferId: id, recipient: l.key } },
    });
    inbox.close();
    await l.receive(net.lan);
    expect(l.balance(net.lan)).toBe(25);
  });

  it('shows the WAN only WAN → LAN transfers, and unknown ids nowhere, as the status route does', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 9);
    const job2 = await w.sendJob(net.wan, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    await waitForTransfer(net.wan, job2.status.transferId);
    await l.receive(net.lan);
    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(net.lan, 'lan-to-wan', {
      proofs: l.takeAll(net.lan),
      destination: w2.address,
    });
    const id = job1.status.transferId;

    const onWan = await openEvents(eventsOf(net.wan, id));
    expect([onWan.status, onWan.refusal?.error]).toEqual([404, 'NotFound']);
    const onLan = await openEvents(eventsOf(net.lan, id));
    expect(onLan.status).toBe(200);
    const states = (await onLan.rest()).map((e) => (e.data as TransferStatus).state);
    expect(states.at(-1)).toBe('done');
    await w2.receive(net.bankUrl);
    // Job 1's payment names the bank as the gateway reaches it (the proxy).
    expect(w2.balance(net.gatewayBankUrl)).toBe(9);

    const unknown = await openEvents(eventsOf(net.lan, 'AAAAAAAAAAAAAAAAAAAAAA'));
    expect([unknown.status, unknown.refusal?.error]).toEqual([404, 'NotFound']);
  });

  it('refuses the operator stream without the token, before anything else', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const r = await openEvents(`${net.lan}${OPERATOR_EVENTS_PATH}`, headers);
      expect([r.status, r.refusal?.code]).toEqual([401, 74001]);
    }
    const wan = await openEvents(`${net.wan}${OPERATOR_EVENTS_PATH}`, operator);
    expect(wan.status).toBe(404);
  });

  it('drains on SIGTERM with streams open: every stream ends and the gateway exits 0', async () => {
    net.proxy!.plan([{ path: BANK_RECEIVE_PATH, fault: 'refuse', times: Number.POSITIVE_INFINITY }]);
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 4);
    const { status } = await w.sendJob(net.wan, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    const streams = [
      await openEvents(`${net.lan}${OPERATOR_EVENTS_PATH}`, operator),
      await openEvents(eventsOf(net.lan, status.transferId)),
      await openEvents(eventsOf(net.wan, status.transferId)),
    ];
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    for (const s of streams.slice(1)) expect((await s.next())?.type).toBe('status');
    // Past the 30 s grace the drain exits 1: 0 says the streams did not hold it.
    expect(await net.gateway.kill('SIGTERM')).toBe(0);
    await Promise.all(streams.map((s) => s.ended));
    // The job is still journaled in `receiving`; the audit after this test sees it as money in flight.
    net.proxy!.plan([]);
  });
});
