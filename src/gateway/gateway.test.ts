/**
 * The real `lancash wide-bank` and `lancash gateway` processes on loopback, driven by test terminals
 * over HTTP: WAN → LAN and LAN → WAN single transfers (the destination drains its inbox and swaps the
 * notes at the right mint), what each listener serves and refuses, replays, envelopes sealed to
 * another key, notes taken to the wrong mint, and the operator's history. The wide bank's audit
 * (invariant 1) and the reserve against the local money (invariant 2 at rest) are checked after every test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../core/bytes.js';
import { generateEncryptionKeyPair } from '../core/envelope/index.js';
import { getGatewayInfo, getTransfer } from '../core/protocol/gateway.js';
import { codeOf } from '../test-support/refusals.js';
import { type System, systemPerSuite } from '../test-support/system.js';
import { Terminal, waitForTransfer } from '../test-support/terminal.js';

describe('gateway process', () => {
  const started = systemPerSuite('gw');
  let sys: System;
  let bankUrl: string;
  let lan: string;
  let wan: string;

  beforeAll(() => {
    sys = started();
    ({ bank: bankUrl, lan, wan } = sys);
  });

  it('prints the LAN then the WAN URL; WAN → LAN and LAN → WAN arrive once, at the right mint', async () => {
    expect(sys.gateway.stdout().split('\n').slice(0, 2)).toEqual([
      `listening on ${lan}`,
      `listening on ${wan}`,
    ]);
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 37);
    const job2 = await w.sendJob(wan, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    expect(await waitForTransfer(wan, job2.status.transferId)).toMatchObject({ state: 'done', amount: 37 });
    await l.receive(lan);
    expect(l.balance(lan)).toBe(37);

    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(lan, 'lan-to-wan', { proofs: l.takeAll(lan), destination: w2.address });
    expect(await waitForTransfer(lan, job1.status.transferId)).toMatchObject({ state: 'done', amount: 37 });
    await w2.receive(bankUrl);
    expect(w2.balance(bankUrl)).toBe(37);
  });

  it('keeps each listener to its role: the local mint, mailbox and job 1 on the LAN only', async () => {
    const lanInfo = await getGatewayInfo(lan);
    const wanInfo = await getGatewayInfo(wan);
    expect(lanInfo).toEqual({ ...wanInfo, localMint: lan });
    expect(wanInfo).toEqual({
      encryptionKey: sys.gatewayKey,
      currency: 'EUR',
      unit: 'eur',
      wideBank: bankUrl,
    });
    for (const [method, path] of [
      ['GET', '/v1/keys'],
      ['GET', '/v1/keysets'],
      ['GET', '/v1/info'],
      ['POST', '/v1/swap'],
      ['POST', '/v1/checkstate'],
      ['GET', '/v1/inbox'],
      ['POST', '/v1/gateway/lan-to-wan'],
      ['GET', '/v1/gateway/history'],
    ] as const) {
      const res = await request(`${wan}${path}`, {
        method,
        ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
      });
      expect([path, res.statusCode]).toEqual([path, 404]);
      await res.body.dump();
    }
    for (const path of ['/v1/keys', '/v1/info', '/v1/inbox', '/healthz']) {
      const res = await request(`${lan}${path}`);
      expect([path, res.statusCode]).toEqual([path, 200]);
      await res.body.dump();
    }
    expect((await request(`${wan}/healthz`)).statusCode).toBe(200);
    const metrics = await (await request(`${lan}/metrics`)).body.text();
    expect(metrics).toContain('lancash_gateway_jobs_finished_total');
    // A job 1 is not shown on the WAN listener.
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 2);
    const j2 = await w.sendJob(wan, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await waitForTransfer(wan, j2.status.transferId);
    await l.receive(lan);
    const j1 = await l.sendJob(lan, 'lan-to-wan', { proofs: l.takeAll(lan), destination: w.address });
    await waitForTransfer(lan, j1.status.transferId);
    expect(await codeOf(getTransfer(wan, j1.status.transferId))).toBe(72002);
    expect((await getTransfer(wan, j2.status.transferId)).state).toBe('done');
    await w.receive(bankUrl);
  });

  it('refuses notes at the wrong mint, a replayed envelope is the same transfer, one sealed to another key is refused', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const wide = await w.mintWide(bankUrl, 9);
    // Wide notes at the local mint: its keysets are not the bank's.
    expect(await codeOf(w.swap(lan, wide))).toBe(12001);
    const env = await w.sealJob(await getGatewayInfo(wan), 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    const first = await w.postJob(wan, 'wan-to-lan', env);
    const again = await w.postJob(wan, 'wan-to-lan', env);
    expect(again.transferId).toBe(first.transferId);
    expect(again.createdAt).toBe(first.createdAt);
    await waitForTransfer(wan, first.transferId);
    expect((await w.postJob(wan, 'wan-to-lan', env)).state).toBe('done');
    await l.receive(lan);
    expect(l.balance(lan)).toBe(9);
    // Local notes at the wide bank: the bank does not know the local keyset.
    expect(await codeOf(l.swap(bankUrl, l.notes(lan)))).toBe(12001);
    // A job request sealed to a key that is not the gateway's.
    const stranger = await generateEncryptionKeyPair();
    const info = { ...(await getGatewayInfo(lan)), encryptionKey: bytesToHex(stranger.publicKey) };
    const misdirected = await l.sealJob(info, 'lan-to-wan', { proofs: l.notes(lan), destination: w.address });
    expect(await codeOf(l.postJob(lan, 'lan-to-wan', misdirected))).toBe(71003);
    expect(l.balance(lan)).toBe(9);
    // The notes are untouched: converting them back works.
    const back = await l.sendJob(lan, 'lan-to-wan', { proofs: l.takeAll(lan), destination: w.address });
    expect((await waitForTransfer(lan, back.status.transferId)).state).toBe('done');
    await w.receive(bankUrl);
    expect(w.balance(bankUrl)).toBe(9);
  });

  it('shows the operator each terminal’s conversions with every state change; no token, no history', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 6);
    const j2 = await w.sendJob(wan, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await waitForTransfer(wan, j2.status.transferId);
    const token = readFileSync(join(sys.dir, 'gw', 'operator.token'), 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(40);
    const history = (key: string, auth?: string) =>
      request(`${lan}/v1/gateway/history?terminal=${key}`, auth ? { headers: { authorization: auth } } : {});
    for (const auth of [undefined, 'Bearer wrong', `Basic ${token}`]) {
      const res = await history(w.key, auth);
      expect(res.statusCode).toBe(401);
      expect(((await res.body.json()) as { code: number }).code).toBe(74001);
    }
    const ofSender = (await (await history(w.key, `Bearer ${token}`)).body.json()) as {
      transfers: unknown[];
    };
    const ofDestination = (await (await history(l.key, `Bearer ${token}`)).body.json()) as {
      transfers: unknown[];
    };
    expect(ofSender).toEqual(ofDestination);
    expect(ofSender.transfers).toEqual([
      expect.objectContaining({
        transferId: j2.status.transferId,
        direction: 'wan-to-lan',
        state: 'done',
        amount: 6,
        sender: w.key,
        destination: l.address,
        events: [
          expect.objectContaining({ seq: 1, from: 'received', to: 'receiving' }),
          expect.objectContaining({ seq: 2, from: 'receiving', to: 'delivering' }),
          expect.objectContaining({ seq: 3, from: 'delivering', to: 'done' }),
        ],
      }),
    ]);
    // Neither the operator token nor the gateway's private key ever reaches the logs.
    const secret = await sys.gwStore.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'gateway.encryption-key')
      .executeTakeFirstOrThrow();
    for (const text of [sys.gateway.stdout(), sys.gateway.stderr()]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(secret.value);
    }
    await l.receive(lan);
  });
});
