/**
 * The conversion jobs on every dialect, with a real wide bank and a real gateway in this process on
 * loopback, and test terminals: WAN → LAN and LAN → WAN arrive exactly once and the reserve follows
 * the local money (invariant 2 when nothing is in flight); replays are the same transfer; every
 * refusal changes nothing or ends the job with the sender told and the money where it was; unclear
 * outcomes are retried with the same transfer id; deliveries are retried until an inbox accepts.
 * The wide bank's audit (invariant 1) runs after every test.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bytesToHex } from '../../core/bytes.js';
import { generateEncryptionKeyPair, sealJson } from '../../core/envelope/index.js';
import { UnclearOutcome } from '../../core/http/client.js';
import { listen } from '../../core/http/server.js';
import type { Proof } from '../../core/protocol/cashu.js';
import { getGatewayInfo, getTransfer } from '../../core/protocol/gateway.js';
import { deposit } from '../../mailbox/client.js';
import { Mailbox } from '../../mailbox/service.js';
import { inThreadCrypto } from '../../mint/crypto.js';
import type { DialectName } from '../../store/index.js';
import { DIALECTS, freshStore } from '../../test-support/dialects.js';
import {
  curve,
  FLAT_BACKOFF,
  finish,
  startNet,
  type TestNet,
  wrapBank,
} from '../../test-support/gateway-net.js';
import { stateOf } from '../../test-support/notes.js';
import { codeOf } from '../../test-support/refusals.js';
import { Terminal } from '../../test-support/terminal.js';
import { createWideBank } from '../../wide-bank/server.js';

describe.each(DIALECTS)('gateway jobs on %s', (dialect) => {
  let net: TestNet;

  beforeEach(async () => {
    net = await startNet(dialect);
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  it('WAN → LAN, then LAN → WAN: the money arrives once and the reserve follows the local money', async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 100);

    const job2 = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
      replyTo: w.address,
      memo: 'salary',
    });
    expect(job2.status).toMatchObject({ direction: 'wan-to-lan', state: 'receiving', amount: 100 });
    await gw.runner.settle();
    expect(await getTransfer(wanUrl, job2.status.transferId)).toMatchObject({ state: 'done', amount: 100 });
    const got = await l.receive(lanUrl);
    expect(got.payments).toHaveLength(1);
    expect(got.payments[0]).toMatchObject({
      mint: lanUrl,
      unit: 'eur',
      memo: 'salary',
      via: { gateway: gw.keys.publicKeyHex, direction: 'wan-to-lan' },
    });
    expect(l.balance(lanUrl)).toBe(100);
    expect(await net.reserve()).toBe(100);
    expect(await net.localOutstanding()).toBe(100);

    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(lanUrl, 'lan-to-wan', {
      proofs: l.takeAll(lanUrl),
      destination: w2.address,
      replyTo: l.address,
    });
    expect(job1.status).toMatchObject({ direction: 'lan-to-wan', state: 'issuing', amount: 100 });
    await gw.runner.settle();
    expect(await getTransfer(lanUrl, job1.status.transferId)).toMatchObject({ state: 'done' });
    const paid = await w2.receive(bankUrl);
    expect(paid.payments.map((p) => p.mint)).toEqual([bankUrl]);
    expect(w2.balance(bankUrl)).toBe(100);
    expect(await net.reserve()).toBe(0);
    expect(await net.localOutstanding()).toBe(0);
    // Nothing more arrives: each transfer was delivered once.
    expect(await l.drainInbox(lanUrl)).toEqual([]);
    expect(await w2.drainInbox(bankUrl)).toEqual([]);
  });

  it('drives a conversion from the job its intake wrote: no step reads the journal back', async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const reads: string[] = [];
    const read = gw.jobs.job.bind(gw.jobs);
    gw.jobs.job = (id) => {
      reads.push(id);
      return read(id);
    };
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 8);
    const job2 = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    await gw.runner.settle();
    await l.receive(lanUrl);
    const job1 = await l.sendJob(lanUrl, 'lan-to-wan', {
      proofs: l.takeAll(lanUrl),
      destination: (await Terminal.create('wan')).address,
    });
    await gw.runner.settle();
    for (const { status } of [job2, job1]) {
      expect(await gw.jobs.status(status.transferId)).toMatchObject({ state: 'done' });
    }
    expect(reads).toEqual([]);
  });

  it("job 2's payment to the LAN mailbox commits with its local notes: no deposit of its own, done in that commit", async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const deposits = vi.spyOn(Mailbox.prototype, 'deposit');
    const commits: string[] = [];
    const transaction = net.gwStore.transaction.bind(net.gwStore);
    net.gwStore.transaction = (write) => {
      commits.push('commit');
      return transaction(write);
    };
    try {
      const w = await Terminal.create('wan');
      const l = await Terminal.create('lan');
      await w.mintWide(bankUrl, 8);
      const { status } = await w.sendJob(wanUrl, 'wan-to-lan', {
        proofs: w.takeAll(bankUrl),
        destination: l.address,
      });
      commits.length = 0;
      await gw.runner.settle();
      expect(await gw.jobs.status(status.transferId)).toMatchObject({ state: 'done' });
      // The receive step's commit only (the recovery record is the bank's): notes, payment, deposit, done.
      expect(commits).toEqual(['commit']);
      expect(deposits).not.toHaveBeenCalled();
      const events = await net.gwStore.db
        .selectFrom('gateway_job_events')
        .select(['from_state', 'to_state'])
        .where('job_id', '=', status.transferId)
        .orderBy('seq')
        .execute();
      expect(events.map((e) => `${e.from_state}→${e.to_state}`).slice(-2)).toEqual([
        'receiving→delivering',
        'delivering→done',
      ]);
      const got = await l.receive(lanUrl);
      expect(got.payments).toHaveLength(1);
      expect(l.balance(lanUrl)).toBe(8);
      expect(await l.drainInbox(lanUrl)).toEqual([]);
    } finally {
      deposits.mockRestore();
      net.gwStore.transaction = transaction;
    }
  });
});

async function count(net: TestNet, table: 'gateway_jobs' | 'mint_signatures'): Promise<number> {
  const r = await net.gwStore.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe.each(DIALECTS)('gateway replays and refusals on %s', (dialect) => {
  let net: TestNet;

  beforeEach(async () => {
    net = await startNet(dialect);
  });
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  it('a replayed or re-sealed envelope is the same transfer; its id reused otherwise, or sealed to another key, is refused', async () => {
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 20);
    const info = await getGatewayInfo(wanUrl);
    const proofs = w.takeAll(bankUrl);
    const job = { proofs, destination: l.address, transferId: 'replay-1' };
    await gw.runner.stop(); // driven by hand below, so the replays meet the job where it was
    const env = await w.sealJob(info, 'wan-to-lan', job);
    const first = await w.postJob(wanUrl, 'wan-to-lan', env);
    expect(await w.postJob(wanUrl, 'wan-to-lan', env)).toEqual(first);
    expect(await w.postJob(wanUrl, 'wan-to-lan', await w.sealJob(info, 'wan-to-lan', job))).toEqual(first);
    expect((await finish(net, first.transferId)).state).toBe('done');
    // Replayed after it finished: still that transfer, and nothing happens again.
    expect(await w.postJob(wanUrl, 'wan-to-lan', env)).toMatchObject({
      transferId: 'replay-1',
      state: 'done',
    });
    await gw.runner.settle();

    const elsewhere = (await Terminal.create('lan')).address;
    const other = await w.sealJob(info, 'wan-to-lan', { ...job, destination: elsewhere });
    expect(await codeOf(w.postJob(wanUrl, 'wan-to-lan', other))).toBe(72001);
    const x = await Terminal.create('wan');
    expect(await codeOf(w.postJob(wanUrl, 'wan-to-lan', await x.sealJob(info, 'wan-to-lan', job)))).toBe(
      72001,
    );
    const stranger = await generateEncryptionKeyPair();
    const toStranger = await w.sealJob(
      { ...info, encryptionKey: bytesToHex(stranger.publicKey) },
      'wan-to-lan',
      {
        ...job,
        transferId: 'replay-2',
      },
    );
    expect(await codeOf(w.postJob(wanUrl, 'wan-to-lan', toStranger))).toBe(71003);
    // A job-2 envelope on the LAN listener's job-1 intake does not open as a job-1 request.
    expect(await codeOf(w.postJob(lanUrl, 'lan-to-wan', env))).toBe(71002);

    expect(await count(net, 'gateway_jobs')).toBe(1);
    const got = await l.receive(lanUrl);
    expect(got.payments).toHaveLength(1);
    expect(l.balance(lanUrl)).toBe(20);
    expect(await net.reserve()).toBe(20);
  });

  it('job 2 intake refuses forged, unproven, spent, foreign and local notes and a LAN-less destination, keeping nothing', async () => {
    const { bankUrl, lanUrl, wanUrl } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const send = (proofs: Proof[], destination = l.address) =>
      codeOf(w.sendJob(wanUrl, 'wan-to-lan', { proofs, destination }));
    const [a, b] = await w.mintWide(bankUrl, 3); // notes of 1 and 2
    w.takeAll(bankUrl);
    // Forged: another note's signature under this note's secret; its DLEQ cannot verify.
    expect(await send([{ ...a!, C: b!.C }])).toBe(70009);
    const { dleq: _, ...bare } = a!;
    expect(await send([bare])).toBe(70009);
    expect(await send([a!, a!])).toBe(11007);
    // Spent: swapped at the bank first.
    await w.swap(bankUrl, [a!, b!]);
    expect(await send([a!])).toBe(11001);
    // Another currency: notes of a USD bank are of a keyset this gateway's bank does not know.
    const usd = await foreignBank(dialect);
    try {
      const dollars = await w.mintWide(usd.url, 4, 'usd');
      expect(await send(dollars)).toBe(12001);
    } finally {
      await usd.close();
    }
    // Local notes on the WAN intake: the bank does not know the local keyset.
    await w.mintWide(bankUrl, 8);
    await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await net.gw.runner.settle();
    await l.receive(lanUrl);
    expect(await send(l.notes(lanUrl))).toBe(12001);
    // A WAN destination for job 2.
    const [c] = await w.mintWide(bankUrl, 1);
    expect(await send([c!], w.address)).toBe(71005);
    expect(await count(net, 'gateway_jobs')).toBe(1);
    expect(await net.localOutstanding()).toBe(8);
  });

  it('job 2 refused by the receiving server (notes spent after intake): nothing generated, the sender told', async () => {
    const { bankUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const proofs = await w.mintWide(bankUrl, 16);
    await gw.runner.stop();
    const { status } = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs,
      destination: l.address,
      replyTo: w.address,
    });
    await w.swap(bankUrl, proofs); // the sender spends them before the gateway hands them in
    const signed = await count(net, 'mint_signatures');
    const s = await finish(net, status.transferId);
    expect(s).toMatchObject({ state: 'refused', refusal: { code: 11001 } });
    expect(await count(net, 'mint_signatures')).toBe(signed);
    expect(await net.reserve()).toBe(0);
    const { notices } = await w.receive(bankUrl);
    expect(notices).toEqual([
      { transferId: status.transferId, status: expect.objectContaining({ state: 'refused' }) },
    ]);
    expect(notices[0]!.status.refusal?.code).toBe(11001);
    expect((await gw.jobs.job(status.transferId))?.notice).toBe('sent');
  });

  it('job 1 refused by the issue server (reserve short): the local notes are released, the sender told', async () => {
    const { bankUrl, lanUrl, wanUrl, gw, bank } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 30);
    const j2 = await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await finish(net, j2.status.transferId);
    await l.receive(lanUrl);
    // The operator pays the reserve out: it no longer covers the local money.
    await bank.ledger.withdraw(gw.keys.publicKeyHex, 30, 'payout-test');
    await gw.runner.stop();
    const proofs = l.takeAll(lanUrl);
    const { status } = await l.sendJob(lanUrl, 'lan-to-wan', {
      proofs,
      destination: w.address,
      replyTo: l.address,
    });
    const held = await stateOf(lanUrl, proofs);
    expect(held).toEqual(proofs.map(() => 'PENDING'));
    const s = await finish(net, status.transferId);
    expect(s).toMatchObject({ state: 'refused', refusal: { code: 73002 } });
    expect(await stateOf(lanUrl, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
    const { notices } = await l.receive(lanUrl);
    expect(notices.map((n) => n.status.refusal?.code)).toEqual([73002]);
    // The sender kept its money: the notes swap at the local mint.
    l.add(lanUrl, await l.swap(lanUrl, proofs));
    expect(l.balance(lanUrl)).toBe(30);
    expect(await w.drainInbox(bankUrl)).toEqual([]);
  });
});

describe.each(DIALECTS)('gateway retries on %s', (dialect) => {
  let net: TestNet | undefined;
  afterEach(async () => {
    if (net !== undefined) expect(await net.audit()).toEqual([]);
    await net?.close();
    net = undefined;
  });

  it('answers lost after the bank committed are retried with the same transfer id: one issue, one receipt', async () => {
    const lost = { issue: 2, receive: 2, deposit: 1 };
    const drop = (what: keyof typeof lost) => {
      if (lost[what] > 0) {
        lost[what] -= 1;
        throw new UnclearOutcome('network', `test ${what}`, 'answer dropped after the bank committed');
      }
    };
    net = await startNet(dialect, {
      bank: (real) =>
        wrapBank(real, {
          issue: async (...a) => {
            const r = await real.issue(...a);
            drop('issue');
            return r;
          },
          receive: async (...a) => {
            const r = await real.receive(...a);
            drop('receive');
            return r;
          },
          deposit: async (...a) => {
            drop('deposit');
            return real.deposit(...a);
          },
        }),
    });
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 12);
    const j2 = await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await gw.runner.settle();
    const waiting = await gw.jobs.job(j2.status.transferId);
    expect(waiting).toMatchObject({ state: 'receiving', attempts: 1 });
    expect(waiting?.lastError).toContain('answer dropped');
    expect((await finish(net, j2.status.transferId)).state).toBe('done');
    await l.receive(lanUrl);
    expect(l.balance(lanUrl)).toBe(12);

    const w2 = await Terminal.create('wan');
    const j1 = await l.sendJob(lanUrl, 'lan-to-wan', { proofs: l.takeAll(lanUrl), destination: w2.address });
    expect((await finish(net, j1.status.transferId)).state).toBe('done');
    await w2.receive(bankUrl);
    expect(w2.balance(bankUrl)).toBe(12);
    expect(lost).toEqual({ issue: 0, receive: 0, deposit: 0 });
    const requests = await net.bankStore.db.selectFrom('bank_requests').select(['key', 'kind']).execute();
    expect(requests.filter((r) => r.key.endsWith(j1.status.transferId)).map((r) => r.kind)).toEqual([
      'issue',
    ]);
    expect(requests.filter((r) => r.key.endsWith(j2.status.transferId)).map((r) => r.kind)).toEqual([
      'receive',
    ]);
    expect(await net.reserve()).toBe(0);
    expect(await net.localOutstanding()).toBe(0);
  });

  it('a bad issue answer (DLEQ) is not a refusal: the local notes stay pending until a good answer comes', async () => {
    let corrupt = true;
    net = await startNet(dialect, {
      bank: (real) =>
        wrapBank(real, {
          issue: async (...a) => {
            const r = await real.issue(...a);
            if (!corrupt) return r;
            const [first, ...rest] = r.signatures;
            return { signatures: [{ ...first!, dleq: { e: first!.dleq!.s, s: first!.dleq!.e } }, ...rest] };
          },
        }),
    });
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bankUrl, 3);
    const j2 = await w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: l.address });
    await finish(net, j2.status.transferId);
    await l.receive(lanUrl);
    const proofs = l.takeAll(lanUrl);
    const { status } = await l.sendJob(lanUrl, 'lan-to-wan', { proofs, destination: w.address });
    await gw.runner.settle();
    net.clock.advance(1000);
    await gw.runner.settle();
    const job = await gw.jobs.job(status.transferId);
    expect(job).toMatchObject({ state: 'issuing', attempts: 2 });
    expect(job?.lastError).toContain('DLEQ');
    expect(await stateOf(lanUrl, proofs)).toEqual(proofs.map(() => 'PENDING'));
    corrupt = false;
    expect((await finish(net, status.transferId)).state).toBe('done');
    expect(await stateOf(lanUrl, proofs)).toEqual(proofs.map(() => 'SPENT'));
    await w.receive(bankUrl);
    expect(w.balance(bankUrl)).toBe(3);
    expect(await net.reserve()).toBe(0);
  });

  it('a delivery is retried until the inbox takes it (a full mailbox)', async () => {
    net = await startNet(dialect, { gateway: { mailboxLimits: { maxMessages: 1, strangersPercent: 100 } } });
    const { bankUrl, lanUrl, wanUrl, gw } = net;
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    // Someone fills l's inbox first.
    const filler = await sealJson({
      type: 'lancash.note',
      transferId: 'filler',
      sender: w.pair,
      recipient: l.pair.publicKey,
      payload: {},
    });
    await deposit(lanUrl, l.address, filler);
    await w.mintWide(bankUrl, 5);
    const signed = await count(net, 'mint_signatures');
    const { status } = await w.sendJob(wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(bankUrl),
      destination: l.address,
    });
    await gw.runner.settle();
    const stuck = await gw.jobs.job(status.transferId);
    expect(stuck).toMatchObject({ state: 'delivering', attempts: 1 });
    expect(stuck?.lastError).toContain('holds 1 messages');
    // The deposit refused in the step's own transaction: the step committed without it, notes signed.
    expect(stuck?.journal.localProofs).toHaveLength(stuck?.journal.outputs.length ?? -1);
    expect(await count(net, 'mint_signatures')).toBe(signed + (stuck?.journal.outputs.length ?? 0));
    expect((await l.drainInbox(lanUrl)).map((m) => m.transferId)).toEqual(['filler']);
    expect((await finish(net, status.transferId)).state).toBe('done');
    await l.receive(lanUrl);
    expect(l.balance(lanUrl)).toBe(5);
  });
});

/** A second wide bank in another currency (USD), on its own database, listening on loopback. */
async function foreignBank(dialect: DialectName): Promise<{ url: string; close(): Promise<void> }> {
  const store = await freshStore(dialect);
  const wb = await createWideBank({
    store,
    currency: 'USD',
    crypto: inThreadCrypto(curve),
    logger: false,
    lightning: 'fake',
  });
  const url = await listen(wb.app, '127.0.0.1:0');
  return {
    url,
    close: async () => {
      await wb.app.close();
      await wb.close();
      await store.close();
    },
  };
}

