/**
 * An in-process wide-bank mint with bolt11 routes on fake Lightning, listening on a free local port, on
 * a fresh database of `dialect`: for the NUT-19/NUT-20 route tests over real HTTP.
 */
import { defaultCurve } from '../core/crypto/index.js';
import { createServer, listen } from '../core/http/server.js';
import { registerMintRoutes } from '../mint/http.js';
import { Mint } from '../mint/mint.js';
import type { DialectName } from '../store/index.js';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';
import {
  type LightningRoutesOptions,
  lightningNuts,
  registerLightningRoutes,
} from '../wide-bank/lightning/http.js';
import { freshStore, type TestStore } from './dialects.js';

export interface LightningMint {
  store: TestStore;
  mint: Mint;
  base: string;
  close(): Promise<void>;
}

export async function startLightningMint(
  dialect: DialectName,
  hooks?: LightningRoutesOptions['hooks'],
): Promise<LightningMint> {
  const store = await freshStore(dialect);
  const mint = await Mint.open({ store, unit: 'eur', curve: defaultCurve() });
  const app = await createServer({ name: 'wide-bank', logger: false, rateLimit: false });
  registerMintRoutes(app, { mint, info: () => ({ nuts: lightningNuts({ unit: 'eur' }) }) });
  registerLightningRoutes(app, {
    mint,
    store,
    unit: 'eur',
    backend: createFakeLightning(),
    ...(hooks && { hooks }),
  });
  const base = await listen(app, '127.0.0.1:0');
  return {
    store,
    mint,
    base,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}
