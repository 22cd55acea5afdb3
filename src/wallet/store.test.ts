/**
 * Both Node-side `WalletStore`s show the shared behaviour (`test-support/wallet-store-cases.ts`: a
 * commit is all or nothing, counters only move forward, notes and operations round-trip), and the
 * SQLite one keeps it all across a reopen and holds a reservation against a second connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  storeConfig as config,
  storeNote as note,
  storeOperation as op,
  refusal,
  walletStoreCases,
} from '../test-support/wallet-store-cases.js';
import { MemoryWalletStore } from './memory-store.js';
import { SqliteWalletStore } from './node/sqlite-store.js';
import type { WalletStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-wallet-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const STORES: [string, () => WalletStore][] = [
  ['memory', () => new MemoryWalletStore()],
  ['sqlite', () => new SqliteWalletStore(join(dir, `s${files++}.db`))],
];

describe.each(STORES)('WalletStore on %s', (_name, open) => walletStoreCases(open));

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
