/**
 * The IndexedDB store (on fake-indexeddb) shows the shared `WalletStore` behaviour, plain and
 * encrypted; keeps everything across a reopen; holds a reservation against a second connection that
 * writes between its read and its write; writes nothing of a transaction cut off mid-way; and, with a
 * passphrase, opens only with it, re-encrypts on change and removal, and leaves nothing readable in
 * the raw IndexedDB rows.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import {
  refusal,
  storeConfig,
  storeNote,
  storeOperation,
  walletStoreCases,
} from '../../test-support/wallet-store-cases.js';
import type { WalletConfig, WalletStore } from '../../wallet/store.js';
import { type IdbStoreOptions, IdbWalletStore, PBKDF2_ITERATIONS, walletDbName } from './idb-store.js';

let names = 0;
const fresh = () => `test-${names++}`;
const FAST = { iterations: 1000 };

async function encrypted(name: string, passphrase = 'correct horse'): Promise<IdbWalletStore> {
  const s = await IdbWalletStore.open({ name });
  await s.setPassphrase(passphrase, FAST);
  return s;
}

describe('WalletStore on IndexedDB', () => walletStoreCases(() => IdbWalletStore.open({ name: fresh() })));

describe('WalletStore on IndexedDB, encrypted', () => walletStoreCases(() => encrypted(fresh())));

/** A wallet whose every secret is easy to look for in raw bytes. */
const config: WalletConfig = {
  ...storeConfig,
  seed: `${'c0ffee'.repeat(21)}c0`,
  mint: 'http://mint.example',
};
const op = {
  ...storeOperation('op-needle'),
  memo: 'memo-needle',
  data: {
    swap: {
      keyset: 'ks',
      inputs: [],
      outputs: [{ amount: 1, secret: 'out-secret', r: 'blinding-r', B_: 'B', role: 'keep' as const }],
    },
    token: 'cashuBtoken-needle',
  },
};
const NEEDLES = [
  'c0ffeec0ffee',
  'secret-1',
  'secret-2',
  'op-needle',
  'memo-needle',
  'out-secret',
  'blinding-r',
  'cashuBtoken',
  'seen-needle',
  'ks-needle',
  'mint.example',
  'unspent',
  'pending',
];

async function fill(s: WalletStore): Promise<void> {
  await s.writeConfig(config);
  await s.commit({
    notes: [storeNote(1), storeNote(2)],
    operation: op,
    seen: ['seen-needle'],
    counters: { 'ks-needle': 7 },
  });
  await s.commit({ reserve: { operation: 'op-needle', secrets: ['secret-2'] } });
}

async function contents(s: WalletStore) {
  return {
    config: await s.readConfig(),
    notes: await s.notes(),
    operations: await s.operations(),
    seen: [await s.hasSeen('seen-needle'), await s.hasSeen('other')],
    counter: await s.counter('ks-needle'),
  };
}

/** Every row of every object store of the wallet's database, as IndexedDB holds them. */
async function rawRows(name: string): Promise<Record<string, unknown>[]> {
  const db = await openDB(walletDbName(name));
  const rows: Record<string, unknown>[] = [];
  for (const table of db.objectStoreNames)
    rows.push(...((await db.getAll(table)) as Record<string, unknown>[]));
  db.close();
  return rows;
}

