/**
 * Attacks on the mailbox (issue 8, items 1 and 8) against real `lancash` processes.
 *   - Forged deposits: a stranger who knows a transfer id deposits junk that claims the gateway's key
 *     before the gateway delivers (job 2 into the LAN mailbox, job 1 into the wide bank's). The real
 *     payment must still arrive and be spendable, and the audit must balance.
 *   - Mass deposits to random addresses: refused after the per-depositor and the global quota with
 *     their stable codes, and the database stops growing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { type Envelope, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { PAYMENT } from '../core/protocol/gateway.js';
import { refusalCode, sendJson } from '../test-support/http.js';
import { killAll, startProcess, wideBankArgs } from '../test-support/process.js';
import { type System, systemPerSuite } from '../test-support/system.js';
import { randomId, Terminal, waitForTransfer } from '../test-support/terminal.js';
import { deposit } from './client.js';

/**
 * Junk that claims to come from `claimedSender`: sealed from a stranger's own key, then relabelled.
 * It passes every check the mailbox can make (the mailbox cannot open envelopes), never opens.
 */
async function forged(claimedSender: string, recipient: Uint8Array, transferId: string): Promise<Envelope> {
  const stranger = await generateEncryptionKeyPair();
  const e = await sealJson({
    type: PAYMENT,
    transferId,
    sender: stranger,
    recipient,
    payload: { junk: true },
  });
  return { ...e, sender: claimedSender };
}

describe('mailbox attack: forged deposits under the gateway key', () => {
  const started = systemPerSuite('mbx-forge');
  let sys: System;
  beforeAll(() => {
    sys = started();
  });

  it('junk deposited first never blocks the real delivery (job 2 into the LAN mailbox, job 1 into the WAN one)', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const w2 = await Terminal.create('wan');
    await w.mintWide(sys.bank, 37);

    // Job 2: the attacker is the sender, so it picks the transfer id the gateway's payment will carry.
    const id2 = randomId();
    const junk2 = await forged(sys.gatewayKey, l.pair.publicKey, id2);
    expect(await deposit(sys.lan, l.address, junk2)).toEqual({ duplicate: false });
    const job2 = await w.sendJob(sys.wan, 'wan-to-lan', {
      proofs: w.takeAll(sys.bank),
      destination: l.address,
      transferId: id2,
    });
    expect(await waitForTransfer(sys.wan, job2.status.transferId)).toMatchObject({
      state: 'done',
      amount: 37,
    });
    await l.receive(sys.lan);
    expect(l.balance(sys.lan)).toBe(37);

    // Job 1, spending what arrived: junk waits at the wide bank's mailbox under the same transfer id.
    const id1 = randomId();
    const junk1 = await forged(sys.gatewayKey, w2.pair.publicKey, id1);
    expect(await deposit(sys.bank, w2.address, junk1)).toEqual({ duplicate: false });
    const job1 = await l.sendJob(sys.lan, 'lan-to-wan', {
      proofs: l.takeAll(sys.lan),
      destination: w2.address,
      transferId: id1,
    });
    expect(await waitForTransfer(sys.lan, job1.status.transferId)).toMatchObject({
      state: 'done',
      amount: 37,
    });
    await w2.receive(sys.bank);
    expect(w2.balance(sys.bank)).toBe(37);

    // The same junk again is a duplicate of itself, and still stores nothing new.
    expect(await deposit(sys.bank, w2.address, junk1)).toEqual({ duplicate: true });
  });
});

