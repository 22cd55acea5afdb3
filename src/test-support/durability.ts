/** How a transaction commits, as the tests read it from inside (`TransactionOptions.durable`). */
import { type Kysely, sql } from 'kysely';
import type { Store } from '../store/index.js';
import type { Database } from '../store/schema.js';

/** The connection's commit setting, as `relaxed` or `durable` (anything else is shown as it is). */
export async function commitMode(db: Kysely<Database>, dialect: Store['dialect']): Promise<string> {
  if (dialect === 'sqlite') {
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
    // https://sqlite.org/pragma.html#pragma_synchronous: 1 NORMAL, 2 FULL.
    const level = rows[0]?.synchronous;
    return level === 1 ? 'relaxed' : level === 2 ? 'durable' : `synchronous ${String(level)}`;
  }
  const { rows } = await sql<{ s: string }>`select current_setting('synchronous_commit') as s`.execute(db);
  const s = rows[0]?.s;
  return s === 'off' ? 'relaxed' : s === 'on' ? 'durable' : `synchronous_commit ${String(s)}`;
}
