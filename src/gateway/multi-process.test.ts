/**
 * Two `lancash gateway` processes on one PostgreSQL journal (docs/gateway.md, "Running several gateway
 * processes"), one wide bank: 200 conversions (100 each way) submitted half to each process, and one
 * process killed with SIGKILL in the middle, while it holds leases on jobs. Its jobs are taken over by
 * the other once their leases lapse; a terminal whose gateway died posts the same envelope to the
 * other. Every transfer ends `done` exactly once: one payment in each destination's inbox, of its
 * amount; one request per transfer at the bank (one log entry, one ledger transaction); every step
 * journaled once; both audits balance. And the mailboxes' live `arrived` events across processes: a
 * stream on one gateway (or wide-bank) process hears a deposit, and a conversion's payment, made
 * through another (`mailbox/follow.ts`). PostgreSQL only: a SQLite gateway is one process, and a
 * second one on the same file is refused at start (checked here too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex } from '../core/bytes.js';
import { type Envelope, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { isUnclear } from '../core/http/client.js';
import { decode } from '../core/protocol/cashu.js';
import type { Direction, TransferStatus } from '../core/protocol/gateway.js';
import { getGatewayInfo, PAYMENT } from '../core/protocol/gateway.js';
import { OPERATOR_EVENTS_PATH } from '../core/protocol/operator.js';
import { deposit, inboxEventsUrl, mailboxInfo } from '../mailbox/client.js';
import { ArrivedEvent } from '../mailbox/protocol.js';
import { DIALECTS } from '../test-support/dialects.js';
import {
  bankRequestsOf,
  eachPolitely,
  fundLocal,
  fundWide,
  journalStates,
  type ProcessNet,
  politely,
  postUntilAnswered,
  startProcessNet,
  unspentSenders,
} from '../test-support/gateway-process.js';
import { gatewayArgs, runLancash, type Started, startProcess } from '../test-support/process.js';
import { openEvents } from '../test-support/sse.js';
import { randomId, Terminal } from '../test-support/terminal.js';

const PER_DIRECTION = 100;
const AT_ONCE = 8;
/** The second process is killed once this many of the 200 transfers are done. */
const KILL_AFTER_DONE = 50;
const TOKEN = 'multi-process-operator-token';
const ENV = { LANCASH_LOG_LEVEL: 'warn', LANCASH_OPERATOR_TOKEN: TOKEN };

const amountOf = (i: number) => 1 + ((i * 37) % 61);

