/**
 * Crash at every step (docs/design.md §6, invariant 4), with the real `lancash wide-bank` and `lancash gateway`
 * processes: for each fault point of docs/gateway.md the gateway is started with `LANCASH_FAULT=<point>`,
 * one transfer runs until the process kills itself there, the gateway is restarted without the fault
 * (on the same ports), and the transfer must reach exactly one terminal state with the money delivered
 * exactly once, or kept by the sender, the sender's envelope still naming the same transfer; the wide
 * bank's audit balances and the reserve equals the local money. Then the wide bank itself is killed
 * (SIGKILL after committing an issue / a receive) and restarted: the job completes, once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUnclear } from '../core/http/client.js';
import { getGatewayInfo, getTransfer } from '../core/protocol/gateway.js';
import { totals } from '../mint/repository.js';
import { openStore, type Store } from '../store/index.js';
import { crashGroup, died, hostPort, noticeSent } from '../test-support/crash.js';
import { stateOf } from '../test-support/notes.js';
import { type Started, startProcess, wideBankArgs } from '../test-support/process.js';
import { postWanToLan, Terminal, waitForTransfer } from '../test-support/terminal.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { FAULT_POINTS } from './jobs/model.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-gw-crash-'));
const group = crashGroup();
const { startBank, startGateway, openAt } = group;

afterEach(() => group.close());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Local notes for `l` through a WAN → LAN transfer on a running gateway. */
async function fund(bankUrl: string, l: Terminal, lan: string, wan: string, amount: number): Promise<void> {
  const w = await Terminal.create('wan');
  await w.mintWide(bankUrl, amount);
  const { status } = await w.sendJob(wan, 'wan-to-lan', {
    proofs: w.takeAll(bankUrl),
    destination: l.address,
  });
  expect((await waitForTransfer(wan, status.transferId)).state).toBe('done');
  await l.receive(lan);
  expect(l.balance(lan)).toBe(amount);
}

/** Every job finished; invariant 1 at the bank; reserve = local outstanding − withdrawn (invariant 2 at rest). */
async function balances(bankStore: Store, gw: Store, lan: string, withdrawn = 0): Promise<void> {
  expect((await auditWideBank(bankStore)).differences).toEqual([]);
  const jobs = await gw.db.selectFrom('gateway_jobs').select('state').execute();
  expect(jobs.filter((j) => j.state !== 'done' && j.state !== 'refused')).toEqual([]);
  const local = await totals(gw.db);
  const gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
  expect(await new Ledger(bankStore).balance(gatewayKey)).toBe(local.signed - local.spent - withdrawn);
}

