/**
 * Migration 039 (PostgreSQL only; SQLite has nothing to change): the wide bank's hot rows write less
 * (docs/wide-bank.md, "One statement on PostgreSQL"; docs/performance.md, round nine). Counted on the
 * bench's own requests replayed one batch at a time (46.1 WAL records a request before, 33.0 after):
 *
 * 1. The foreign keys of `bank_entries`, `bank_requests` and `bank_request_log` to `bank_accounts` go.
 *    Each insert's check share-locked the account's row (the gateway's, for every conversion): a
 *    `Heap/LOCK` record, a MultiXact when the row was held otherwise too, and a query of its own per row.
 *    Every writer inserts rows only for an account it moves in the same transaction, which refuses and
 *    rolls back when the account is missing, and accounts are never deleted:
 *    - `lancash_bank_requests` (below) writes a request's row, log line and entries only after the
 *      request's holder moves found their rows (LC002 otherwise), and checks that the request's own
 *      account is one of those moves and that each entry's account is one the request moves (the
 *      system accounts' moves are found or fail the statement);
 *    - the ledger's transactions (`Ledger.once`, `postAll`, `logRequest`) write the request's row for
 *      the account the transaction moves, the entries after their legs' moves found their rows, and
 *      the log line in the statement that moves its account (`moveAndAppend`, nothing without the row);
 *    - migration 030's `lancash_bank_request` moves its holders (LC002) before the log line and entries.
 *    SQLite keeps its foreign keys (enforced there, and a table would have to be rebuilt to drop them).
 * 2. `lancash_bank_requests` (migration 033's, restated) writes its rows with plain inserts instead of
 *    `on conflict do nothing`: each request runs in its own subtransaction already, so a key that is
 *    taken raises `unique_violation`, which answers as before: the request's key, '0' (a replay); a
 *    signature's or a note's, LC003. A plain insert writes no `Heap/CONFIRM` record a row and makes no
 *    speculative insertion. The holders' rows are taken by an update to the same balance rather than
 *    `for update`: a request's move of a row its transaction only locked had to record the lock and
 *    the move together (a MultiXact) so that either could roll back alone; a row its transaction
 *    updated needs none. The lock order is migration 033's (holders by id first).
 * 3. A request's row, its log line and the wide mailbox's messages keep their bulk in line up to a page
 *    (`toast_tuple_target = 8160`, as migration 031 did for the journal's events): the answer (1–13 kB),
 *    the recovery record (≈ 4 kB) and the envelope went to TOAST in ≈ 2 kB chunks, a row and an index
 *    entry in the WAL each. Those tables are read by key, and their readers fetch the bulk anyway
 *    (a replay's answer, a drain's envelopes) or read few rows (a page of the log). Existing rows stay
 *    where they are; the setting applies to rows written after it.
 *
 * Idempotent (each step checks or replaces). No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/** The tables whose foreign keys to `bank_accounts` go. */
export const UNCHECKED = ['bank_entries', 'bank_requests', 'bank_request_log'] as const;

/** The tables whose bulk stays in line up to a page. */
export const IN_LINE = ['bank_requests', 'bank_request_log', 'mailbox_messages'] as const;