/** All text in the rows: strings, and byte arrays read as Latin-1 (so any plaintext in them shows). */
function rawText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return String.fromCharCode(...value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k}:${rawText(v)}`)
      .join('\n');
  }
  return '';
}

describe('IdbWalletStore', () => {
  it('keeps everything across a reopen', async () => {
    const name = fresh();
    const s = await IdbWalletStore.open({ name });
    await fill(s);
    const before = await contents(s);
    await s.close();
    const again = await IdbWalletStore.open({ name });
    expect(await contents(again)).toEqual(before);
    expect(before.notes.map((n) => [n.proof.secret, n.state])).toEqual([
      ['secret-1', 'unspent'],
      ['secret-2', 'pending'],
    ]);
    await again.close();
  });

  it.each([
    ['plain', undefined],
    ['encrypted', 'pw'],
  ])(
    'holds a reservation against a connection that took the note in between (%s)',
    async (_n, passphrase) => {
      const name = fresh();
      const setup = passphrase ? await encrypted(name, passphrase) : await IdbWalletStore.open({ name });
      await setup.commit({ notes: [storeNote(1), storeNote(2)] });
      await setup.close();
      const o: IdbStoreOptions = { name, ...(passphrase ? { passphrase } : {}) };
      const other = await IdbWalletStore.open(o);
      let writes = 0;
      // Between this store's read (secret-1 unspent) and its write, the other takes secret-1.
      const racing = await IdbWalletStore.open({
        ...o,
        hooks: {
          prepared: async () => {
            if (writes++ === 0)
              await other.commit({ reserve: { operation: 'theirs', secrets: ['secret-1'] } });
          },
        },
      });
      expect(
        await refusal(
          racing.commit({
            reserve: { operation: 'mine', secrets: ['secret-1'] },
            operation: storeOperation('mine'),
          }),
        ),
      ).toBe('WalletBusy');
      // Without the check of what it read, its write would have gone in over theirs.
      expect(writes).toBe(1);
      expect(await racing.operation('mine')).toBeUndefined();
      expect((await racing.notes()).map((n) => [n.proof.secret, n.state, n.operation])).toEqual([
        ['secret-1', 'pending', 'theirs'],
        ['secret-2', 'unspent', undefined],
      ]);

      // A write in between that leaves the note free only makes it prepare again.
      writes = 0;
      const [free] = await other.notes({ state: 'unspent' });
      let interleaved = false;
      const retrying = await IdbWalletStore.open({
        ...o,
        hooks: {
          prepared: async () => {
            if (!interleaved) {
              interleaved = true;
              await other.commit({ notes: [free!], counters: { ks: 3 } });
            }
          },
        },
      });
      await retrying.commit({ reserve: { operation: 'mine', secrets: ['secret-2'] }, counters: { ks: 2 } });
      expect((await retrying.notes({ operation: 'mine' })).map((n) => n.proof.secret)).toEqual(['secret-2']);
      expect(await retrying.counter('ks')).toBe(3);
      for (const s of [other, racing, retrying]) await s.close();
    },
  );

  it('hands out counters once, even to two connections at the same time', async () => {
    const name = fresh();
    const a = await IdbWalletStore.open({ name });
    const b = await IdbWalletStore.open({ name });
    const firsts = await Promise.all([
      ...Array.from({ length: 5 }, () => a.reserveCounters('ks', 2)),
      ...Array.from({ length: 5 }, () => b.reserveCounters('ks', 2)),
    ]);
    expect(firsts.sort((x, y) => x - y)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(await a.counter('ks')).toBe(20);
    await a.close();
    await b.close();
  });

  it.each([
    ['plain', undefined],
    ['encrypted', 'pw'],
  ])('writes nothing of a transaction cut off mid-way (%s)', async (_n, passphrase) => {
    const name = fresh();
    const setup = passphrase ? await encrypted(name, passphrase) : await IdbWalletStore.open({ name });
    await setup.commit({ notes: [storeNote(1)] });
    await setup.close();
    let puts = 0;
    const s = await IdbWalletStore.open({
      name,
      ...(passphrase ? { passphrase } : {}),
      hooks: {
        write: () => {
          // Two rows are already put in the transaction when the "tab closes".
          if (++puts === 3) throw new Error('tab closed');
        },
      },
    });
    const before = await contents(s);
    await expect(
      s.commit({
        notes: [storeNote(2), storeNote(3)],
        reserve: { operation: 'x', secrets: ['secret-1'] },
        operation: storeOperation('x'),
        seen: ['k'],
        counters: { ks: 4 },
      }),
    ).rejects.toThrow('tab closed');
    expect(puts).toBe(3);
    expect(await contents(s)).toEqual(before);
    expect([await s.hasSeen('k'), await s.counter('ks'), await s.operation('x')]).toEqual([
      false,
      0,
      undefined,
    ]);
    await s.close();
  });
});

describe('IdbWalletStore with a passphrase', () => {
  it('opens only with the passphrase, and keeps everything through a change and a removal', async () => {
    const name = fresh();
    const s = await IdbWalletStore.open({ name });
    await fill(s);
    const before = await contents(s);
    const started = performance.now();
    await s.setPassphrase('first passphrase'); // the real cost: 600 000 iterations
    console.log(
      `PBKDF2-SHA256 ${PBKDF2_ITERATIONS} iterations + re-encryption: ${Math.round(performance.now() - started)} ms`,
    );
    expect(s.encrypted).toBe(true);
    expect(await contents(s)).toEqual(before);
    await s.close();
    expect(await IdbWalletStore.inspect(name)).toEqual({ exists: true, encrypted: true });
    const crypto = (await rawRows(name)).find((r) => r.k === 'crypto');
    expect(crypto?.v).toMatchObject({ kdf: 'PBKDF2-SHA256', iterations: PBKDF2_ITERATIONS });

    expect(await refusal(IdbWalletStore.open({ name }))).toBe('WalletLocked');
    expect(await refusal(IdbWalletStore.open({ name, passphrase: 'First passphrase' }))).toBe(
      'PassphraseWrong',
    );
    const opened = await IdbWalletStore.open({ name, passphrase: 'first passphrase' });
    expect(await contents(opened)).toEqual(before);

    await opened.setPassphrase('second', FAST);
    await opened.close();
    expect(await refusal(IdbWalletStore.open({ name, passphrase: 'first passphrase' }))).toBe(
      'PassphraseWrong',
    );
    const second = await IdbWalletStore.open({ name, passphrase: 'second' });
    expect(await contents(second)).toEqual(before);

    await second.setPassphrase(undefined);
    await second.close();
    expect(await IdbWalletStore.inspect(name)).toEqual({ exists: true, encrypted: false });
    const plain = await IdbWalletStore.open({ name, passphrase: 'ignored when not encrypted' });
    expect(plain.encrypted).toBe(false);
    expect(await contents(plain)).toEqual(before);
    await plain.close();
  });

  it('leaves nothing secret readable in the raw rows (and the plain rows show that the check can fail)', async () => {
    const plainName = fresh();
    const plain = await IdbWalletStore.open({ name: plainName });
    await fill(plain);
    await plain.close();
    const plainText = (await rawRows(plainName)).map(rawText).join('\n');
    expect(NEEDLES.filter((n) => !plainText.includes(n))).toEqual([]);

    const name = fresh();
    const s = await encrypted(name);
    await fill(s);
    await s.close();
    const rows = await rawRows(name);
    expect(NEEDLES.filter((n) => rows.map(rawText).join('\n').includes(n))).toEqual([]);
    // Every row is a key (an HMAC, or the name of a meta row), a revision, a nonce and a ciphertext;
    // only the KDF's parameters are in the clear.
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(
        row.k === 'crypto' ? ['ct', 'iv', 'k', 'rev', 'v'] : ['ct', 'iv', 'k', 'rev'],
      );
      if (row.k !== 'config' && row.k !== 'crypto') expect(row.k).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(rows).toHaveLength(1 + 1 + 2 + 1 + 1 + 1); // config, crypto, two notes, the operation, seen, counter
  });

  it('refuses a row moved to another key (a ciphertext swapped in the raw database)', async () => {
    const name = fresh();
    const s = await encrypted(name);
    await s.commit({ notes: [storeNote(1), storeNote(2)] });
    await s.close();
    const db = await openDB(walletDbName(name));
    const [a, b] = (await db.getAll('notes')) as { k: string; iv: Uint8Array; ct: Uint8Array }[];
    await db.put('notes', { ...a, iv: b!.iv, ct: b!.ct });
    db.close();
    const opened = await IdbWalletStore.open({ name, passphrase: 'correct horse' });
    expect(await refusal(opened.notes())).toBe('WalletLocked');
    await opened.close();
  });

  it('refuses the writes of a connection opened under a passphrase changed since', async () => {
    const name = fresh();
    const first = await encrypted(name, 'old');
    const second = await IdbWalletStore.open({ name, passphrase: 'old' });
    await first.setPassphrase('new', FAST);
    expect(await refusal(second.commit({ notes: [storeNote(1)] }))).toBe('WalletLocked');
    expect(await first.notes()).toEqual([]);
    await first.close();
    await second.close();
  });

  it('answers reads made while the passphrase changes with the new key, rightly', async () => {
    const name = fresh();
    const setup = await encrypted(name, 'old');
    await fill(setup);
    const before = await contents(setup);
    await setup.close();
    let during: Promise<unknown> | undefined;
    const s = await IdbWalletStore.open({
      name,
      passphrase: 'old',
      hooks: {
        // The re-encryption is prepared and about to be written: reads start now.
        prepared: async () => {
          during ??= contents(s);
        },
      },
    });
    await s.setPassphrase('new', FAST);
    expect(await during).toEqual(before);
    await s.close();
  });

  it('refuses an empty passphrase', async () => {
    const s = await IdbWalletStore.open({ name: fresh() });
    expect(await refusal(s.setPassphrase(''))).toBe('InvalidInput');
    expect(s.encrypted).toBe(false);
    await s.close();
  });
});
