/**
 * An inbox's live events (`GET /v1/inbox/:address/events`) against a real `lancash wide-bank`: the
 * owner hears `arrived` when a deposit lands (and at once when messages wait already); strangers,
 * replayed, stale and missing proofs are refused with `InboxWatchRefused` (71011) and learn nothing;
 * one inbox holds at most `maxInboxStreams` streams (429 past it, a place again once one closes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex } from '../core/bytes.js';
import { generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { isLancashError } from '../core/errors.js';
import { decode } from '../core/protocol/cashu.js';
import { PAYMENT } from '../core/protocol/gateway.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';
import { killAll, type Started, startProcess, wideBankArgs } from '../test-support/process.js';
import { openEvents } from '../test-support/sse.js';
import { randomId, Terminal } from '../test-support/terminal.js';
import { deposit, drain, inboxEventsUrl, mailboxInfo } from './client.js';
import { ArrivedEvent } from './protocol.js';
import { Mailbox } from './service.js';

/** A message for `to` from someone (only `to` can open it). */
async function letterFor(to: Terminal) {
  return sealJson({
    type: PAYMENT,
    transferId: randomId(),
    sender: await generateEncryptionKeyPair(),
    recipient: to.pair.publicKey,
    payload: { hello: true },
  });
}

describe('inbox live events', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-inbox-events-'));
  let bank: Started;
  let serverKey: Uint8Array;
  const urlFor = (t: Terminal, o: { at?: number; nonce?: string } = {}) =>
    inboxEventsUrl(bank.url, { owner: t.pair, address: t.address, serverKey, ...o });

  beforeAll(async () => {
    bank = await startProcess(wideBankArgs(dir));
    serverKey = hex((await mailboxInfo(bank.url)).key, 'key', 32);
  });
  afterAll(async () => {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells the owner `arrived` with the message when a deposit lands, and at once when messages already wait', async () => {
    const owner = await Terminal.create('wan');
    const stream = await openEvents(await urlFor(owner));
    expect(stream.status).toBe(200);
    const letter = await letterFor(owner);
    expect(await deposit(bank.url, owner.address, letter)).toEqual({ duplicate: false });
    // The message itself, as a drain answers it: the owner need not drain to read it.
    const told = await stream.next();
    expect(told?.type).toBe('arrived');
    expect(decode(ArrivedEvent, told?.data)).toEqual({
      id: expect.stringMatching(/^[1-9][0-9]*$/),
      envelope: letter,
    });
    // The same bytes again store nothing and tell nothing.
    expect(await deposit(bank.url, owner.address, letter)).toEqual({ duplicate: true });
    stream.close();

    // A message is pending (not acked): a new stream starts with a bare `arrived` (drain).
    const again = await openEvents(await urlFor(owner));
    expect(await again.next()).toEqual({ type: 'arrived', data: undefined });
    again.close();
    const drained = await drain(bank.url, { owner: owner.pair, address: owner.address, serverKey, ack: [] });
    expect(drained.messages).toEqual([told?.data]);
  });

  it('refuses anyone but the owner with InboxWatchRefused (71011), and never the same proof twice', async () => {
    const owner = await Terminal.create('wan');
    const stranger = await Terminal.create('wan');
    // The stranger's own key, sealed for the owner's address.
    const forged = await inboxEventsUrl(bank.url, {
      owner: stranger.pair,
      address: stranger.address,
      serverKey,
    });
    const ownerPath = `/v1/inbox/${owner.address}/events`;
    const strangerAsOwner = forged.replace(`/v1/inbox/${stranger.address}/events`, ownerPath);
    const url = await urlFor(owner);
    const stale = await urlFor(owner, { at: Date.now() - 3_600_000 });
    const cases: [string, string][] = [
      ['a stranger’s proof', strangerAsOwner],
      ['no proof', `${bank.url}${ownerPath}`],
      ['a proof that is not base64url JSON', `${bank.url}${ownerPath}?proof=bm90IGpzb24`],
      ['an hour-old proof', stale],
    ];
    for (const [what, target] of cases) {
      const r = await openEvents(target);
      expect([what, r.status, r.refusal?.code]).toEqual([what, 403, 71011]);
    }
    const first = await openEvents(url);
    expect(first.status).toBe(200);
    first.close();
    const replay = await openEvents(url);
    expect([replay.status, replay.refusal?.code, replay.refusal?.detail]).toEqual([
      403,
      71011,
      'cannot follow this inbox: the proof was used before',
    ]);
  });

  it('holds at most maxInboxStreams (4) streams per inbox: 429 past it, a place again once one closes', async () => {
    const owner = await Terminal.create('wan');
    const open = [];
    for (let i = 0; i < 4; i++) {
      const s = await openEvents(await urlFor(owner));
      expect(s.status).toBe(200);
      open.push(s);
    }
    const over = await openEvents(await urlFor(owner));
    expect([over.status, over.refusal?.error]).toEqual([429, 'RateLimited']);
    // Another inbox of the same client is not held by this one's bound.
    const other = await Terminal.create('wan');
    const elsewhere = await openEvents(await urlFor(other));
    expect(elsewhere.status).toBe(200);
    elsewhere.close();

    open.shift()?.close();
    // The server sees the close when the socket does; ask until it has (each try a fresh proof).
    let status = 429;
    for (let tries = 0; status === 429 && tries < 200; tries++) {
      const s = await openEvents(await urlFor(owner));
      status = s.status;
      s.close();
    }
    expect(status).toBe(200);
    for (const s of open) s.close();
  });
});

/** The proof from an events URL, as the route reads it. */
function proofIn(url: string): unknown {
  const text = new URL(url).searchParams.get('proof') ?? '';
  return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
}

describe.each(DIALECTS)('inbox watch proofs on %s', (dialect) => {
  it('opens for the owner once per proof, says what is pending, and tells each new message', async () => {
    const store = await freshStore(dialect);
    try {
      const server = await generateEncryptionKeyPair();
      const arrivals: string[] = [];
      const mailbox = new Mailbox({
        store,
        serverKey: server,
        network: 'wan',
        onArrived: (recipient, message) => arrivals.push(`${recipient} ${message.envelope.transferId}`),
      });
      const owner = await Terminal.create('wan');
      const proof = () =>
        inboxEventsUrl('http://mailbox', {
          owner: owner.pair,
          address: owner.address,
          serverKey: server.publicKey,
        });
      expect(await mailbox.checkWatch(owner.address, proofIn(await proof()))).toEqual({
        owner: owner.key,
        pending: false,
      });
      const letter = await letterFor(owner);
      expect(await mailbox.deposit(owner.address, letter, '10.0.0.1')).toEqual({ duplicate: false });
      expect(await mailbox.deposit(owner.address, letter, '10.0.0.1')).toEqual({ duplicate: true });
      // A replayed deposit stores nothing and tells nothing.
      expect(arrivals).toEqual([`${owner.key} ${letter.transferId}`]);
      const used = proofIn(await proof());
      expect((await mailbox.checkWatch(owner.address, used)).pending).toBe(true);
      const again = await mailbox.checkWatch(owner.address, used).catch((e: unknown) => e);
      expect(isLancashError(again, 'InboxWatchRefused')).toBe(true);
    } finally {
      await store.close();
    }
  });
});
