/**
 * Starts a worker thread from a module next to the caller. From dist/ the module is plain JS; under
 * the test runner it is TypeScript source, so the worker first registers tsx's loader (a dev
 * dependency) and then imports it.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `base` is the caller's `import.meta.url`; `name` the module's name without extension. */
export function spawnWorker(base: string, name: string, opts: WorkerOptions = {}): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), opts);
  const url = new URL(`./${name}.ts`, base).href;
  const bootstrap = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(bootstrap, { ...opts, eval: true });
}
