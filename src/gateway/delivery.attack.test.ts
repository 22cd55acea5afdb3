/**
 * Issue 8 items 5 and 6, as attacks on real processes (`lancash wide-bank` and `lancash gateway`) with
 * a loopback HTTP server the test runs standing in for an inbox URL:
 *   - SSRF: a job whose destination or `replyTo` carries an inbox URL the operator did not allow
 *     (here the test's own loopback server) is refused at intake with `InboxNotAllowed` (71010), nothing
 *     changes, and the gateway never calls the server;
 *   - an allowed inbox that never answers: after the delivery deadline the job is parked, visible to
 *     the operator (parked list, history, metrics), its money accounted for; the operator's retry after
 *     the inbox recovers delivers the same bytes, and the recipient gets the money;
 *   - starvation: 40 jobs to a never-answering allowed inbox do not hold up a legitimate job 2, which
 *     finishes while every one of the 40 is still being delivered and none of their calls gave up.
 * Invariants 1 and 2 are checked after each test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { getGatewayInfo, getTransfer } from '../core/protocol/gateway.js';
import { DIALECTS } from '../test-support/dialects.js';
import {
  eachPolitely,
  fundLocal,
  fundWide,
  noteStates,
  type ProcessNet,
  startProcessNet,
} from '../test-support/gateway-process.js';
import { type Answer, refusalCode } from '../test-support/http.js';
import { type InboxServer, startInboxServer } from '../test-support/inbox-server.js';
import { codeOf } from '../test-support/refusals.js';
import { Terminal, waitForTransfer } from '../test-support/terminal.js';

const TOKEN = 'delivery-attack-operator-token';
const INBOX_NOT_ALLOWED = 71010;
const JOB_NOT_PARKED = 74008;

/** An operator call to the gateway's LAN listener. */
async function operator(net: ProcessNet, method: 'GET' | 'POST', path: string): Promise<Answer> {
  const res = await fetch(`${net.lan}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

/** The address of `t`'s key on its network, with `inbox` as its inbox URL. */
function withInbox(t: Terminal, inbox: string): string {
  return encodeAddress({ network: t.network, publicKey: t.pair.publicKey, inbox });
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

describe('inbox URLs not on the allow-list (SSRF from the WAN into the LAN)', () => {
  let net: ProcessNet;
  let evil: InboxServer;

  beforeAll(async () => {
    evil = await startInboxServer({ hang: true });
    net = await startProcessNet({ env: { LANCASH_OPERATOR_TOKEN: TOKEN } });
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
  });
  afterAll(async () => {
    await net?.close();
    await evil?.close();
  });

  it.each([
    ['destination', 'destination'],
    ['replyTo', 'replyTo'],
  ] as const)(
    'job 2 whose %s carries a loopback inbox is refused; the server is never called',
    async (_, field) => {
      const w = await Terminal.create('wan');
      const l = await Terminal.create('lan');
      await fundWide(net, [{ terminal: w, amount: 7 }]);
      const proofs = w.takeAll(net.bankUrl);
      const attack =
        field === 'destination'
          ? { destination: withInbox(l, `${evil.url}/admin/reset?x=`), replyTo: w.address }
          : { destination: l.address, replyTo: withInbox(w, evil.url) };
      const envelope = await w.sealJob(await getGatewayInfo(net.wan), 'wan-to-lan', { proofs, ...attack });

      expect(await codeOf(w.postJob(net.wan, 'wan-to-lan', envelope))).toBe(INBOX_NOT_ALLOWED);
      // Nothing changed: no job, the wide notes are still the sender's.
      expect(await codeOf(getTransfer(net.wan, envelope.transferId))).toBe(72002);
      expect(await noteStates(net.bankUrl, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
      expect(evil.requests).toEqual([]);
    },
  );

  it('job 1 from the LAN to a WAN address carrying a loopback inbox is refused; the notes stay spendable', async () => {
    const funder = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const w = await Terminal.create('wan');
    await fundLocal(net, funder, l, [{ terminal: l, amount: 5 }]);
    const proofs = l.takeAll(net.lan);
    const envelope = await l.sealJob(await getGatewayInfo(net.lan), 'lan-to-wan', {
      proofs,
      destination: withInbox(w, `${evil.url}/v1/inbox`),
    });
    const answer = await fetch(`${net.lan}/v1/gateway/lan-to-wan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(envelope),
    });
    expect(refusalCode({ status: answer.status, json: await answer.json() })).toBe(INBOX_NOT_ALLOWED);
    expect(await noteStates(net.lan, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
    expect(evil.requests).toEqual([]);
  });
});

