/**
 * Both `WalletStore`s behave the same: a commit is all or nothing (a reservation of a note that is
 * not unspent writes nothing), counters only move forward, notes and operations round-trip, and the
 * SQLite one keeps it all across a reopen and holds a reservation against a second connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { MemoryWalletStore } from './memory-store.js';
import { SqliteWalletStore } from './node/sqlite-store.js';
import type { Operation, StoredNote, WalletConfig, WalletStore } from './store.js';
import { withState } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-wallet-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const STORES: [string, () => WalletStore][] = [
  ['memory', () => new MemoryWalletStore()],
  ['sqlite', () => new SqliteWalletStore(join(dir, `s${files++}.db`))],
];

const config: WalletConfig = {
  version: 1,
  network: 'wan',
  mint: 'http://127.0.0.1:3338',
  unit: 'eur',
  seed: '00'.repeat(64),
  createdAt: 1,
};

function note(i: number, amount = 2 ** (i % 4)): StoredNote {
  return {
    proof: { amount, id: `01${'ab'.repeat(32)}`, secret: `secret-${i}`, C: `02${'11'.repeat(32)}` },
    Y: `02${i.toString(16).padStart(64, '0')}`,
    state: 'unspent',
    createdAt: i,
  };
}

function op(id: string, state: Operation['state'] = 'prepared', createdAt = 1): Operation {
  return { id, kind: 'send', state, direction: 'out', amount: 3, createdAt, updatedAt: createdAt, data: {} };
}

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isLancashError(e) ? e.kind : String(e);
  }
}

describe.each(STORES)('WalletStore on %s', (_name, open) => {
  it('writes the configuration once', async () => {
    const s = open();
    expect(await s.readConfig()).toBeUndefined();
    await s.writeConfig(config);
    expect(await s.readConfig()).toEqual(config);
    expect(await refusal(s.writeConfig(config))).toBe('WalletExists');
    await s.close();
  });

  it('reserves notes for one operation only, all or nothing', async () => {
    const s = open();
    await s.commit({ notes: [note(1), note(2), note(3)] });
    await s.commit({ reserve: { operation: 'a', secrets: ['secret-1', 'secret-2'] }, operation: op('a') });
    expect((await s.notes({ operation: 'a' })).map((n) => [n.proof.secret, n.state])).toEqual([
      ['secret-1', 'pending'],
      ['secret-2', 'pending'],
    ]);
    // secret-2 is taken: nothing of this change is written, not even the operation or the free note.
    expect(
      await refusal(
        s.commit({ reserve: { operation: 'b', secrets: ['secret-3', 'secret-2'] }, operation: op('b') }),
      ),
    ).toBe('WalletBusy');
    expect(await s.operation('b')).toBeUndefined();
    expect((await s.notes({ state: 'unspent' })).map((n) => n.proof.secret)).toEqual(['secret-3']);
    expect(await refusal(s.commit({ reserve: { operation: 'c', secrets: ['missing'] } }))).toBe('WalletBusy');
    await s.close();
  });

  it('moves notes between states and keeps operations, seen keys and counters', async () => {
    const s = open();
    await s.commit({ notes: [note(1)], operation: op('x', 'prepared', 5), seen: ['k1'] });
    await s.commit({ notes: withState(await s.notes(), 'spent', 'x'), operation: op('x', 'done', 5) });
    await s.commit({ operation: op('y', 'delivering', 7) });
    expect((await s.notes())[0]).toMatchObject({ state: 'spent', operation: 'x' });
    expect((await s.operations()).map((o) => [o.id, o.state])).toEqual([
      ['x', 'done'],
      ['y', 'delivering'],
    ]);
    expect((await s.operations({ open: true })).map((o) => o.id)).toEqual(['y']);
    expect([await s.hasSeen('k1'), await s.hasSeen('k2')]).toEqual([true, false]);

    expect(await s.reserveCounters('ks', 3)).toBe(0);
    expect(await s.reserveCounters('ks', 2)).toBe(3);
    await s.commit({ counters: { ks: 4, other: 10 } });
    expect([await s.counter('ks'), await s.counter('other'), await s.counter('none')]).toEqual([5, 10, 0]);
    await s.close();
  });
});

describe('SqliteWalletStore', () => {
  it('keeps everything across a reopen, and a reservation holds against a second connection', async () => {
    const file = join(dir, 'reopen.db');
    const first = new SqliteWalletStore(file);
    await first.writeConfig(config);
    await first.commit({ notes: [note(1), note(2)], operation: op('a') });
    const second = new SqliteWalletStore(file);
    await second.commit({ reserve: { operation: 'a', secrets: ['secret-1'] } });
    expect(await refusal(first.commit({ reserve: { operation: 'b', secrets: ['secret-1'] } }))).toBe(
      'WalletBusy',
    );
    await first.close();
    await second.close();
    const again = new SqliteWalletStore(file);
    expect(await again.readConfig()).toEqual(config);
    expect((await again.notes()).map((n) => [n.proof.secret, n.state])).toEqual([
      ['secret-1', 'pending'],
      ['secret-2', 'unspent'],
    ]);
    await again.close();
  });
});
