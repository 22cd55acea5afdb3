/**
 * The behaviour every `WalletStore` must show, as cases any store's test file runs (the memory and
 * SQLite stores in `wallet/store.test.ts`, the browser's IndexedDB one in `web/wallet/idb-store.test.ts`):
 * a commit is all or nothing (a reservation of a note that is not unspent writes nothing), counters
 * only move forward, notes and operations round-trip. Free of Node types: the web's tsconfig checks it too.
 */
import { expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import type { Operation, StoredNote, WalletConfig, WalletStore } from '../wallet/store.js';
import { withState } from '../wallet/store.js';

export const storeConfig: WalletConfig = {
  version: 1,
  network: 'wan',
  mint: 'http://127.0.0.1:3338',
  unit: 'eur',
  seed: '00'.repeat(64),
  createdAt: 1,
};

/** Note `i`: secret `secret-i`, created at `i`. */
export function storeNote(i: number, amount = 2 ** (i % 4)): StoredNote {
  return {
    proof: { amount, id: `01${'ab'.repeat(32)}`, secret: `secret-${i}`, C: `02${'11'.repeat(32)}` },
    Y: `02${i.toString(16).padStart(64, '0')}`,
    state: 'unspent',
    createdAt: i,
  };
}

export function storeOperation(id: string, state: Operation['state'] = 'prepared', createdAt = 1): Operation {
  return { id, kind: 'send', state, direction: 'out', amount: 3, createdAt, updatedAt: createdAt, data: {} };
}

/** The lancash error name `p` rejects with (or the text of another error), undefined if it resolves. */
export async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isLancashError(e) ? e.kind : String(e);
  }
}

/** Registers the shared cases (inside the caller's `describe`); `open` gives a fresh, empty store. */
export function walletStoreCases(open: () => WalletStore | Promise<WalletStore>): void {
  it('writes the configuration once', async () => {
    const s = await open();
    expect(await s.readConfig()).toBeUndefined();
    await s.writeConfig(storeConfig);
    expect(await s.readConfig()).toEqual(storeConfig);
    expect(await refusal(s.writeConfig(storeConfig))).toBe('WalletExists');
    await s.close();
  });

  it('reserves notes for one operation only, all or nothing', async () => {
    const s = await open();
    await s.commit({ notes: [storeNote(1), storeNote(2), storeNote(3)] });
    await s.commit({
      reserve: { operation: 'a', secrets: ['secret-1', 'secret-2'] },
      operation: storeOperation('a'),
    });
    expect((await s.notes({ operation: 'a' })).map((n) => [n.proof.secret, n.state])).toEqual([
      ['secret-1', 'pending'],
      ['secret-2', 'pending'],
    ]);
    // secret-2 is taken: nothing of this change is written, not even the operation or the free note.
    expect(
      await refusal(
        s.commit({
          reserve: { operation: 'b', secrets: ['secret-3', 'secret-2'] },
          operation: storeOperation('b'),
          notes: [storeNote(4)],
          seen: ['kb'],
          counters: { kb: 9 },
        }),
      ),
    ).toBe('WalletBusy');
    expect(await s.operation('b')).toBeUndefined();
    expect((await s.notes({ state: 'unspent' })).map((n) => n.proof.secret)).toEqual(['secret-3']);
    expect([await s.hasSeen('kb'), await s.counter('kb')]).toEqual([false, 0]);
    expect(await refusal(s.commit({ reserve: { operation: 'c', secrets: ['missing'] } }))).toBe('WalletBusy');
    await s.close();
  });

  it('reserves a note written in the same change', async () => {
    const s = await open();
    await s.commit({ notes: [storeNote(1)] });
    // The reservation is checked against what was stored before, and is applied last.
    await s.commit({
      notes: [{ ...storeNote(1), state: 'spent', operation: 'z' }],
      reserve: { operation: 'a', secrets: ['secret-1'] },
    });
    expect(await s.notes()).toEqual([{ ...storeNote(1), state: 'pending', operation: 'a' }]);
    await s.close();
  });

  it('moves notes between states and keeps operations, seen keys and counters', async () => {
    const s = await open();
    await s.commit({ notes: [storeNote(1)], operation: storeOperation('x', 'prepared', 5), seen: ['k1'] });
    await s.commit({
      notes: withState(await s.notes(), 'spent', 'x'),
      operation: storeOperation('x', 'done', 5),
    });
    await s.commit({ operation: storeOperation('y', 'delivering', 7) });
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

  it('hands out copies: changing what it returned changes nothing stored', async () => {
    const s = await open();
    await s.commit({ notes: [storeNote(1)], operation: storeOperation('x') });
    const [n] = await s.notes();
    n!.state = 'spent';
    const o = (await s.operation('x'))!;
    o.state = 'done';
    expect([(await s.notes())[0]!.state, (await s.operation('x'))!.state]).toEqual(['unspent', 'prepared']);
    await s.close();
  });
}
