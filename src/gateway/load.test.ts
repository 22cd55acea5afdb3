/**
 * 200 concurrent transfers in both directions at once against the real `lancash wide-bank` and
 * `lancash gateway` processes: 100 WAN → LAN and 100 LAN → WAN, every intake posted at the same time.
 * Every transfer ends `done`; every destination gets exactly its amount in one payment; every
 * sender's notes are spent; the bank holds exactly one issue or receipt per transfer; invariants 1
 * and 2 balance afterwards. Terminals are funded in bulk beforehand (test-support/gateway-process.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Direction } from '../core/protocol/gateway.js';
import { getGatewayInfo, getTransfer } from '../core/protocol/gateway.js';
import { DIALECTS } from '../test-support/dialects.js';
import {
  bankRequestsOf,
  eachPolitely,
  fundLocal,
  fundWide,
  journalStates,
  type ProcessNet,
  postUntilAnswered,
  startProcessNet,
  unspentSenders,
} from '../test-support/gateway-process.js';
import { Terminal } from '../test-support/terminal.js';

const PER_DIRECTION = 100;
/** Bulk checks at once: well inside the servers' per-address rate limit. */
const AT_ONCE = 8;

/** Amounts 1..61, varied so a payment credited to the wrong terminal shows. */
const amountOf = (i: number) => 1 + ((i * 37) % 61);

describe.each(DIALECTS)('gateway under load on %s', (dialect) => {
  let net: ProcessNet;

  beforeAll(async () => {
    net = await startProcessNet({ dialect, env: { LANCASH_LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await net?.close();
  });

  it(`${PER_DIRECTION} WAN → LAN and ${PER_DIRECTION} LAN → WAN at once: all done, each paid once`, async () => {
    const make = (network: 'lan' | 'wan') =>
      Promise.all(Array.from({ length: PER_DIRECTION }, () => Terminal.create(network)));
    const [wanSenders, lanReceivers, lanSenders, wanReceivers] = await Promise.all([
      make('wan'),
      make('lan'),
      make('lan'),
      make('wan'),
    ]);
    const shares = (ts: Terminal[]) => ts.map((terminal, i) => ({ terminal, amount: amountOf(i) }));
    await fundWide(net, shares(wanSenders));
    await fundLocal(net, await Terminal.create('wan'), await Terminal.create('lan'), shares(lanSenders));
    expect(await net.audit()).toEqual([]);

    // Every request sealed first, so the 200 intakes really arrive together.
    const [lanInfo, wanInfo] = await Promise.all([getGatewayInfo(net.lan), getGatewayInfo(net.wan)]);
    type Transfer = {
      direction: Direction;
      sender: Terminal;
      receiver: Terminal;
      amount: number;
      proofs: ReturnType<Terminal['takeAll']>;
    };
    const transfers: Transfer[] = [
      ...wanSenders.map((sender, i) => ({
        direction: 'wan-to-lan' as const,
        sender,
        receiver: lanReceivers[i]!,
        amount: amountOf(i),
        proofs: sender.takeAll(net.bankUrl),
      })),
      ...lanSenders.map((sender, i) => ({
        direction: 'lan-to-wan' as const,
        sender,
        receiver: wanReceivers[i]!,
        amount: amountOf(i),
        proofs: sender.takeAll(net.lan),
      })),
    ];
    const envelopes = await Promise.all(
      transfers.map((t) =>
        t.sender.sealJob(t.direction === 'wan-to-lan' ? wanInfo : lanInfo, t.direction, {
          proofs: t.proofs,
          destination: t.receiver.address,
          replyTo: t.sender.address,
        }),
      ),
    );
    const intakes = await Promise.all(
      transfers.map((t, i) =>
        postUntilAnswered(
          t.sender,
          t.direction === 'wan-to-lan' ? net.wan : net.lan,
          t.direction,
          envelopes[i]!,
        ),
      ),
    );
    expect(intakes.map((s) => s.amount)).toEqual(transfers.map((t) => t.amount));
    const ids = intakes.map((s) => s.transferId);

    const states = await journalStates(net.gwStore, ids);
    expect([...new Set(states.values())]).toEqual(['done']);
    const statuses = await eachPolitely(transfers, AT_ONCE, (t) =>
      getTransfer(t.direction === 'wan-to-lan' ? net.wan : net.lan, ids[transfers.indexOf(t)]!),
    );
    expect(statuses.map((s) => s.state)).toEqual(transfers.map(() => 'done'));

    // Each destination: one payment, of its amount, from its transfer.
    const got = await eachPolitely(transfers, AT_ONCE, async (t) => {
      const inbox = t.direction === 'wan-to-lan' ? net.lan : net.bankUrl;
      const { payments } = await t.receiver.receive(inbox);
      const mint = t.direction === 'wan-to-lan' ? net.lan : net.gatewayBankUrl;
      return { transfers: payments.map((p) => p.transferId), balance: t.receiver.balance(mint) };
    });
    expect(got).toEqual(transfers.map((t, i) => ({ transfers: [ids[i]], balance: t.amount })));

    // Every sender's notes are spent where they were issued.
    expect(await unspentSenders(net, transfers)).toEqual([]);

    // One issue (job 1) or one receipt (job 2) per transfer at the bank, and no other request.
    const requests = await bankRequestsOf(net);
    expect(ids.map((id) => requests.kinds.get(id))).toEqual(
      transfers.map((t) => [t.direction === 'wan-to-lan' ? 'receive' : 'issue']),
    );
    // The funding job 2s are the only other requests of the gateway.
    expect(requests.keys.length - ids.length).toBeLessThanOrEqual(1);
    expect(await net.audit()).toEqual([]);
  });
});
