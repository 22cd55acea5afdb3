/**
 * Migration 034 (PostgreSQL only): a mailbox deposit as ONE statement (docs/performance.md, round
 * seven; `mailbox/repository.ts` `depositInOne`). A deposit was a transaction of four round trips
 * (BEGIN, the inbox's slot, `storeIfNew`'s data-modifying CTE, COMMIT), the inbox's row locked from
 * the second to the last, across the round trips between: every deposit into that inbox waited for
 * them (the wide bank's mailbox takes every job 1 payment). The function `lancash_mailbox_deposit`
 * runs the same two statements from one call outside any transaction block (its own implicit
 * transaction), in the mailbox's lock order: the inbox's row (its upsert), then the new message (its
 * keys are the inbox's next sequence number, unique under the inbox's lock: the insert waits on
 * nobody), then the depositor's row, then one totals shard. The second statement takes a snapshot of
 * its own (PL/pgSQL in READ COMMITTED), after the inbox's lock: a copy of the same bytes that a
 * concurrent deposit committed while this one waited for that lock is seen, as in the transaction.
 *
 * It takes only the usual case, a deposit that passes the inbox's limits and whose depositor and
 * totals shard have room (`plain_*`: the most the inbox's counters may read; the service calls it for
 * deposits without a depositor, with the inbox's limits: `mailbox/service.ts` `insertOnce` says why
 * strangers' deposits stay in a transaction). Anything else raises LM001 and so changes
 * nothing, and the caller runs the deposit as the transaction it was (which looks for a replay in a
 * full inbox, tries other shards and gives the refusals). Answers the new message's sequence number,
 * or 0 for a duplicate (these bytes are stored already: nothing kept, the slot given back).
 * SQLite keeps the transaction (one writer, in process: no round trip to save). No `down` (see 001).
 * `create or replace`: running it again (an interrupted migration) is harmless.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql
    .raw(`create or replace function lancash_mailbox_deposit(
    p_recipient text, p_sender text, p_transfer_id text, p_digest text, p_depositor text,
    p_shard integer, p_envelope text, p_size bigint, p_created_at bigint,
    plain_messages bigint, plain_bytes bigint,
    depositor_max_messages bigint, depositor_max_bytes bigint,
    shard_max_messages bigint, shard_max_bytes bigint) returns bigint
  language plpgsql as $fn$
declare
  c_messages bigint;
  c_bytes bigint;
  c_seq bigint;
  stored boolean;
  counted boolean;
  charged boolean;
begin
  insert into mailbox_inboxes as i (recipient, messages, bytes, last_seq)
    values (p_recipient, 1, p_size, 1)
    on conflict (recipient) do update set messages = i.messages + 1, bytes = i.bytes + excluded.bytes,
      last_seq = i.last_seq + 1
    returning i.messages, i.bytes, i.last_seq into c_messages, c_bytes, c_seq;
  if c_messages > plain_messages or c_bytes > plain_bytes then
    raise exception using errcode = 'LM001', message = 'mailbox: not a plain deposit (the inbox is past a limit)';
  end if;
  with
    seen as (select 1 from mailbox_messages where recipient = p_recipient and sender = p_sender
      and transfer_id = p_transfer_id and digest = p_digest),
    msg as (insert into mailbox_messages
        (recipient, seq, sender, transfer_id, digest, depositor, shard, envelope, size, created_at, acked_at)
      select p_recipient, c_seq, p_sender, p_transfer_id, p_digest, p_depositor, p_shard, p_envelope, p_size,
        p_created_at, 0
      where not exists (select 1 from seen)
      returning seq),
    dep as (insert into mailbox_depositors as d (depositor, messages, bytes)
      select p_depositor, 1, p_size from msg where p_depositor <> '' and p_size <= depositor_max_bytes
      on conflict (depositor) do update set messages = d.messages + 1, bytes = d.bytes + excluded.bytes
      where d.messages + 1 <= depositor_max_messages and d.bytes + excluded.bytes <= depositor_max_bytes
      returning 1),
    tot as (update mailbox_totals set messages = messages + 1, bytes = bytes + p_size
      where id = p_shard and messages + 1 <= shard_max_messages and bytes + p_size <= shard_max_bytes
        and exists (select 1 from msg) and (p_depositor = '' or exists (select 1 from dep))
      returning 1)
  select exists (select 1 from msg), (p_depositor = '' or exists (select 1 from dep)), exists (select 1 from tot)
    into stored, counted, charged;
  if not stored then
    update mailbox_inboxes set messages = messages - 1, bytes = bytes - p_size, last_seq = last_seq - 1
      where recipient = p_recipient;
    return 0;
  end if;
  if not counted or not charged then
    raise exception using errcode = 'LM001', message = 'mailbox: not a plain deposit (no room in a share)';
  end if;
  return c_seq;
end
$fn$`)
    .execute(db);
}
