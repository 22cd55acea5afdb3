/**
 * Migration 004: the mailbox (docs/design.md §3) that the wide bank (WAN) and the gateway (LAN) keep for
 * terminals that are offline. It stores ciphertext only: envelopes as their JSON wire form.
 * One row per inbox holds its counters, so limits hold exactly across processes (its row lock
 * serialises deposits to one inbox); used drain nonces refuse a replayed drain. No `down` (see 001).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Inboxes are keyed by the recipient's X25519 public key (hex), not by the address string, so
  // every spelling of one address (case, with or without an inbox URL) is the same inbox.
  await db.schema
    .createTable('mailbox_inboxes')
    .addColumn('recipient', 'text', (c) => c.primaryKey().notNull())
    .addColumn('messages', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .execute();

  // `seq` orders an inbox oldest first and is the message id the owner acks. Acked rows stay as
  // tombstones (envelope emptied, `acked_at` > 0) for a while, so a replayed deposit is still a no-op.
  await db.schema
    .createTable('mailbox_messages')
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('envelope', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('acked_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('mailbox_messages_pk', ['recipient', 'seq'])
    // docs/design.md §3: one envelope (sender + transfer id) is stored once per inbox.
    .addUniqueConstraint('mailbox_messages_transfer_uq', ['recipient', 'sender', 'transfer_id'])
    .execute();

  // Drain nonces (the drain envelope's transfer id), kept for twice the drain freshness window and
  // pruned per owner by its drains (the primary key serves that delete).
  await db.schema
    .createTable('mailbox_nonces')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('mailbox_nonces_pk', ['owner', 'nonce'])
    .execute();
}
