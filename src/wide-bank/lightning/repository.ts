/**
 * The Lightning quotes' SQL, and only SQL (`lightning_quotes`). Every state change is a conditional
 * UPDATE naming the state it leaves, so of two racing requests exactly one moves a quote, on one
 * process or several sharing a database.
 */
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database, LightningQuotesTable } from '../../store/schema.js';

type Db = Kysely<Database>;

export type QuoteRow = Selectable<LightningQuotesTable>;
export type QuoteKind = QuoteRow['kind'];
export type QuoteState = QuoteRow['state'];

export async function insertQuote(db: Db, row: QuoteRow): Promise<void> {
  await db.insertInto('lightning_quotes').values(row).execute();
}

export async function getQuote(db: Db, kind: QuoteKind, id: string): Promise<QuoteRow | undefined> {
  return db
    .selectFrom('lightning_quotes')
    .selectAll()
    .where('id', '=', id)
    .where('kind', '=', kind)
    .executeTakeFirst();
}

/**
 * Moves a quote from `from` to `to` (setting `set` too) only if it is still in `from`, and when given,
 * not expired at `unexpiredAt` and still at payment attempt `attempt`. Returns whether this call moved it.
 */
export async function transition(
  db: Db,
  q: {
    kind: QuoteKind;
    id: string;
    from: QuoteState;
    to: QuoteState;
    now: number;
    unexpiredAt?: number;
    attempt?: number;
  },
  set: Omit<Updateable<LightningQuotesTable>, 'id' | 'kind' | 'state' | 'updated_at'> = {},
): Promise<boolean> {
  let update = db
    .updateTable('lightning_quotes')
    .set({ ...set, state: q.to, updated_at: q.now })
    .where('id', '=', q.id)
    .where('kind', '=', q.kind)
    .where('state', '=', q.from);
  if (q.unexpiredAt !== undefined) update = update.where('expires_at', '>', q.unexpiredAt);
  if (q.attempt !== undefined) update = update.where('attempt', '=', q.attempt);
  const r = await update.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Melt quotes on one invoice that hold or have paid it (at most one, by the unique index). */
export async function meltsOfInvoice(db: Db, paymentHash: string): Promise<Pick<QuoteRow, 'id' | 'state'>[]> {
  return db
    .selectFrom('lightning_quotes')
    .select(['id', 'state'])
    .where('kind', '=', 'melt')
    .where('payment_hash', '=', paymentHash)
    .where('state', 'in', ['PENDING', 'PAID'])
    .execute();
}

export async function pendingMelts(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('lightning_quotes')
    .select('id')
    .where('kind', '=', 'melt')
    .where('state', '=', 'PENDING')
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.id);
}

/** For the audit: every quote that is not UNPAID (the ones that moved or hold notes). */
export async function quotesPastUnpaid(db: Db): Promise<QuoteRow[]> {
  return db.selectFrom('lightning_quotes').selectAll().where('state', '<>', 'UNPAID').orderBy('id').execute();
}

/** For the audit: a quote by id, of either kind. */
export async function quoteById(db: Db, id: string): Promise<QuoteRow | undefined> {
  return db.selectFrom('lightning_quotes').selectAll().where('id', '=', id).executeTakeFirst();
}
