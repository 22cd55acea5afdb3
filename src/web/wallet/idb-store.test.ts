/**
 * The IndexedDB store (on fake-indexeddb) shows the shared `WalletStore` behaviour, plain and encrypted.
 */
import 'fake-indexeddb/auto';
import { describe } from 'vitest';
import { walletStoreCases } from '../../test-support/wallet-store-cases.js';
import { IdbWalletStore } from './idb-store.js';

let names = 0;
const fresh = () => `test-${names++}`;

describe('WalletStore on IndexedDB', () => walletStoreCases(() => IdbWalletStore.open({ name: fresh() })));

describe('WalletStore on IndexedDB, encrypted', () =>
  walletStoreCases(async () => {
    const s = await IdbWalletStore.open({ name: fresh() });
    await s.setPassphrase('correct horse', { iterations: 1000 });
    return s;
  }));
