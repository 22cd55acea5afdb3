/**
 * The terminal's `WalletStore` on its own SQLite file (better-sqlite3; WAL, synchronous=FULL, so every
 * commit is on disk when it returns). Every `commit` is one `BEGIN IMMEDIATE` transaction, so a
 * reservation checked in it holds against another process using the same file.
 */
import Database from 'better-sqlite3';
import { fail } from '../../core/errors.js';
import { notesBusy } from '../memory-store.js';
import type {
  NoteQuery,
  NoteState,
  Operation,
  StoredNote,
  WalletChange,
  WalletConfig,
  WalletStore,
} from '../store.js';

const SCHEMA = `
create table if not exists config (id integer primary key check (id = 1), value text not null);
create table if not exists notes (
  secret text primary key,
  y text not null unique,
  amount integer not null,
  keyset text not null,
  state text not null check (state in ('unspent', 'pending', 'spent')),
  operation text,
  created_at integer not null,
  proof text not null
);
create index if not exists notes_state on notes (state);
create index if not exists notes_operation on notes (operation);
create table if not exists operations (
  id text primary key,
  state text not null,
  created_at integer not null,
  value text not null
);
create index if not exists operations_state on operations (state);
create table if not exists seen (key text primary key);
create table if not exists counters (keyset text primary key, next integer not null);
`;

interface NoteRow {
  secret: string;
  y: string;
  state: NoteState;
  operation: string | null;
  created_at: number;
  proof: string;
}

export class SqliteWalletStore implements WalletStore {
  private readonly db: Database.Database;

  /** Opens (and creates) the wallet database at `file`. */
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  async readConfig(): Promise<WalletConfig | undefined> {
    const row = this.db.prepare('select value from config where id = 1').get() as
      | { value: string }
      | undefined;
    return row && (JSON.parse(row.value) as WalletConfig);
  }

  async writeConfig(config: WalletConfig): Promise<void> {
    const inserted = this.db
      .prepare('insert into config (id, value) values (1, ?) on conflict do nothing')
      .run(JSON.stringify(config));
    if (inserted.changes !== 1)
      fail('WalletExists', { reason: 'configured' }, 'a wallet already exists in this file');
  }

  async notes(q: NoteQuery = {}): Promise<StoredNote[]> {
    const where: string[] = [];
    const args: string[] = [];
    if (q.state !== undefined) {
      where.push('state = ?');
      args.push(q.state);
    }
    if (q.operation !== undefined) {
      where.push('operation = ?');
      args.push(q.operation);
    }
    const sql = `select * from notes${where.length ? ` where ${where.join(' and ')}` : ''} order by created_at, secret`;
    return (this.db.prepare(sql).all(...args) as NoteRow[]).map(fromRow);
  }

  async operation(id: string): Promise<Operation | undefined> {
    const row = this.db.prepare('select value from operations where id = ?').get(id) as
      | { value: string }
      | undefined;
    return row && (JSON.parse(row.value) as Operation);
  }

  async operations(q: { open?: boolean } = {}): Promise<Operation[]> {
    const sql = `select value from operations${q.open ? " where state not in ('done', 'failed')" : ''} order by created_at, id`;
    return (this.db.prepare(sql).all() as { value: string }[]).map((r) => JSON.parse(r.value) as Operation);
  }

  async hasSeen(key: string): Promise<boolean> {
    return this.db.prepare('select 1 from seen where key = ?').get(key) !== undefined;
  }

  async counter(keysetId: string): Promise<number> {
    const row = this.db.prepare('select next from counters where keyset = ?').get(keysetId) as
      | { next: number }
      | undefined;
    return row?.next ?? 0;
  }

  async reserveCounters(keysetId: string, n: number): Promise<number> {
    const reserve = this.db.transaction((): number => {
      const first = (
        this.db.prepare('select next from counters where keyset = ?').get(keysetId) as
          | { next: number }
          | undefined
      )?.next;
      this.db
        .prepare(
          'insert into counters (keyset, next) values (?, ?) on conflict (keyset) do update set next = excluded.next',
        )
        .run(keysetId, (first ?? 0) + n);
      return first ?? 0;
    });
    return reserve.immediate();
  }

  async commit(change: WalletChange): Promise<void> {
    const apply = this.db.transaction(() => {
      if (change.reserve) {
        const state = this.db.prepare('select state from notes where secret = ?');
        for (const secret of change.reserve.secrets) {
          if ((state.get(secret) as { state: string } | undefined)?.state !== 'unspent') notesBusy();
        }
      }
      const put = this.db.prepare(
        `insert into notes (secret, y, amount, keyset, state, operation, created_at, proof)
         values (@secret, @y, @amount, @keyset, @state, @operation, @created_at, @proof)
         on conflict (secret) do update set state = excluded.state, operation = excluded.operation`,
      );
      for (const n of change.notes ?? []) {
        put.run({
          secret: n.proof.secret,
          y: n.Y,
          amount: n.proof.amount,
          keyset: n.proof.id,
          state: n.state,
          operation: n.operation ?? null,
          created_at: n.createdAt,
          proof: JSON.stringify(n.proof),
        });
      }
      if (change.reserve) {
        const take = this.db.prepare("update notes set state = 'pending', operation = ? where secret = ?");
        for (const secret of change.reserve.secrets) take.run(change.reserve.operation, secret);
      }
      if (change.operation) {
        const op = change.operation;
        this.db
          .prepare(
            `insert into operations (id, state, created_at, value) values (?, ?, ?, ?)
             on conflict (id) do update set state = excluded.state, value = excluded.value`,
          )
          .run(op.id, op.state, op.createdAt, JSON.stringify(op));
      }
      const seen = this.db.prepare('insert into seen (key) values (?) on conflict do nothing');
      for (const key of change.seen ?? []) seen.run(key);
      const raise = this.db.prepare(
        `insert into counters (keyset, next) values (?, ?)
         on conflict (keyset) do update set next = max(next, excluded.next)`,
      );
      for (const [id, next] of Object.entries(change.counters ?? {})) raise.run(id, next);
    });
    apply.immediate();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function fromRow(row: NoteRow): StoredNote {
  const note: StoredNote = {
    proof: JSON.parse(row.proof) as StoredNote['proof'],
    Y: row.y,
    state: row.state,
    createdAt: row.created_at,
  };
  if (row.operation !== null) note.operation = row.operation;
  return note;
}
