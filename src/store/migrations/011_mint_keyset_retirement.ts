/**
 * Migration 011: a keyset's retirement (docs/mint.md, "Key rotation"). `retires_at` (unix ms) is set
 * when a rotation makes the keyset inactive: until then its notes are still redeemed (inputs accepted,
 * never signed with), from then on they are refused (Cashu 12003). NULL: never retires (the active
 * keyset, and keysets rotated out before this migration). Portable types only (docs/design.md §7).
 * No `down`.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('mint_keysets').addColumn('retires_at', 'bigint').execute();
}
