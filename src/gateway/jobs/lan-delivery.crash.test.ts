/**
 * Job 2's payment into the gateway's own LAN mailbox commits in the receive step's transaction, with
 * the local notes and the move to `done` (`steps.ts` `commitLocal`). Killed (SIGKILL, as a power cut)
 * before that transaction, inside it after the deposit's statements (`after-deliver`), and after its
 * commit, on every dialect of the gateway's database: restarted, the job is done once, the LAN inbox
 * holds the payment exactly once and it is worth the amount, the wide notes are spent, and both
 * audits balance (invariants 1 and 2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUnclear } from '../../core/http/client.js';
import { openStore, parseStoreUrl, type Store } from '../../store/index.js';
import { died, hostPort } from '../../test-support/crash.js';
import { DIALECTS, freshDatabaseUrl } from '../../test-support/dialects.js';
import { stateOf } from '../../test-support/notes.js';
import { type Started, startProcess, wideBankArgs } from '../../test-support/process.js';
import { postWanToLan, waitForTransfer } from '../../test-support/terminal.js';
import { auditWideBank } from '../../wide-bank/audit.js';
import { auditGateway } from '../audit.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-lan-delivery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Before the transaction, inside it (after the deposit), after its commit. */
const POINTS = [
  'gateway:job2:after-receive',
  'gateway:job2:after-deliver',
  'gateway:job2:after-generate',
  'gateway:job2:after-done',
];

describe.each(DIALECTS)('job 2 delivered in its step, crash on %s', (dialect) => {
  let bank: Started;
  let bankStore: Store;
  const procs: Started[] = [];
  const stores: Store[] = [];

  beforeAll(async () => {
    const data = join(dir, `bank-${dialect}`);
    bank = await startProcess(wideBankArgs(data));
    bankStore = await openStore({ dialect: 'sqlite', file: join(data, 'wide-bank.db') });
  });
  afterAll(async () => {
    await bank.kill();
    await bankStore.close();
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill()));
    for (const s of stores.splice(0)) await s.close();
  });

  it.each(POINTS)('crash at %s: done once, the payment in the LAN inbox once', async (point) => {
    const db =
      dialect === 'sqlite'
        ? { args: ['--data', join(dir, `${dialect}-${point.replaceAll(':', '_')}`)] }
        : { args: ['--db', await freshDatabaseUrl(dialect)] };
    const gateway = async (o: { fault?: string; lan?: string; wan?: string }) => {
      const p = await startProcess(
        [
          'gateway',
          ...['--lan', o.lan ?? '127.0.0.1:0', '--wan', o.wan ?? '127.0.0.1:0'],
          ...['--wide-bank', bank.url, ...db.args, '--retry-cap-ms', '300'],
        ],
        { listeners: 2, ...(o.fault ? { env: { LANCASH_FAULT: o.fault } } : {}) },
      );
      procs.push(p);
      return p;
    };
    const g1 = await gateway({ fault: point });
    const [lan, wan] = g1.urls as [string, string];
    const { w, l, proofs, env, answer } = await postWanToLan(bank.url, wan, 25);
    expect(isUnclear(answer)).toBe(false);
    await died(g1, point);

    await gateway({ lan: hostPort(lan), wan: hostPort(wan) });
    expect(await waitForTransfer(wan, env.transferId)).toMatchObject({ state: 'done', amount: 25 });
    const messages = await l.drainInbox(lan);
    expect(messages.map((m) => [m.type, m.transferId])).toEqual([['lancash.payment', env.transferId]]);
    await l.accept(messages[0]!);
    expect(l.balance(lan)).toBe(25);
    expect(await l.drainInbox(lan)).toEqual([]);
    expect(await stateOf(bank.url, proofs)).toEqual(proofs.map(() => 'SPENT'));
    expect(await w.drainInbox(bank.url)).toEqual([]);

    const gwStore = await openStore(
      dialect === 'sqlite' ? { dialect, file: join(db.args[1]!, 'gateway.db') } : parseStoreUrl(db.args[1]!),
    );
    stores.push(gwStore);
    expect((await auditWideBank(bankStore)).differences).toEqual([]);
    expect((await auditGateway({ gatewayStore: gwStore, wideBankStore: bankStore })).differences).toEqual([]);
  });
});