describe('gateway crash at every step', () => {
  const bankData = join(dir, 'bank');
  let bank: Started;
  let bankStore: Store;

  beforeAll(async () => {
    bank = await startProcess(wideBankArgs(bankData));
    bankStore = await openStore({ dialect: 'sqlite', file: join(bankData, 'wide-bank.db') });
  });
  afterAll(async () => {
    await bank.kill();
    await bankStore.close();
  });

  /** Invariant 1 at the bank; invariant 2 at rest: reserve = local outstanding − what the operator withdrew. */
  async function balanced(gwData: string, lan: string, withdrawn = 0): Promise<void> {
    await balances(bankStore, await openAt(join(gwData, 'gateway.db')), lan, withdrawn);
  }

  const job1 = FAULT_POINTS.job1.filter((p) => !/refuse|notice/.test(p));
  const job1Refused = FAULT_POINTS.job1.filter((p) => /refuse|notice/.test(p));
  const job2 = FAULT_POINTS.job2.filter((p) => !/refuse|notice/.test(p));
  const job2Refused = FAULT_POINTS.job2.filter((p) => /refuse|notice/.test(p));

  it.each(job1)('LAN → WAN, crash at %s: done once, the local notes spent', async (point) => {
    const data = join(dir, point.replaceAll(':', '_'));
    const g1 = await startGateway(data, bank.url, { fault: point });
    const [lan, wan] = g1.urls as [string, string];
    const l = await Terminal.create('lan');
    await fund(bank.url, l, lan, wan, 40);
    const w2 = await Terminal.create('wan');
    const proofs = l.takeAll(lan);
    const env = await l.sealJob(await getGatewayInfo(lan), 'lan-to-wan', {
      proofs,
      destination: w2.address,
      replyTo: l.address,
    });
    const answer = await l.postJob(lan, 'lan-to-wan', env).catch((e: unknown) => e);
    if (point.endsWith('after-intake')) expect(isUnclear(answer)).toBe(true);
    await died(g1, point);

    await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
    // The sender may send its envelope again: it names the same transfer.
    expect((await l.postJob(lan, 'lan-to-wan', env)).transferId).toBe(env.transferId);
    expect(await waitForTransfer(lan, env.transferId)).toMatchObject({ state: 'done', amount: 40 });
    const messages = await w2.drainInbox(bank.url);
    expect(messages.map((m) => m.type)).toEqual(['lancash.payment']);
    await w2.accept(messages[0]!);
    expect(w2.balance(bank.url)).toBe(40);
    expect(await stateOf(lan, proofs)).toEqual(proofs.map(() => 'SPENT'));
    expect(await l.drainInbox(lan)).toEqual([]);
    await balanced(data, lan);
  });

  it.each(job1Refused)(
    'LAN → WAN refused, crash at %s: the sender keeps its notes and is told once',
    async (point) => {
      const data = join(dir, point.replaceAll(':', '_'));
      const g1 = await startGateway(data, bank.url, { fault: point });
      const [lan, wan] = g1.urls as [string, string];
      const l = await Terminal.create('lan');
      await fund(bank.url, l, lan, wan, 40);
      // The operator pays the reserve out, so the issue server refuses the conversion.
      const gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
      await new Ledger(bankStore).withdraw(gatewayKey, 40, `payout-${point}`);
      const w2 = await Terminal.create('wan');
      const proofs = l.takeAll(lan);
      const { status } = await l.sendJob(lan, 'lan-to-wan', {
        proofs,
        destination: w2.address,
        replyTo: l.address,
      });
      await died(g1, point);

      await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
      expect(await waitForTransfer(lan, status.transferId)).toMatchObject({
        state: 'refused',
        refusal: { code: 73002 },
      });
      await noticeSent(await openAt(join(data, 'gateway.db')), status.transferId);
      const messages = await l.drainInbox(lan);
      expect(messages.map((m) => [m.type, m.transferId])).toEqual([['gateway.notice', status.transferId]]);
      expect(await stateOf(lan, proofs)).toEqual(proofs.map(() => 'UNSPENT'));
      l.add(lan, await l.swap(lan, proofs));
      expect(l.balance(lan)).toBe(40);
      expect(await w2.drainInbox(bank.url)).toEqual([]);
      await balanced(data, lan, 40);
    },
  );

  it.each(job2)('WAN → LAN, crash at %s: done once, the wide notes spent', async (point) => {
    const data = join(dir, point.replaceAll(':', '_'));
    const g1 = await startGateway(data, bank.url, { fault: point });
    const [lan, wan] = g1.urls as [string, string];
    const { w, l, proofs, env, answer } = await postWanToLan(bank.url, wan, 25);
    if (point.endsWith('after-intake')) expect(isUnclear(answer)).toBe(true);
    await died(g1, point);

    await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
    expect((await w.postJob(wan, 'wan-to-lan', env)).transferId).toBe(env.transferId);
    expect(await waitForTransfer(wan, env.transferId)).toMatchObject({ state: 'done', amount: 25 });
    const messages = await l.drainInbox(lan);
    expect(messages.map((m) => m.type)).toEqual(['lancash.payment']);
    await l.accept(messages[0]!);
    expect(l.balance(lan)).toBe(25);
    expect(await stateOf(bank.url, proofs)).toEqual(proofs.map(() => 'SPENT'));
    expect(await w.drainInbox(bank.url)).toEqual([]);
    await balanced(data, lan);
  });

  it.each(job2Refused)(
    'WAN → LAN refused, crash at %s: nothing generated, the sender told once',
    async (point) => {
      const data = join(dir, point.replaceAll(':', '_'));
      const intake = 'gateway:job2:after-intake';
      const g1 = await startGateway(data, bank.url, { fault: intake });
      const [lan, wan] = g1.urls as [string, string];
      const { w, l, proofs, env, answer } = await postWanToLan(bank.url, wan, 16);
      expect(isUnclear(answer)).toBe(true);
      await died(g1, intake);
      // While the gateway is down, the sender spends the notes: the receiving server will refuse them.
      await w.swap(bank.url, proofs);
      const g2 = await startGateway(data, bank.url, { fault: point, lan: hostPort(lan), wan: hostPort(wan) });
      await died(g2, point);

      await startGateway(data, bank.url, { lan: hostPort(lan), wan: hostPort(wan) });
      expect(await waitForTransfer(wan, env.transferId)).toMatchObject({
        state: 'refused',
        refusal: { code: 11001 },
      });
      await noticeSent(await openAt(join(data, 'gateway.db')), env.transferId);
      const messages = await w.drainInbox(bank.url);
      expect(messages.map((m) => [m.type, m.transferId])).toEqual([['gateway.notice', env.transferId]]);
      expect(await l.drainInbox(lan)).toEqual([]);
      expect(await getTransfer(wan, env.transferId)).toMatchObject({ amount: 16 });
      await balanced(data, lan);
      const gw = await openAt(join(data, 'gateway.db'));
      expect((await totals(gw.db)).signed).toBe(0);
    },
  );
});