/** The largest `toast_tuple_target` PostgreSQL accepts (migration 031). */
export const IN_LINE_UP_TO = 8160;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  for (const table of UNCHECKED) {
    const { rows } = await sql<{ name: string }>`select conname as name from pg_constraint
      where contype = 'f' and conrelid = ${table}::regclass and confrelid = 'bank_accounts'::regclass`.execute(
      db,
    );
    for (const { name } of rows) {
      await sql`alter table ${sql.table(table)} drop constraint if exists ${sql.ref(name)}`.execute(db);
    }
  }
  for (const table of IN_LINE) {
    await sql`alter table ${sql.table(table)} set (toast_tuple_target = ${sql.lit(IN_LINE_UP_TO)})`.execute(
      db,
    );
  }
  await sql
    .raw(`create or replace function lancash_bank_requests(rs jsonb) returns text[]
  language plpgsql as $fn$
declare
  r jsonb;
  m jsonb;
  lg jsonb;
  mv jsonb;
  answers text[] := '{}';
  written boolean[] := '{}';
  acct text;
  delta bigint;
  covered boolean;
  moved boolean;
  n int;
  v bigint;
  add_signed bigint := 0;
  add_spent bigint := 0;
  add_pending bigint := 0;
  add_fees bigint := 0;
  holders int;
  i int;
  k int;
  line bigint;
  ret_id text;
  ret_at bigint;
  link text;
  head_seq bigint;
  head_hash text;
  code text;
  detail text;
  cname text;
  sys_moves jsonb := '[]';
begin
  -- 1. The holders' rows, by id, before any request's own rows: updated (to the same balance), not
  -- locked \`for update\`, so that a request's move in its subtransaction makes no MultiXact.
  for acct in
    select distinct e.elem->>0
      from jsonb_array_elements(rs) as q(req),
           jsonb_array_elements(q.req->'moves') with ordinality as e(elem, ord)
     where e.ord <= (q.req->>'holders')::int
     order by 1
  loop
    update bank_accounts set balance = balance where id = acct;
  end loop;

  -- 2. Each request in its own subtransaction.
  for k in 0 .. jsonb_array_length(rs) - 1 loop
    r := rs->k;
    m := r->'mint';
    lg := r->'log';
    holders := (r->>'holders')::int;
    begin
      insert into bank_requests (key, kind, account_id, request_hash, response, created_at)
        values (r->>'key', r->>'kind', r->>'account', r->>'hash', r->>'response', (r->>'at')::bigint);
      if m->>'table' = 'mint_signatures' then
        select id, retires_at into ret_id, ret_at from mint_keysets
         where id in (select jsonb_array_elements_text(m->'keysets')) and retires_at <= (m->>'now')::bigint
         order by id limit 1;
        if found then
          raise exception using errcode = 'LC004', message = 'keyset retired',
            detail = json_build_object('id', ret_id, 'retiresAt', ret_at)::text;
        end if;
        with ins as (
          insert into mint_signatures (b_, amount, keyset_id, c_, dleq_e, dleq_s, operation, created_at)
          select x->>0, (x->>1)::bigint, x->>2, x->>3, x->>4, x->>5, m->>'operation', (m->>'createdAt')::bigint
            from jsonb_array_elements(m->'rows') as x
          returning amount)
        select coalesce(sum(amount), 0) into v from ins;
      else
        with ins as (
          insert into mint_proofs (y, amount, keyset_id, secret, c, witness, state, operation, created_at, updated_at)
          select x->>0, (x->>1)::bigint, x->>2, x->>3, x->>4, x->>5, m->>'state', m->>'operation',
                 (m->>'createdAt')::bigint, (m->>'updatedAt')::bigint
            from jsonb_array_elements(m->'rows') as x
          returning amount)
        select coalesce(sum(amount), 0) into v from ins;
      end if;
      if not exists (select 1 from jsonb_array_elements(r->'moves') with ordinality as e(elem, ord)
                      where e.ord <= holders and e.elem->>0 = r->>'account') then
        raise exception 'lancash_bank_requests: request % names an account it does not move', r->>'key';
      end if;
      for i in 0 .. holders - 1 loop
        mv := r->'moves'->i;
        acct := mv->>0;
        delta := (mv->>1)::bigint;
        covered := (mv->>2)::boolean;
        if (mv->>3)::boolean then
          update bank_accounts set balance = balance + delta, log_seq = log_seq + 1
           where id = acct and (not covered or balance + delta >= 0)
           returning log_seq into line;
          moved := found;
          if moved then
            insert into bank_request_log (account_id, seq, key, kind, ref, amount, recovery, created_at)
              values (acct, line, lg->>'key', lg->>'kind', lg->>'ref', (lg->>'amount')::bigint,
                      lg->>'recovery', (lg->>'createdAt')::bigint);
          end if;
        else
          update bank_accounts set balance = balance + delta
           where id = acct and (not covered or balance + delta >= 0);
          moved := found;
        end if;
        if not moved then
          if covered and exists (select 1 from bank_accounts where id = acct) then
            raise exception using errcode = 'LC001', message = 'balance does not cover the debit', detail = acct;
          end if;
          raise exception using errcode = 'LC002', message = 'no such account', detail = acct;
        end if;
      end loop;
      -- Written: its value counts towards the shard, its system legs towards their accounts.
      if m->>'table' = 'mint_signatures' then
        add_signed := add_signed + v;
      elsif m->>'state' = 'spent' then
        add_spent := add_spent + v;
        add_fees := add_fees + (m->>'fees')::bigint;
      else
        add_pending := add_pending + v;
        add_fees := add_fees + (m->>'fees')::bigint;
      end if;
      answers := answers || '1'::text;
      written := written || true;
    exception
      when sqlstate 'LC001' or sqlstate 'LC002' or sqlstate 'LC003' or sqlstate 'LC004' then
        get stacked diagnostics code = returned_sqlstate, detail = pg_exception_detail;
        answers := answers || (code || ' ' || coalesce(detail, ''));
        written := written || false;
      when unique_violation then
        get stacked diagnostics cname = constraint_name;
        if cname = 'bank_requests_pkey' then
          answers := answers || '0'::text;
        elsif cname in ('mint_signatures_pkey', 'mint_proofs_pkey') then
          answers := answers || 'LC003 '::text;
        else
          raise;
        end if;
        written := written || false;
    end;
    if written[k + 1] then
      for i in holders .. jsonb_array_length(r->'moves') - 1 loop
        mv := r->'moves'->i;
        if (mv->>2)::boolean or (mv->>3)::boolean then
          raise exception 'lancash_bank_requests: a system account move is covered or logged';
        end if;
        sys_moves := sys_moves || jsonb_build_array(mv);
      end loop;
    end if;
  end loop;
  if not (true = any(written)) then return answers; end if;

  -- 3. One shard for the group.
  update mint_totals
     set signed = signed + add_signed, spent = spent + add_spent,
         pending = pending + add_pending, fees = fees + add_fees
   where id = (rs->0->'mint'->>'shard')::int;

  -- 4. The system accounts, by id, each once.
  for acct, delta in
    select x->>0, sum((x->>1)::bigint) from jsonb_array_elements(sys_moves) as x group by 1 order by 1
  loop
    update bank_accounts set balance = balance + delta where id = acct;
    if not found then
      raise exception using errcode = 'LC002', message = 'no such account', detail = acct;
    end if;
  end loop;

  -- 5. Each posting one link of the chain, hashed as \`linkHash\` hashes it (ledger/chain.ts).
  select seq, hash into head_seq, head_hash from bank_chain where id = 1 for update;
  if not found then
    raise exception using errcode = 'LC005', message = 'the ledger has no hash chain head';
  end if;
  for k in 0 .. jsonb_array_length(rs) - 1 loop
    continue when not written[k + 1];
    for link in select jsonb_array_elements_text(rs->k->'links') loop
      head_seq := head_seq + 1;
      head_hash := encode(sha256(convert_to('["' || head_hash || '",' || head_seq::text || ',' || link || ']', 'UTF8')), 'hex');
      insert into bank_entries (id, tx_id, account_id, amount, kind, ref, created_at, chain_seq, chain_hash)
      select x->>0, x->>1, x->>2, (x->>3)::bigint, x->>4, x->>5, (x->>6)::bigint, head_seq, head_hash
        from json_array_elements(link::json) as x
       where x->>2 in (select e->>0 from jsonb_array_elements(rs->k->'moves') as e);
      get diagnostics n = row_count;
      if n <> json_array_length(link::json) then
        raise exception 'lancash_bank_requests: request % posts to an account it does not move', rs->k->>'key';
      end if;
    end loop;
  end loop;
  update bank_chain set seq = head_seq, hash = head_hash where id = 1;
  return answers;
end
$fn$`)
    .execute(db);
}