describe.each(DIALECTS)(
  'an allowed inbox that never answers, on %s: parked after the deadline, retried by the operator',
  (dialect) => {
    let net: ProcessNet;
    let inbox: InboxServer;

    beforeAll(async () => {
      inbox = await startInboxServer({ hang: true });
      net = await startProcessNet({
        dialect,
        env: { LANCASH_OPERATOR_TOKEN: TOKEN },
        retryCapMs: 200,
        gatewayArgs: [
          '--inbox-allow',
          inbox.url,
          '--delivery-timeout-ms',
          '200',
          '--delivery-deadline-ms',
          '1000',
        ],
      });
    });
    afterEach(async () => {
      expect(await net.audit()).toEqual([]);
    });
    afterAll(async () => {
      await net?.close();
      await inbox?.close();
    });

    it('job 2: parked with its payment kept, visible, balanced; a retry delivers the same bytes', async () => {
      const w = await Terminal.create('wan');
      const l = await Terminal.create('lan', { inbox: inbox.url });
      await fundWide(net, [{ terminal: w, amount: 9 }]);
      const { status } = await w.sendJob(net.wan, 'wan-to-lan', {
        proofs: w.takeAll(net.bankUrl),
        destination: l.address,
      });
      const id = status.transferId;

      let parked: Answer = { status: 0, json: undefined };
      await until(async () => {
        parked = await operator(net, 'GET', '/v1/gateway/operator/parked');
        return parked.json?.jobs?.some((j: { transferId: string }) => j.transferId === id) === true;
      });
      expect(parked.status).toBe(200);
      const job = parked.json.jobs.find((j: { transferId: string }) => j.transferId === id);
      expect(job).toMatchObject({ state: 'delivering', amount: 9, delivery: 'payment', route: inbox.url });
      expect(job.parkedAt).toBeTypeOf('number');
      expect(job.lastError).toMatch(/./);
      // The sender still sees it on its way; the operator's history and the metrics say parked.
      expect(await getTransfer(net.wan, id)).toMatchObject({ state: 'delivering' });
      const history = await operator(net, 'GET', `/v1/gateway/history?terminal=${l.key}`);
      const entry = history.json.transfers.find((t: { transferId: string }) => t.transferId === id);
      expect(entry.parkedAt).toBe(job.parkedAt);
      expect(entry.events.map((e: { detail: string }) => e.detail).join('\n')).toMatch(/^parked/m);
      const metrics = await (await fetch(`${net.lan}/metrics`)).text();
      expect(metrics).toMatch(/^lancash_gateway_jobs_parked({[^}]*})? 1$/m);
      // Parked means left alone: no more calls to the inbox.
      const tries = inbox.requests.length;
      expect(tries).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 600));
      expect(inbox.requests).toHaveLength(tries);

      // The inbox recovers (it now hands deposits to the gateway's own LAN mailbox); the operator retries.
      inbox.mode({ forward: net.lan });
      const retried = await operator(net, 'POST', `/v1/gateway/operator/parked/${id}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.json).toMatchObject({ transferId: id });
      expect(await waitForTransfer(net.wan, id)).toMatchObject({ state: 'done', amount: 9 });
      const bodies = new Set(inbox.requests.map((r) => r.body));
      expect(bodies.size).toBe(1);
      const got = await l.receive(net.lan);
      expect(got.payments.map((p) => p.transferId)).toEqual([id]);
      expect(l.balance(net.lan)).toBe(9);

      // A job that is not parked (any more) is not retried.
      const again = await operator(net, 'POST', `/v1/gateway/operator/parked/${id}/retry`);
      expect(refusalCode(again)).toBe(JOB_NOT_PARKED);
      expect((await operator(net, 'GET', '/v1/gateway/operator/parked')).json.jobs).toEqual([]);
    });
  },
);

describe('40 jobs to an allowed inbox that never answers do not hold up a legitimate job 2', () => {
  let net: ProcessNet;
  let inbox: InboxServer;

  beforeAll(async () => {
    inbox = await startInboxServer({ hang: true });
    net = await startProcessNet({
      gatewayArgs: ['--inbox-allow', inbox.url, '--delivery-timeout-ms', '600000'],
    });
  });
  afterAll(async () => {
    await net?.close();
    await inbox?.close();
  });

  it('the legitimate job is done while all 40 are still delivering and none of their calls gave up', async () => {
    const spammer = await Terminal.create('wan');
    const victim = await Terminal.create('lan', { inbox: inbox.url });
    await fundWide(
      net,
      Array.from({ length: 40 }, () => ({ terminal: spammer, amount: 1 })),
    );
    const cents = spammer.takeAll(net.bankUrl);
    expect(cents).toHaveLength(40);
    const spam = await eachPolitely(cents, 8, async (note) => {
      const { status } = await spammer.sendJob(net.wan, 'wan-to-lan', {
        proofs: [note],
        destination: victim.address,
      });
      return status.transferId;
    });
    // The inbox holds as many deliveries open as the gateway lets one destination have.
    await until(async () => inbox.open() > 0 && inbox.open() === inbox.requests.length);

    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await fundWide(net, [{ terminal: w, amount: 3 }]);
    const { status } = await w.sendJob(net.wan, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    expect(await waitForTransfer(net.wan, status.transferId)).toMatchObject({ state: 'done' });
    expect((await l.receive(net.lan)).payments).toHaveLength(1);

    // Every one of the 40 gets to `delivering` (money steps never wait for deliveries) ...
    await until(async () => {
      const states = await Promise.all(spam.map((id) => getTransfer(net.wan, id)));
      return states.every((s) => s.state === 'delivering');
    });
    // ... and no delivery was given up on or repeated: the legitimate job did not wait for a timeout.
    expect(inbox.abandoned()).toBe(0);
    expect(inbox.open()).toBe(inbox.requests.length);
    expect(inbox.open()).toBeLessThan(40);
    expect(await net.audit()).toEqual([]);
  });
});
