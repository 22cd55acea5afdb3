/**
 * Migration 030 (PostgreSQL only): the wide bank's issue and receive as ONE statement
 * (docs/wide-bank.md, "One statement on PostgreSQL"; docs/performance.md, round six). Every issue and
 * receive of a holder takes the same rows: the holder's account (the gateway's, for every conversion),
 * a `mint_totals` shard, `notes_outstanding` and the chain head. Written as a transaction of four
 * statements, each row was held from its statement to the COMMIT, i.e. across the round trips that
 * followed, and each round trip waited for the bank's event loop to read the answer: the hold included
 * that process's queueing, and every other request of the holder waited behind it. The function
 * `lancash_bank_request` writes the same rows from one call (the shard after the holders' rows, see
 * below), run outside any transaction block (its own implicit transaction): the rows are held for the
 * statement and its commit only, and a request costs one round trip instead of six (BEGIN, request
 * row, mint rows, holder, shared rows + link, COMMIT).
 *
 * `r` (jsonb: parsed once; a `json` value is parsed again by every `->>`, and `r` holds the answer's
 * few kB):
 *   key, kind, account, hash, response, at: the `bank_requests` row (the idempotency key);
 *   mint: { table: 'mint_signatures', rows: [[b_, amount, keyset_id, c_, dleq_e, dleq_s]…], operation,
 *           createdAt, keysets, now, shard }
 *       | { table: 'mint_proofs', rows: [[y, amount, keyset_id, secret, c, witness]…], state, operation,
 *           createdAt, updatedAt, fees, shard };
 *   moves: [[account, delta, covered, logged]…] in the ledger's lock order (holders by id, then the
 *          system accounts by id: `Ledger.postAll`); `covered`: a debit the balance must cover;
 *          `logged`: the move that also numbers and writes the request log's line (a move of 0 when
 *          the line goes alone, before the shared rows);
 *   holders: how many moves come before the system accounts' (the shard is taken between);
 *   log: that line { key, kind, ref, amount, recovery, createdAt } (its account: the logged move's).
 * `links`: each link's rows as the JSON text of `linkRows` (hashed as that text: `linkHash`).
 *
 * Answers 1 when written, 0 when the key was already there (a replay: nothing written). Refusals raise,
 * so the whole call rolls back (no request row, no signature, no note, no move), with a SQLSTATE the
 * ledger maps to the same errors as the transaction's statements give (`ledger/repository.ts`):
 *   LC001 a covered debit the balance does not cover (detail: the account);
 *   LC002 an account that does not exist (detail: the account);
 *   LC003 a signature or note already there (the caller names them from the committed rows);
 *   LC004 a keyset retired at `now` (detail: JSON { id, retiresAt });
 *   LC005 no chain head (migration 013).
 * SQLite keeps the transaction (one writer, in process: no round trip to save). No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql
    .raw(`create or replace function lancash_bank_request(r jsonb, links text[]) returns integer
  language plpgsql as $fn$
declare
  m jsonb := r->'mint';
  lg jsonb := r->'log';
  mv jsonb;
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
  holders int := (r->>'holders')::int;
  i int;
  line bigint;
  ret_id text;
  ret_at bigint;
  link text;
  head_seq bigint;
  head_hash text;
begin
  -- The key first: a concurrent duplicate waits here for this one's commit, then writes nothing.
  insert into bank_requests (key, kind, account_id, request_hash, response, created_at)
    values (r->>'key', r->>'kind', r->>'account', r->>'hash', r->>'response', (r->>'at')::bigint)
    on conflict (key) do nothing;
  if not found then return 0; end if;

  -- The mint's rows (their value goes to a \`mint_totals\` shard after the holders' moves, below).
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
    add_signed := v;
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
    if m->>'state' = 'spent' then add_spent := v; else add_pending := v; end if;
    add_fees := (m->>'fees')::bigint;
  end if;

  -- The postings' legs in the ledger's lock order, the log line with the leg marked for it, and the
  -- shard between the holders' legs and the system accounts' (\`holders\` legs come first): a request
  -- queued for its holder's row holds no shard meanwhile, so the mint's other writes do not queue
  -- behind it.
  for i in 0 .. jsonb_array_length(r->'moves') loop
    if i = holders then
      update mint_totals
         set signed = signed + add_signed, spent = spent + add_spent,
             pending = pending + add_pending, fees = fees + add_fees
       where id = (m->>'shard')::int;
    end if;
    exit when i = jsonb_array_length(r->'moves');
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

  -- Each posting one link of the chain, hashed as \`linkHash\` hashes it (ledger/chain.ts).
  foreach link in array links loop
    update bank_chain
       set seq = seq + 1,
           hash = encode(sha256(convert_to('["' || hash || '",' || (seq + 1)::text || ',' || link || ']', 'UTF8')), 'hex')
     where id = 1
     returning seq, hash into head_seq, head_hash;
    if not found then
      raise exception using errcode = 'LC005', message = 'the ledger has no hash chain head';
    end if;
    insert into bank_entries (id, tx_id, account_id, amount, kind, ref, created_at, chain_seq, chain_hash)
    select x->>0, x->>1, x->>2, (x->>3)::bigint, x->>4, x->>5, (x->>6)::bigint, head_seq, head_hash
      from json_array_elements(link::json) as x;
  end loop;
  return 1;
end
$fn$`)
    .execute(db);
}
