/**
 * Migration 015: NUT-20 signed mint quotes. `pubkey` is the compressed secp256k1 key (hex) a wallet
 * named when it asked for a mint quote; only a signature by it mints the quote. NULL: an unlocked
 * quote (melt quotes, and every quote from before this migration). Portable types only
 * (docs/design.md §7). No `down`.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('lightning_quotes').addColumn('pubkey', 'text').execute();
}
