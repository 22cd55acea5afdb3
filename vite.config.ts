/**
 * The web pages' build (docs/web.md): the wallet and the operator console, two HTML entries under
 * `src/web/`, built into `dist/web/` with their assets named by content hash under `/assets/`.
 * JSX is Preact's. `npm run build` runs it after the TypeScript build.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: at('./src/web'),
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: at('./dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    rolldownOptions: {
      input: {
        wallet: at('./src/web/wallet/index.html'),
        operator: at('./src/web/operator/index.html'),
      },
    },
  },
});
