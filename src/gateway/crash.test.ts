/**
 * Crash at every step (docs/design.md §6, invariant 4), with the real `lancash wide-bank` and `lancash gateway`
 * processes, fee-free keysets on a SQLite gateway (the suite is `test-support/gateway-crash.ts`;
 * `fees.crash.test.ts` runs it with input fees on both mints and on every dialect). Then the wide bank
 * itself is killed (SIGKILL after committing an issue / a receive) and restarted: the job completes, once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getTransfer } from '../core/protocol/gateway.js';
import { crashGroup, died, hostPort } from '../test-support/crash.js';
import { balances, describeCrashAtEveryStep, fund } from '../test-support/gateway-crash.js';
import { Terminal, waitForTransfer } from '../test-support/terminal.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-gw-crash-'));
const group = crashGroup();
const { startBank, startGateway, openAt } = group;

afterEach(() => group.close());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeCrashAtEveryStep('gateway crash at every step', { dialect: 'sqlite' });

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
