/**
 * Migration 009: the wide bank's log of each holder's own requests (docs/wide-bank.md, "The request
 * log"): one row per issue, receive, deposit claim and payout a holder made on its own account,
 * numbered per account in commit order (`seq` = 1, 2, …, no gaps), with the amount and an opaque
 * recovery record the holder sealed to itself. The gateway pages through its reserve account's log to
 * prove its journal is not behind the bank, and rebuilds lost jobs from the recovery records
 * (docs/gateway.md, "Reconciling with the bank"). Existing requests are numbered here in the order
 * they were made, so the log is complete from the start. Portable types only (docs/design.md §7). No `down`.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('bank_request_log')
    .addColumn('account_id', 'text', (c) => c.notNull().references('bank_accounts.id'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    // The idempotency key in `bank_requests` (`issue:<holder>:<transfer id>`, `claim:<holder>:<ref>`…).
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    // The transfer id (issue, receive) or the ref (claim, payout) the holder chose.
    .addColumn('ref', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('recovery', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('bank_request_log_pk', ['account_id', 'seq'])
    .addCheckConstraint('bank_request_log_kind', sql`kind in ('issue', 'receive', 'claim', 'payout')`)
    .execute();

  // Backfill: the requests a holder made on its own account, oldest first. Issue, claim and payout are
  // always the holder's; a receive is when its sender (in the key) is the credited account's holder.
  const rows = await sql<{ key: string; kind: string; account_id: string; created_at: string | number }>`
    select r.key, r.kind, r.account_id, r.created_at
    from bank_requests r join bank_accounts a on a.id = r.account_id
    where r.kind in ('issue', 'receive', 'claim', 'payout')
      and r.key like r.kind || ':' || a.holder_key || ':%'
    order by r.created_at, r.key`.execute(db);
  const seqs = new Map<string, number>();
  for (const r of rows.rows) {
    const ref = r.key.slice(r.key.indexOf(':', r.kind.length + 1) + 1);
    // What the request moved on the account (a claim's is the deposit it claimed).
    const moved = await sql<{ v: string | number | null }>`
      select sum(amount) as v from bank_entries
      where account_id = ${r.account_id}
        and ((ref = ${r.key}) or (${r.kind} = 'claim' and kind = 'deposit' and ref = ${ref}))`.execute(db);
    const seq = (seqs.get(r.account_id) ?? 0) + 1;
    seqs.set(r.account_id, seq);
    await sql`insert into bank_request_log (account_id, seq, key, kind, ref, amount, recovery, created_at)
      values (${r.account_id}, ${seq}, ${r.key}, ${r.kind}, ${ref},
              ${Math.abs(Number(moved.rows[0]?.v ?? 0))}, null, ${Number(r.created_at)})`.execute(db);
  }
}
