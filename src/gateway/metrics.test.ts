/**
 * The gateway's `/metrics` while its journal cannot be read (round ten: it once answered 500
 * `Internal` under load on PostgreSQL, and a scraper then loses every series of the target). The
 * gauges read from the journal (`lancash_gateway_jobs`, `lancash_gateway_jobs_parked`) are left out
 * and named in `lancash_metrics_stale`; everything else is answered 200 as usual, and the gauges come
 * back with the journal. The journal made unreadable for real: its table renamed away (both
 * dialects; the driver's own error, one no outage code names), and on PostgreSQL its table locked by
 * another session, so the read waits past the scrape's deadline (as behind an exhausted pool).
 */
import { sql } from 'kysely';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { DIALECTS } from '../test-support/dialects.js';
import { finish, startNet, type TestNet } from '../test-support/gateway-net.js';
import { holdInTransaction } from '../test-support/held.js';
import { Terminal } from '../test-support/terminal.js';

const JOURNAL_GAUGES = ['lancash_gateway_jobs', 'lancash_gateway_jobs_parked'];

async function scrape(net: TestNet): Promise<{ status: number; text: string }> {
  const res = await request(`${net.lanUrl}/metrics`);
  return { status: res.statusCode, text: await res.body.text() };
}

/** The journal gauges in `text` (their TYPE line: an empty journal has no `state` samples), and those named stale. */
function journalGauges(text: string): { present: string[]; stale: string[] } {
  const present = JOURNAL_GAUGES.filter((g) => new RegExp(`^# TYPE ${g} gauge$`, 'm').test(text));
  const stale = JOURNAL_GAUGES.filter((g) =>
    new RegExp(`^lancash_metrics_stale\\{metric="${g}"[^}]*\\} 1$`, 'm').test(text),
  );
  return { present, stale };
}

describe.each(DIALECTS)('the gateway’s /metrics while its journal cannot be read, on %s', (dialect) => {
  let net: TestNet;
  beforeEach(async () => {
    net = await startNet(dialect);
  });
  afterEach(async () => {
    await net.close();
  });

  it('counts the journal per state as its rows do (finished jobs from the running totals, not a scan)', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await w.mintWide(net.bankUrl, 40);
    const sent = await w.sendJob(net.wanUrl, 'wan-to-lan', {
      proofs: w.takeAll(net.bankUrl),
      destination: l.address,
    });
    expect((await finish(net, sent.status.transferId)).state).toBe('done');

    const rows = await net.gwStore.db
      .selectFrom('gateway_jobs')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('state')
      .execute();
    const { text } = await scrape(net);
    // The database pool beside them (store/metrics.ts): PostgreSQL's; SQLite has none.
    expect(/^lancash_db_pool_connections\{state="max"[^}]*\} \d+$/m.test(text)).toBe(dialect === 'postgres');
    expect(/^lancash_db_pool_waiting(?:\{[^}]*\})? \d+$/m.test(text)).toBe(dialect === 'postgres');
    const bank = await request(`${net.bankUrl}/metrics`);
    const bankText = await bank.body.text();
    expect(/^lancash_db_pool_connections\{state="busy"[^}]*\} \d+$/m.test(bankText)).toBe(
      dialect === 'postgres',
    );
    const gauge = [...text.matchAll(/^lancash_gateway_jobs\{state="(\w+)",[^}]*\} (\d+)$/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    expect(gauge).toEqual(rows.map((r) => [r.state, Number(r.n)]));
    expect(gauge).toEqual([['done', 1]]);
  });

  it('leaves the journal gauges out (named stale) and answers the rest 200; they come back with the journal', async () => {
    const before = await scrape(net);
    expect(before.status).toBe(200);
    expect(journalGauges(before.text)).toEqual({ present: JOURNAL_GAUGES, stale: [] });

    await sql`alter table gateway_jobs rename to gateway_jobs_away`.execute(net.gwStore.db);
    try {
      const during = await scrape(net);
      expect(during.status).toBe(200); // before: 500 Internal (a driver error no outage code names)
      expect(journalGauges(during.text)).toEqual({ present: [], stale: JOURNAL_GAUGES });
      expect(during.text).toMatch(/^http_requests_total\{/m);
      expect(during.text).toMatch(/^lancash_mailbox_network_writes\{/m);
    } finally {
      await sql`alter table gateway_jobs_away rename to gateway_jobs`.execute(net.gwStore.db);
    }

    const after = await scrape(net);
    expect(after.status).toBe(200);
    expect(journalGauges(after.text)).toEqual({ present: JOURNAL_GAUGES, stale: [] });
  });

  it.runIf(dialect === 'postgres')(
    'answers without the journal gauges when their read waits on a lock past the deadline',
    async () => {
      const other: Store = await openStore(net.gwStore.config);
      const lock = await holdInTransaction(other, (trx) =>
        sql`lock table gateway_jobs in access exclusive mode`.execute(trx),
      );
      try {
        const during = await scrape(net);
        expect(during.status).toBe(200);
        expect(journalGauges(during.text)).toEqual({ present: [], stale: JOURNAL_GAUGES });
        // A second scrape meanwhile joins the reads still waiting: no more connections taken.
        const again = await scrape(net);
        expect(journalGauges(again.text).stale).toEqual(JOURNAL_GAUGES);
      } finally {
        await lock.release();
        await other.close();
      }
      const after = await scrape(net);
      expect(journalGauges(after.text)).toEqual({ present: JOURNAL_GAUGES, stale: [] });
    },
  );
});
