/**
 * Migration 033 (PostgreSQL only): the wide bank's concurrent issues and receives as ONE statement, each
 * request in its own subtransaction (docs/wide-bank.md, "One statement on PostgreSQL";
 * docs/performance.md, round seven). Migration 030's `lancash_bank_request` wrote one request a
 * statement; every request takes the holder's account row, `notes_outstanding` and the chain head and
 * holds them until its commit record is flushed, so requests committed one fsync at a time. Here the
 * requests queued while the previous statement ran go in one call: one commit, one flush for all.
 *
 * `rs` (jsonb): an array of migration 030's `r`, each with its `links` (the JSON text of each link's
 * `linkRows`, hashed as that text) as an array of strings. Answers one text a request, in order:
 *   '1' written, '0' the key was already there (a replay: nothing written),
 *   '<SQLSTATE> <detail>' refused: LC001 (a covered debit the balance does not cover; detail: the
 *   account), LC002 (no such holder account), LC003 (a signature or note already there), LC004 (a
 *   keyset retired; detail: JSON { id, retiresAt }); the codes and details of migration 030.
 * A refused request's subtransaction (a PL/pgSQL block with an EXCEPTION clause is a savepoint) rolls
 * back its request row, mint rows, holder move and log line, and nothing else: its neighbours are
 * written as if it had not been sent. Errors that belong to no request in particular (a missing system
 * account, LC002; no chain head, LC005; a deadlock, a serialization failure, a lost connection) fail
 * the whole statement, so nothing of any request is written; the caller retries or answers each
 * request as unclear (the request's key makes its retry safe).
 *
 * Lock order (deadlock-free against every other writer of these rows, docs/wide-bank.md "Lock order"):
 *   1. the holders' accounts of all the requests, by id (`for update`, before any request row);
 *   2. per request, in its subtransaction: its `bank_requests` key, its mint rows (unique keys), its
 *      holder moves (rows already held) and log line;
 *   3. one `mint_totals` shard (the first request's) with the sum of the written requests' values;
 *   4. the system accounts, by id, each moved once by the sum of the written requests' legs;
 *   5. the chain head, advanced once per posting (each its own link, hashed as `linkHash`), written once.
 * A request's unique keys (2) are taken while the group holds only holder rows (1), never the shared rows
 * (3–5), so a swap or melt that holds a note and waits for a shard cannot close a cycle with the group.
 * `holders` of each `r` counts its moves before the system accounts' (as in 030); the system accounts'
 * moves are never covered debits (the ledger's issue and receive: `Ledger.onceWith`).
 * Migration 030's function stays for a process not yet upgraded; both take the holder's row before
 * any shared row. No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
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
  n bigint;
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
  sys_moves jsonb := '[]';
begin
  -- 1. The holders' rows, by id, before any request's own rows.
  perform 1 from bank_accounts
   where id in (select e.elem->>0
                  from jsonb_array_elements(rs) as q(req),
                       jsonb_array_elements(q.req->'moves') with ordinality as e(elem, ord)
                 where e.ord <= (q.req->>'holders')::int)
   order by id
     for update;

  -- 2. Each request in its own subtransaction.
  for k in 0 .. jsonb_array_length(rs) - 1 loop
    r := rs->k;
    m := r->'mint';
    lg := r->'log';
    holders := (r->>'holders')::int;
    begin
      insert into bank_requests (key, kind, account_id, request_hash, response, created_at)
        values (r->>'key', r->>'kind', r->>'account', r->>'hash', r->>'response', (r->>'at')::bigint)
        on conflict (key) do nothing;
      if not found then
        answers := answers || '0'::text;
        written := written || false;
        continue;
      end if;
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
          on conflict (b_) do nothing
          returning amount)
        select count(*), coalesce(sum(amount), 0) into n, v from ins;
        if n < jsonb_array_length(m->'rows') then
          raise exception using errcode = 'LC003', message = 'signatures already given';
        end if;
      else
        with ins as (
          insert into mint_proofs (y, amount, keyset_id, secret, c, witness, state, operation, created_at, updated_at)
          select x->>0, (x->>1)::bigint, x->>2, x->>3, x->>4, x->>5, m->>'state', m->>'operation',
                 (m->>'createdAt')::bigint, (m->>'updatedAt')::bigint
            from jsonb_array_elements(m->'rows') as x
          on conflict (y) do nothing
          returning amount)
        select count(*), coalesce(sum(amount), 0) into n, v from ins;
        if n < jsonb_array_length(m->'rows') then
          raise exception using errcode = 'LC003', message = 'notes already spent or pending';
        end if;
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
        from json_array_elements(link::json) as x;
    end loop;
  end loop;
  update bank_chain set seq = head_seq, hash = head_hash where id = 1;
  return answers;
end
$fn$`)
    .execute(db);
}