describe.each(DIALECTS)('gateway under concurrent transfers on %s', (dialect) => {
  it('converts both ways at once: every transfer done once, the reserve equal to the local money', async () => {
    const net = await startNet(dialect, { gateway: { runner: { concurrency: 6, backoff: FLAT_BACKOFF } } });
    try {
      const { bankUrl, lanUrl, wanUrl, gw } = net;
      const n = 8;
      const ls = await Promise.all(Array.from({ length: n }, () => Terminal.create('lan')));
      const ws = await Promise.all(Array.from({ length: n }, () => Terminal.create('wan')));
      await Promise.all(ws.map((w) => w.mintWide(bankUrl, 20)));
      const funding = await Promise.all(
        ws.map((w, i) =>
          w.sendJob(wanUrl, 'wan-to-lan', { proofs: w.takeAll(bankUrl), destination: ls[i]!.address }),
        ),
      );
      for (const f of funding) expect((await finish(net, f.status.transferId)).state).toBe('done');
      await Promise.all(ls.map((l) => l.receive(lanUrl)));
      // Now both ways at once: each LAN terminal pays a WAN terminal, each WAN terminal a LAN one.
      await Promise.all(ws.map((w) => w.mintWide(bankUrl, 7)));
      const sent = await Promise.all([
        ...ls.map((l, i) =>
          l.sendJob(lanUrl, 'lan-to-wan', { proofs: l.takeAll(lanUrl), destination: ws[i]!.address }),
        ),
        ...ws.map((w, i) =>
          w.sendJob(wanUrl, 'wan-to-lan', {
            proofs: w.takeAll(bankUrl),
            destination: ls[(i + 1) % n]!.address,
          }),
        ),
      ]);
      for (const s of sent) expect((await finish(net, s.status.transferId)).state).toBe('done');
      await Promise.all([...ls.map((l) => l.receive(lanUrl)), ...ws.map((w) => w.receive(bankUrl))]);
      for (const l of ls) expect(l.balance(lanUrl)).toBe(7);
      for (const w of ws) expect(w.balance(bankUrl)).toBe(20);
      expect(await net.reserve()).toBe(7 * n);
      expect(await net.localOutstanding()).toBe(7 * n);
      expect(await gw.jobs.history(ls[0]!.key)).toHaveLength(3);
      expect(await net.audit()).toEqual([]);
    } finally {
      await net.close();
    }
  });
});