describe('wide bank killed mid-request', () => {
  it.each([
    ['wide-bank:issue:after-commit', 'lan-to-wan'],
    ['wide-bank:receive:after-commit', 'wan-to-lan'],
  ] as const)(
    '%s: the job stays unclear, then completes once after the bank restarts',
    async (point, direction) => {
      const bankData = join(dir, point.replaceAll(':', '_'));
      const gwData = join(dir, `gw-${point.replaceAll(':', '_')}`);
      const bank1 = await startBank(bankData, { fault: point });
      const bankStore = await openAt(join(bankData, 'wide-bank.db'));
      const g = await startGateway(gwData, bank1.url);
      const [lan, wan] = g.urls as [string, string];
      const w = await Terminal.create('wan');
      const l = await Terminal.create('lan');
      const w2 = await Terminal.create('wan');
      let id: string;
      if (direction === 'lan-to-wan') {
        await fund(bank1.url, l, lan, wan, 20);
        id = (await l.sendJob(lan, 'lan-to-wan', { proofs: l.takeAll(lan), destination: w2.address })).status
          .transferId;
      } else {
        await w.mintWide(bank1.url, 20);
        id = (await w.sendJob(wan, 'wan-to-lan', { proofs: w.takeAll(bank1.url), destination: l.address }))
          .status.transferId;
      }
      await died(bank1, point);
      // The bank committed, the gateway saw no answer: it keeps the job and retries, never refunds.
      const meanwhile = await getTransfer(lan, id);
      expect(meanwhile.state).toBe(direction === 'lan-to-wan' ? 'issuing' : 'receiving');

      await startBank(bankData, { listen: hostPort(bank1.url) });
      expect(await waitForTransfer(lan, id)).toMatchObject({ state: 'done', amount: 20 });
      if (direction === 'lan-to-wan') {
        await w2.receive(bank1.url);
        expect(w2.balance(bank1.url)).toBe(20);
      } else {
        await l.receive(lan);
        expect(l.balance(lan)).toBe(20);
      }
      const kind = direction === 'lan-to-wan' ? 'issue' : 'receive';
      const rows = await bankStore.db
        .selectFrom('bank_requests')
        .select('key')
        .where('kind', '=', kind)
        .execute();
      expect(rows.filter((r) => r.key.endsWith(`:${id}`))).toHaveLength(1);
      await balances(bankStore, await openAt(join(gwData, 'gateway.db')), lan);
    },
  );
});