describe('mailbox attack: strangers from many addresses fill an inbox first', () => {
  // Ten messages an inbox; strangers may fill 90 % of it together, each at most half. The gateway
  // delivers into its LAN mailbox itself, and at the bank it is a trusted depositor (127.0.0.1).
  const limits = JSON.stringify({ maxMessages: 10 });
  const started = systemPerSuite('mbx-fill', {
    gatewayArgs: ['--mailbox-limits', limits],
    bankArgs: ['--mailbox-limits', limits, '--mailbox-trusted', '127.0.0.1'],
  });
  let sys: System;
  beforeAll(() => {
    sys = started();
  });

  /** Junk from strangers at 127.0.0.2… into `address`'s inbox at `base`, until every one is refused. */
  async function fill(base: string, address: string, recipient: Uint8Array): Promise<number> {
    let stored = 0;
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      for (;;) {
        const junk = await forged(sys.gatewayKey, recipient, randomId());
        const r = await sendJson(base, 'POST', `/v1/inbox/${address}`, junk, { from });
        if (r.status !== 200) {
          expect(refusalCode(r)).toBeOneOf([71006, 71008]);
          break;
        }
        stored++;
      }
    }
    return stored;
  }

  it('the real delivery still finds room: job 2 into the LAN mailbox, job 1 into the WAN one', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const w2 = await Terminal.create('wan');
    await w.mintWide(sys.bank, 21);

    expect(await fill(sys.lan, l.address, l.pair.publicKey)).toBe(9);
    const job2 = await w.sendJob(sys.wan, 'wan-to-lan', {
      proofs: w.takeAll(sys.bank),
      destination: l.address,
    });
    expect(await waitForTransfer(sys.wan, job2.status.transferId)).toMatchObject({
      state: 'done',
      amount: 21,
    });
    await l.receive(sys.lan);
    expect(l.balance(sys.lan)).toBe(21);

    expect(await fill(sys.bank, w2.address, w2.pair.publicKey)).toBe(9);
    const job1 = await l.sendJob(sys.lan, 'lan-to-wan', {
      proofs: l.takeAll(sys.lan),
      destination: w2.address,
    });
    expect(await waitForTransfer(sys.lan, job1.status.transferId)).toMatchObject({
      state: 'done',
      amount: 21,
    });
    await w2.receive(sys.bank);
    expect(w2.balance(sys.bank)).toBe(21);
  });
});

describe('mailbox attack: mass deposits to random addresses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-mbx-flood-'));
  const PER_DEPOSITOR = 12;
  const TOTAL = 20;
  const agents: Agent[] = [];
  let bank: string;

  beforeAll(async () => {
    const limits = JSON.stringify({
      maxDepositorMessages: PER_DEPOSITOR,
      maxTotalMessages: TOTAL,
      strangersPercent: 100,
    });
    bank = (await startProcess(wideBankArgs(join(dir, 'bank'), '--mailbox-limits', limits))).url;
  });
  afterAll(async () => {
    await killAll();
    for (const a of agents) await a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Bytes of the bank's SQLite database as SQLite counts them: its pages, in the file or still in the
   * write-ahead log. (The files' sizes would move with checkpoints, which copy WAL pages into the file
   * without shrinking the WAL.)
   */
  function dbBytes(): number {
    const db = new BetterSqlite3(join(dir, 'bank', 'wide-bank.db'), { readonly: true });
    try {
      return (
        Number(db.pragma('page_count', { simple: true })) * Number(db.pragma('page_size', { simple: true }))
      );
    } finally {
      db.close();
    }
  }

  /** Deposits ~60 KB to a fresh random address from `source` (a loopback address); answers the status and code. */
  async function flood(source: string): Promise<{ status: number; error?: string; code?: number }> {
    const agent = new Agent({ localAddress: source });
    agents.push(agent);
    const owner = await generateEncryptionKeyPair();
    const sender = await generateEncryptionKeyPair();
    const address = encodeAddress({ network: 'wan', publicKey: owner.publicKey });
    const envelope = await sealJson({
      type: 'junk',
      transferId: randomId(),
      sender,
      recipient: owner.publicKey,
      payload: { pad: bytesToHex(crypto.getRandomValues(new Uint8Array(22_000))) },
    });
    const res = await request(`${bank}/v1/inbox/${address}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(envelope),
    });
    const body = (await res.body.json()) as { error?: string; code?: number };
    return {
      status: res.statusCode,
      ...(body.error === undefined ? {} : { error: body.error, code: body.code }),
    };
  }

  it('refuses a depositor over its quota (429, 71008), then everyone over the total (409, 71007); the database stops growing', async () => {
    // One depositor (127.0.0.1) fills its own share and is refused; the others are not.
    const first: number[] = [];
    for (let i = 0; i < PER_DEPOSITOR + 5; i++) first.push((await flood('127.0.0.1')).status);
    expect(first.slice(0, PER_DEPOSITOR)).toEqual(Array(PER_DEPOSITOR).fill(200));
    const over = await flood('127.0.0.1');
    expect(over).toMatchObject({ status: 429, error: 'MailboxDepositorLimit', code: 71008 });

    // A second depositor fills what is left of the total; then every depositor is refused.
    for (let i = 0; i < TOTAL - PER_DEPOSITOR; i++) expect((await flood('127.0.0.2')).status).toBe(200);
    const full = await flood('127.0.0.3');
    expect(full).toMatchObject({ status: 409, error: 'MailboxQuotaExceeded', code: 71007 });

    const before = dbBytes();
    for (let i = 0; i < 30; i++) {
      expect((await flood(`127.0.0.${4 + (i % 3)}`)).status).toBe(409);
    }
    // 30 more envelopes of ~60 KB would have grown it by ~1.8 MB.
    expect(dbBytes() - before).toBeLessThan(256 * 1024);
  });
});
