/**
 * The SQLite connection's statement cache: statements are reused by SQL text, a statement still being
 * iterated is not handed out again, and the least recently used one goes first when the cache is full.
 */
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from './connect.js';

describe('sqlite statement cache', () => {
  it('reuses by SQL text, never hands out a busy statement, and evicts the least recently used', () => {
    const sqlite = new BetterSqlite3(':memory:');
    const db = withStatementCache(sqlite);
    try {
      const q = 'select 1 as x union all select 2';
      const first = db.prepare(q);
      expect(db.prepare(q)).toBe(first);
      // Mid-iteration the statement is busy: the same query gets its own statement meanwhile.
      const rows = first.iterate([]);
      rows.next();
      const meanwhile = db.prepare(q);
      expect(meanwhile).not.toBe(first);
      expect(meanwhile.all([])).toEqual([{ x: 1 }, { x: 2 }]);
      rows.return?.();
      // 128 other statements push out `q` and the oldest of them; `select 3`, used meanwhile, stays.
      const recent = db.prepare('select 3');
      for (let i = 0; i < 128; i++) {
        db.prepare(`select ${100 + i}`);
        if (i === 100) expect(db.prepare('select 3')).toBe(recent);
      }
      expect(db.prepare('select 3')).toBe(recent);
      expect(db.prepare(q)).not.toBe(meanwhile);
    } finally {
      db.close();
    }
  });
});
