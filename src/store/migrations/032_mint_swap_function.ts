/**
 * Migration 032 (PostgreSQL only): the mint's NUT-03 swap as ONE statement (docs/mint.md, "A swap's
 * write"; docs/performance.md, round seven), as migration 030 made the wide bank's issue and receive.
 * Written as a transaction, a swap cost four round trips (BEGIN, the inputs' insert, the outputs'
 * insert, COMMIT) and held its notes' new index entries and a `mint_totals` shard across them, each
 * round trip waiting for the mint's event loop to read the answer. The function `lancash_mint_swap`
 * writes the same rows from one call, run outside any transaction block (its own implicit
 * transaction): one round trip, one commit, and concurrent swaps on the pool's connections share the
 * server's log flushes (a commit flushes every record written before it).
 *
 * `s` (jsonb, parsed once; see 030 for why not `json`):
 *   inputs:  [[y, amount, keyset_id, secret, c, witness]…]   (`mint_proofs`, state 'spent');
 *   outputs: [[b_, amount, keyset_id, c_, dleq_e, dleq_s]…]  (`mint_signatures`);
 *   operation, now (created_at and updated_at of every row), fees (NUT-02, collected now: spent),
 *   keysets (the outputs' keysets: the first retired at `now` refuses the swap), shard (`mint_totals`).
 *
 * The order is the transaction's (`Mint.commitInputs`, then `commitOutputs` with its retirement
 * check), so a request wrong in several ways gets the refusal it got before. Answers the number of
 * signatures inserted. Refusals raise, so the whole call rolls back (no note spent, no signature, no
 * total moved), with the SQLSTATEs of 030, which the mint maps to its own errors (`mint/repository.ts`
 * `swapInOne`), reading the committed rows to name the notes:
 *   LC003 a note or a signature already there (detail: the table, `mint_proofs` or `mint_signatures`);
 *   LC004 an output's keyset retired at `now` (detail: JSON { id, retiresAt }).
 * SQLite keeps the transaction (one writer, in process: no round trip to save). No `down` (see 001).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  // `create or replace`: a migration interrupted after this statement runs it again harmlessly.
  await sql
    .raw(`create or replace function lancash_mint_swap(s jsonb) returns integer
  language plpgsql as $fn$
declare
  t_now bigint := (s->>'now')::bigint;
  n bigint;
  v_spent bigint;
  v_signed bigint;
  ret_id text;
  ret_at bigint;
begin
  -- The inputs first: a note another request holds (or is writing: the insert waits for its commit)
  -- refuses the swap.
  with ins as (
    insert into mint_proofs (y, amount, keyset_id, secret, c, witness, state, operation, created_at, updated_at)
    select x->>0, (x->>1)::bigint, x->>2, x->>3, x->>4, x->>5, 'spent', s->>'operation', t_now, t_now
      from jsonb_array_elements(s->'inputs') as x
    on conflict (y) do nothing
    returning amount)
  select count(*), coalesce(sum(amount), 0) into n, v_spent from ins;
  if n < jsonb_array_length(s->'inputs') then
    raise exception using errcode = 'LC003', message = 'notes already spent or pending', detail = 'mint_proofs';
  end if;

  -- A keyset retired since the mint's checks (another process's rotation): no signature of it is given.
  select id, retires_at into ret_id, ret_at from mint_keysets
   where id in (select jsonb_array_elements_text(s->'keysets')) and retires_at <= t_now
   order by id limit 1;
  if found then
    raise exception using errcode = 'LC004', message = 'keyset retired',
      detail = json_build_object('id', ret_id, 'retiresAt', ret_at)::text;
  end if;

  with ins as (
    insert into mint_signatures (b_, amount, keyset_id, c_, dleq_e, dleq_s, operation, created_at)
    select x->>0, (x->>1)::bigint, x->>2, x->>3, x->>4, x->>5, s->>'operation', t_now
      from jsonb_array_elements(s->'outputs') as x
    on conflict (b_) do nothing
    returning amount)
  select count(*), coalesce(sum(amount), 0) into n, v_signed from ins;
  if n < jsonb_array_length(s->'outputs') then
    raise exception using errcode = 'LC003', message = 'outputs already signed', detail = 'mint_signatures';
  end if;

  -- The shard last: it is held from here to the commit only.
  update mint_totals
     set signed = signed + v_signed, spent = spent + v_spent, fees = fees + (s->>'fees')::bigint
   where id = (s->>'shard')::int;
  return n;
end
$fn$`)
    .execute(db);
}