describe.skipIf(!DIALECTS.includes('postgres'))('two gateway processes on one PostgreSQL', () => {
  let net: ProcessNet;
  let second: Started;

  beforeAll(async () => {
    net = await startProcessNet({ dialect: 'postgres', env: ENV });
    // The second process names the first's LAN listener as the local mint (a load balancer's URL in a
    // deployment), so payments it makes stay redeemable after it is gone.
    second = await startProcess(
      [...gatewayArgs(net.gatewayBankUrl), ...net.gatewayDbArgs, '--lan-url', net.lan],
      { listeners: 2, env: ENV },
    );
  });
  afterAll(async () => {
    await second?.kill('SIGKILL');
    await net?.close();
  });

  it('200 conversions, one process SIGKILLed in the middle: all done, each exactly once', async () => {
    const [lan2, wan2] = second.urls as [string, string];
    const make = (network: 'lan' | 'wan') =>
      Promise.all(Array.from({ length: PER_DIRECTION }, () => Terminal.create(network)));
    const [wanSenders, lanReceivers, lanSenders, wanReceivers] = await Promise.all([
      make('wan'),
      make('lan'),
      make('lan'),
      make('wan'),
    ]);
    const shares = (ts: Terminal[]) => ts.map((terminal, i) => ({ terminal, amount: amountOf(i) }));
    const t0 = Date.now();
    await fundWide(net, shares(wanSenders));
    await fundLocal(net, await Terminal.create('wan'), await Terminal.create('lan'), shares(lanSenders));
    expect(await net.audit()).toEqual([]);

    // Both processes answer with the same key: one gateway, two machines.
    const [lanInfo, lanInfo2] = await Promise.all([getGatewayInfo(net.lan), getGatewayInfo(lan2)]);
    expect(lanInfo2.encryptionKey).toBe(lanInfo.encryptionKey);
    type Transfer = {
      direction: Direction;
      sender: Terminal;
      receiver: Terminal;
      amount: number;
      proofs: ReturnType<Terminal['takeAll']>;
      /** The listener it is posted to: every other transfer goes to the second process. */
      to: string;
      survivor: string;
    };
    const transfers: Transfer[] = [
      ...wanSenders.map((sender, i) => ({
        direction: 'wan-to-lan' as const,
        sender,
        receiver: lanReceivers[i]!,
        amount: amountOf(i),
        proofs: sender.takeAll(net.bankUrl),
        to: i % 2 === 0 ? net.wan : wan2,
        survivor: net.wan,
      })),
      ...lanSenders.map((sender, i) => ({
        direction: 'lan-to-wan' as const,
        sender,
        receiver: wanReceivers[i]!,
        amount: amountOf(i),
        proofs: sender.takeAll(net.lan),
        to: i % 2 === 0 ? lan2 : net.lan,
        survivor: net.lan,
      })),
    ];
    const envelopes = await Promise.all(
      transfers.map((t) =>
        t.sender.sealJob(lanInfo, t.direction, {
          proofs: t.proofs,
          destination: t.receiver.address,
          replyTo: t.sender.address,
        }),
      ),
    );
    const doneBefore = await countDone(net);
    // The console of the first process, live: it must show the jobs the second one finished too.
    const live = await openEvents(`${net.lan}${OPERATOR_EVENTS_PATH}`, { authorization: `Bearer ${TOKEN}` });
    expect(live.status).toBe(200);
    const seenDone = new Set<string>();
    const following = (async () => {
      for (let e = await live.next(); e !== undefined; e = await live.next()) {
        const data = e.data as { transferId?: string; state?: string };
        if (e.type === 'job' && data.state === 'done' && data.transferId !== undefined) {
          seenDone.add(data.transferId);
        }
      }
    })();
    const t1 = Date.now();

    // A terminal posts to its gateway; when that one does not answer (it was killed), to the other.
    const post = async (t: Transfer, envelope: Envelope): Promise<TransferStatus> => {
      try {
        return await politely(() => t.sender.postJob(t.to, t.direction, envelope));
      } catch (e) {
        if (!isUnclear(e)) throw e;
        return postUntilAnswered(t.sender, t.survivor, t.direction, envelope);
      }
    };
    const intakes = Promise.all(transfers.map((t, i) => post(t, envelopes[i]!)));

    // In the middle: some transfers done, the second process holding leases on others.
    let held = 0;
    for (;;) {
      held = await leasesOf(net, second.proc.pid!);
      if ((await countDone(net)) - doneBefore >= KILL_AFTER_DONE && held > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await second.kill('SIGKILL');
    const killedAt = Date.now();

    // Its jobs wait for their leases to lapse, then the first process claims them.
    while ((await leasesOf(net, second.proc.pid!)) > 0)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const takenOverMs = Date.now() - killedAt;

    const ids = (await intakes).map((s) => s.transferId);
    expect(new Set(ids).size).toBe(transfers.length);
    const states = await journalStates(net.gwStore, ids);
    const tookMs = Date.now() - killedAt;
    console.log(
      `multi-process: funded in ${t1 - t0} ms; the killed process held ${held} lease(s), all taken over ${takenOverMs} ms after the kill; all ${ids.length} transfers ended ${tookMs} ms after the kill, ${Date.now() - t1} ms after the first post`,
    );
    expect([...new Set(states.values())]).toEqual(['done']);
    // Every transfer's end reaches the first process's console, whichever process finished it.
    while (!ids.every((id) => seenDone.has(id))) await new Promise((resolve) => setTimeout(resolve, 100));
    live.close();
    await following.catch(() => {});

    // Every step journaled once: each job entered `delivering` once and `done` once.
    const events = await net.gwStore.db
      .selectFrom('gateway_job_events')
      .select(['job_id', 'to_state'])
      .where('job_id', 'in', ids)
      .execute();
    const moves = new Map<string, string[]>();
    for (const e of events) moves.set(e.job_id, [...(moves.get(e.job_id) ?? []), e.to_state]);
    expect(
      ids.filter((id, i) => {
        const want =
          transfers[i]!.direction === 'wan-to-lan' ? 'delivering,done,receiving' : 'delivering,done,issuing';
        return (moves.get(id) ?? []).sort().join() !== want;
      }),
    ).toEqual([]);

    // Each destination: exactly one payment message, of its amount, from its transfer.
    const got = await eachPolitely(transfers, AT_ONCE, async (t) => {
      const messages = await t.receiver.drainInbox(t.direction === 'wan-to-lan' ? net.lan : net.bankUrl);
      const payments = messages.filter((m) => m.type === PAYMENT);
      for (const m of payments) await t.receiver.accept(m);
      const mint = t.direction === 'wan-to-lan' ? net.lan : net.gatewayBankUrl;
      return { transfers: payments.map((m) => m.transferId), balance: t.receiver.balance(mint) };
    });
    expect(got).toEqual(transfers.map((t, i) => ({ transfers: [ids[i]], balance: t.amount })));

    // Every sender's notes are spent where they were issued.
    expect(await unspentSenders(net, transfers)).toEqual([]);

    // The bank: one request per transfer, of its kind, one entry in the request log, one transaction.
    const requests = await bankRequestsOf(net);
    expect(ids.map((id) => requests.kinds.get(id))).toEqual(
      transfers.map((t) => [t.direction === 'wan-to-lan' ? 'receive' : 'issue']),
    );
    const log = await net.bankStore.db.selectFrom('bank_request_log').select(['kind', 'ref']).execute();
    const logged = new Map<string, number>();
    for (const e of log) logged.set(e.ref, (logged.get(e.ref) ?? 0) + 1);
    expect(ids.map((id) => logged.get(id))).toEqual(ids.map(() => 1));
    const keys = requests.keys.filter((k) => ids.includes(k.slice(k.lastIndexOf(':') + 1)));
    const entries = await net.bankStore.db
      .selectFrom('bank_entries')
      .select(['ref', 'tx_id'])
      .where('ref', 'in', keys)
      .execute();
    const txs = new Map<string, Set<string>>();
    for (const e of entries) txs.set(e.ref, (txs.get(e.ref) ?? new Set()).add(String(e.tx_id)));
    expect(keys.filter((k) => txs.get(k)?.size !== 1)).toEqual([]);

    expect(await net.audit()).toEqual([]);
    console.log(`multi-process: checked in ${Date.now() - t1} ms after the first post`);
  }, 300_000);
});

describe.skipIf(!DIALECTS.includes('postgres'))(
  "the mailboxes' live events across processes on one PostgreSQL",
  () => {
    let net: ProcessNet;
    let second: Started;
    let secondBank: Started;

    beforeAll(async () => {
      net = await startProcessNet({ dialect: 'postgres', env: ENV });
      second = await startProcess(
        [...gatewayArgs(net.gatewayBankUrl), ...net.gatewayDbArgs, '--lan-url', net.lan],
        { listeners: 2, env: ENV },
      );
      secondBank = await startProcess(
        ['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', ...net.bankDbArgs],
        {
          env: ENV,
        },
      );
    });
    afterAll(async () => {
      await second?.kill();
      await secondBank?.kill();
      await net?.close();
    });

    /** A letter sealed to `to` by a stranger, as anyone may deposit one. */
    const letterFor = async (to: Terminal) =>
      sealJson({
        type: 'test.letter',
        transferId: randomId(),
        sender: await generateEncryptionKeyPair(),
        recipient: to.pair.publicKey,
        payload: {},
      });

    /** The owner's inbox stream at `base`; opened, it has told what waited (nothing: a fresh inbox). */
    const streamAt = async (base: string, owner: Terminal) => {
      const serverKey = hex((await mailboxInfo(base)).key, 'key', 32);
      const stream = await openEvents(
        await inboxEventsUrl(base, { owner: owner.pair, address: owner.address, serverKey }),
      );
      expect(stream.status).toBe(200);
      return stream;
    };

    it('a stream on one gateway process hears a deposit and a payment made through the other', async () => {
      const [lan2] = second.urls as [string, string];
      const l = await Terminal.create('lan');
      const stream = await streamAt(lan2, l);
      // A stranger's deposit through the first process: the second tells it (its follower's next look).
      const letter = await letterFor(l);
      expect(await deposit(net.lan, l.address, letter)).toEqual({ duplicate: false });
      const told = await stream.next();
      expect(told?.type).toBe('arrived');
      expect(decode(ArrivedEvent, told?.data).envelope).toEqual(letter);
      // A conversion taken by the first process: its payment into the LAN mailbox, told on the second.
      const w = await Terminal.create('wan');
      await w.mintWide(net.bankUrl, 7);
      const { status } = await w.sendJob(net.wan, 'wan-to-lan', {
        proofs: w.takeAll(net.bankUrl),
        destination: l.address,
      });
      const paid = await stream.next();
      expect(paid?.type).toBe('arrived');
      expect(decode(ArrivedEvent, paid?.data).envelope).toMatchObject({
        type: PAYMENT,
        transferId: status.transferId,
      });
      // Each told once: the drain answers exactly these two, the same ids.
      const drained = await l.drainInbox(lan2);
      expect(drained.map((m) => m.transferId)).toEqual([letter.transferId, status.transferId]);
      stream.close();
      expect(await net.audit()).toEqual([]);
    }, 120_000);

    it('a stream on one wide-bank process hears a deposit made through the other', async () => {
      const owner = await Terminal.create('wan');
      const stream = await streamAt(secondBank.url, owner);
      const letter = await letterFor(owner);
      expect(await deposit(net.bankUrl, owner.address, letter)).toEqual({ duplicate: false });
      const told = await stream.next();
      expect(decode(ArrivedEvent, told?.data).envelope).toEqual(letter);
      stream.close();
    }, 120_000);
  },
);

describe('one gateway process per SQLite database', () => {
  let net: ProcessNet;

  beforeAll(async () => {
    net = await startProcessNet({ env: ENV });
  });
  afterAll(async () => {
    await net?.close();
  });

  it('a second process on the same file is refused at start (74016, exit 1); after a SIGKILL a new one starts', async () => {
    const args = [...gatewayArgs(net.gatewayBankUrl), ...net.gatewayDbArgs];
    const refused = await runLancash(args, { env: ENV, timeoutMs: 60_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refusing to start (74016)');
    expect(refused.stderr).toContain('another gateway process is running on');
    const wire = JSON.parse(refused.stderr.trim().split('\n').at(-1)!) as { error: { code: number } };
    expect(wire.error.code).toBe(74016);
    // The first one still serves.
    expect((await getGatewayInfo(net.lan)).encryptionKey).toBe(net.gatewayKey);

    // The lock dies with its process, however it dies: a restart after a crash is never refused.
    await net.gateway.kill('SIGKILL');
    const again = await startProcess(args, { listeners: 2, env: ENV });
    expect((await getGatewayInfo(again.urls[0]!)).encryptionKey).toBe(net.gatewayKey);
    await again.kill();
  }, 120_000);
});

/** Transfers done in the journal. */
async function countDone(net: ProcessNet): Promise<number> {
  const row = await net.gwStore.db
    .selectFrom('gateway_jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'done')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Active jobs whose lease the process `pid` holds now (`lease_owner` is `host/pid/random`). */
async function leasesOf(net: ProcessNet, pid: number): Promise<number> {
  const row = await net.gwStore.db
    .selectFrom('gateway_jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('active', '=', 1)
    .where('lease_owner', 'like', `%/${pid}/%`)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
